"""Issue 13 items 5 and 6 through the real ``voicebot serve``.

5. Serve starts while its PostgreSQL is unreachable: it says so in one line (no
   traceback), takes calls and spools them from the start, and once the database appears
   it migrates the schema and stores every call.
6. An AMI outage is visible (WARNING lines with back-off, ``/health`` 503 with the AMI
   state, the ``voicebot_ami_connected`` gauge at 0); a caller who presses a key during
   it reaches the operator through the dialplan; after it, calls are transferred again.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from tests.calllog.conftest import fresh_postgres_schema, postgres_base_url
from tests.calllog.tcp_proxy import TcpProxy
from tests.reliability.conftest import BotFactory
from tests.reliability.harness import (
    DEPARTMENT_EXTEN,
    OPERATOR_EXTEN,
    Bot,
    CallKind,
    CallResult,
    answered_by,
    dtmf_call,
    mixed,
    record_problems,
    run_load,
    stored_calls,
    wait_stored,
)

OUTAGE_S = 12.0
"""How long the AMI stays away (long enough for the back-off to reach its cap)."""


@pytest.fixture
def unreachable_postgres() -> Iterator[tuple[URL, URL, TcpProxy]]:
    """A fresh, unmigrated schema: its direct URL, the URL through a cut proxy, the proxy."""
    with fresh_postgres_schema(postgres_base_url()) as url:
        proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
        proxy.start()
        proxy.cut()
        try:
            yield url, url.set(host="127.0.0.1", port=proxy.port), proxy
        finally:
            proxy.close()


def url_text(url: URL) -> str:
    return url.render_as_string(hide_password=False)


async def health(bot: Bot) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=bot.served.api_url, timeout=10) as client:
        response = await client.get("/health")
    return response.status_code, response.json()


async def wait_health(bot: Bot, status: int, timeout: float = 30.0) -> dict[str, Any]:
    """Poll /health until it answers ``status``; its body."""
    async with asyncio.timeout(timeout):
        while True:
            code, body = await health(bot)
            if code == status:
                return body
            await asyncio.sleep(0.2)


@pytest.mark.postgres
async def test_serve_starts_without_its_database_takes_calls_and_migrates_when_it_appears(
    bots: BotFactory,
    question_speech: bytes,
    unreachable_postgres: tuple[URL, URL, TcpProxy],
) -> None:
    direct, via_proxy, proxy = unreachable_postgres
    bot = await bots(database_url=url_text(via_proxy), check_url=url_text(direct))
    log = bot.served.log()
    assert "Traceback" not in log, log
    notes = [line for line in log.splitlines() if "database unreachable" in line]
    assert len(notes) == 1, log
    assert "spooled" in notes[0] and "migrated" in notes[0]
    code, body = await health(bot)
    assert code == 503 and body["status"] == "degraded"
    assert body["writer"]["schema_ready"] is False
    assert body["ami"]["connected"] is True  # only the database is missing

    report = await run_load(bot, mixed(6), 3, question_speech)
    assert not report.errors, report.errors
    _, body = await health(bot)
    assert body["writer"]["spool_bytes"] > 0, body["writer"]

    proxy.restore()
    checker = create_engine(url_text(direct), poolclass=NullPool)
    try:
        body = await wait_health(bot, 200, timeout=60)
        assert body["writer"]["schema_ready"] is True
        assert await wait_stored(checker, 6) == 6
        problems = record_problems(report.results, stored_calls(checker))
        assert not problems, problems
        async with asyncio.timeout(30):
            while (await health(bot))[1]["writer"]["spool_bytes"]:
                await asyncio.sleep(0.2)
    finally:
        checker.dispose()
    assert "schema migrated" in bot.served.log()


async def test_an_ami_outage_is_visible_and_callers_still_reach_a_person(
    bots: BotFactory,
) -> None:
    bot = await bots()
    before = len(bot.served.log().splitlines())
    await bot.simulator.stop_ami()
    body = await wait_health(bot, 503)
    assert body["status"] == "degraded" and body["ami"]["connected"] is False
    assert body["database"]["reachable"] is True
    metrics = await bot.metrics()
    assert metrics["voicebot_ami_connected"] == 0

    during = CallResult(CallKind.DTMF, "0400000601")
    await dtmf_call(bot, during)  # presses 1 for the department: no AMI to transfer it
    assert during.call is not None
    assert answered_by(during.call) == OPERATOR_EXTEN  # the dialplan's own fallback

    await asyncio.sleep(max(0.0, OUTAGE_S - (await bot.metrics())["voicebot_ami_down_seconds"]))
    metrics = await bot.metrics()
    assert metrics["voicebot_ami_down_seconds"] >= OUTAGE_S
    await bot.simulator.start_ami()
    body = await wait_health(bot, 200)
    assert body["ami"]["connected"] is True and body["ami"]["logins"] == 2

    lines = bot.served.log().splitlines()[before:]
    unreachable = [line for line in lines if "AMI" in line and "unreachable" in line]
    attempts = max(
        int(m.group(1)) for line in unreachable if (m := re.search(r"attempt (\d+)", line))
    )
    # Visible at the default level, one line per doubling of the attempts, not per attempt.
    assert all(" WARNING " in line for line in unreachable), unreachable
    assert 3 <= len(unreachable) <= attempts.bit_length(), (len(unreachable), attempts)
    assert any("AMI back" in line and " WARNING " in line for line in lines), lines

    after = CallResult(CallKind.DTMF, "0400000602")
    await dtmf_call(bot, after)
    assert after.call is not None
    assert answered_by(after.call) == DEPARTMENT_EXTEN  # transfers work again

    assert await wait_stored(bot.engine, 2) == 2
    stored = stored_calls(bot.engine)
    assert stored[str(during.call.call_id)].outcome == "operator"
    assert stored[str(after.call.call_id)].outcome == "transferred"
