"""One ``voicebot serve`` logging at DEBUG: hostile transcripts and caller IDs are recorded,
no caller number or transcript reaches its log, the retention purge erases what callers
said and keeps the statistics, and its API keys and sign-in limits hold over real HTTP.

The key test runs last: its brute force throttles wrong keys from this address for a minute
(valid keys still work).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from tests.reliability.harness import (
    Bot,
    CallKind,
    CallResult,
    count_calls,
    dtmf_call,
    faq_call,
    start_bot,
    stored_calls,
    wait_stored,
)
from voicebot.accounts.keys import issue_key
from voicebot.calllog.models import Turn
from voicebot.calllog.rows import MAX_FREE_TEXT

pytestmark = pytest.mark.asyncio(loop_scope="module")

DISTINCTIVE_NUMBER = "0479 31 41 59"
NUMBER_FORMS = ("0479314159", "479314159", "+32479314159", "32479314159", "0479 31 41 59")
DISTINCTIVE_WORDS = "Quaresma Zebulon"
HOSTILE_TRANSCRIPTS = {
    "huge": "quelles sont vos heures d'ouverture " + "bla " * 250_000,
    "nul": "quelles sont\x00 vos heures\x00 d'ouverture \x01\x02\x1b[31m",
    "sql": "'; DROP TABLE calls; -- quelles sont vos heures d'ouverture",
    "bidi": "مرحبا \u202equelles sont vos heures d'ouverture 👋",
}

HOSTILE_MARKERS = ("bla bla bla", "DROP TABLE", "مرحبا", "\x1b[31m", "9999999999")
"""Parts of the hostile transcripts and caller ID above found in no KB text or prompt."""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(tmp_path_factory: pytest.TempPathFactory, serve_cache: Path) -> AsyncIterator[Bot]:
    """A serve process logging at DEBUG, shared by the tests of this module."""
    started = await start_bot(tmp_path_factory.mktemp("verbose"), serve_cache, verbose=True)
    yield started
    await started.close()


def cli(bot: Bot, *args: str) -> subprocess.CompletedProcess[str]:
    """``voicebot --config <the bot's settings> ARGS``."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "voicebot.cli",
            "--config",
            str(bot.served.workdir / "voicebot.yaml"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=bot.served.workdir,
        check=False,
    )


async def call_saying(bot: Bot, speech: bytes, number: str, transcript: str) -> str:
    """A FAQ-shaped call whose recogniser hears ``transcript``; returns its id."""
    result = CallResult(CallKind.FAQ, number)
    await asyncio.wait_for(faq_call(bot, speech, result, transcript), 60)
    return result.call_id


@pytest.fixture(scope="module")
def keys(bot: Bot) -> dict[str, tuple[int, str]]:
    """Keys of every role, and a spare manager key to revoke: (id, plaintext)."""
    made = {}
    for name, role in [
        ("admin", "admin"),
        ("manager", "manager"),
        ("operator", "operator"),
        ("spare", "manager"),
    ]:
        info, plaintext = issue_key(bot.engine, f"reliability {name}", role)
        made[name] = (info.id, plaintext)
    return made


async def test_hostile_transcripts_and_caller_ids_are_recorded_not_lost(
    bot: Bot, question_speech: bytes, keys: dict[str, tuple[int, str]]
) -> None:
    before = count_calls(bot.engine)
    weird_caller = CallResult(CallKind.DTMF, "9" * 100 + "'; DROP TABLE calls; --")
    *made, _ = await asyncio.gather(
        *(
            call_saying(bot, question_speech, f"04711000{i:02d}", text)
            for i, text in enumerate(HOSTILE_TRANSCRIPTS.values())
        ),
        asyncio.wait_for(dtmf_call(bot, weird_caller), 60),
    )
    ids = dict(zip(HOSTILE_TRANSCRIPTS, made, strict=True))
    total = before + len(ids) + 1
    assert await wait_stored(bot.engine, total, timeout=30) == total
    stored = stored_calls(bot.engine)
    assert stored[weird_caller.call_id].outcome == "transferred"
    for name, call_id in ids.items():
        transcript = stored[call_id].transcripts[0]
        assert "\x00" not in transcript
        assert len(transcript) <= MAX_FREE_TEXT
        assert transcript.replace("\x00", "")[:30] in HOSTILE_TRANSCRIPTS[name].replace(
            "\x00", ""
        ), name
    async with httpx.AsyncClient(
        base_url=bot.served.api_url, headers={"X-API-Key": keys["manager"][1]}, timeout=30
    ) as client:
        for call_id in [*ids.values(), weird_caller.call_id]:
            assert (await client.get(f"/api/calls/{call_id}")).status_code == 200
        found = await client.get("/api/calls", params={"q": "DROP TABLE calls"})
        assert found.status_code == 200 and found.json()["count"] == 1
        assert (await client.get("/api/turns.csv", params={"q": "bla bla"})).status_code == 200


async def test_logs_hold_no_caller_number_or_transcript(bot: Bot, question_speech: bytes) -> None:
    said = f"je voudrais parler à quelqu'un de la part de {DISTINCTIVE_WORDS}"
    before = count_calls(bot.engine)
    transfer = CallResult(CallKind.DTMF, DISTINCTIVE_NUMBER)
    await asyncio.gather(
        call_saying(bot, question_speech, DISTINCTIVE_NUMBER, said),
        asyncio.wait_for(dtmf_call(bot, transfer), 60),
    )
    assert await wait_stored(bot.engine, before + 2, timeout=30) == before + 2
    log = bot.served.log()
    assert "DEBUG" in log and "call=" in log  # the log is verbose and has call lines
    leaks = [form for form in NUMBER_FORMS if form in log]
    leaks += [word for word in DISTINCTIVE_WORDS.split() if word in log]
    leaks += [marker for marker in HOSTILE_MARKERS if marker in log]
    assert not leaks, leaks


async def test_retention_purge_erases_what_callers_said_and_keeps_statistics(
    bot: Bot, question_speech: bytes, keys: dict[str, tuple[int, str]]
) -> None:
    before = count_calls(bot.engine)
    await call_saying(bot, question_speech, "0471200001", "quelles sont vos heures d'ouverture")
    assert await wait_stored(bot.engine, before + 1, timeout=30) == before + 1
    async with httpx.AsyncClient(
        base_url=bot.served.api_url, headers={"X-API-Key": keys["manager"][1]}, timeout=30
    ) as client:

        async def statistics() -> list[Any]:
            summary = (await client.get("/api/stats/summary")).json()["data"]
            counts = (await client.get("/api/stats/counts")).json()["data"]
            return [summary, counts]

        figures = await statistics()
        assert (await client.get("/api/calls", params={"q": "heures"})).json()["count"] > 0
        purged = cli(bot, "calllog", "purge", "--older-than-days", "0")
        assert purged.returncode == 0, purged.stderr
        assert await statistics() == figures
        assert (await client.get("/api/calls", params={"q": "heures"})).json()["count"] == 0
    with bot.engine.connect() as connection:
        kept = connection.execute(select(func.count()).select_from(Turn)).scalar_one()
        said = connection.execute(
            select(func.count()).select_from(Turn).where(Turn.transcript.is_not(None))
        ).scalar_one()
    assert kept > 0 and said == 0
    assert count_calls(bot.engine) == before + 1


async def test_api_keys_hold_over_http(bot: Bot, keys: dict[str, tuple[int, str]]) -> None:
    spare_id, spare = keys["spare"]
    admin, manager, operator = (keys[role][1] for role in ("admin", "manager", "operator"))
    async with httpx.AsyncClient(base_url=bot.served.api_url, timeout=30) as client:

        async def status(key: str | None, path: str = "/api/calls") -> int:
            headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
            return (await client.get(path, headers=headers)).status_code

        assert await status(spare) == 200
        assert await status(None) == 401
        assert await status("vb_not-a-key") == 401  # failed attempt 1
        assert await status(operator) == 403
        assert await status(manager, "/api/keys") == 403
        revoked = await client.post(
            f"/api/keys/{spare_id}/revoke", headers={"Authorization": f"Bearer {admin}"}
        )
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        assert await status(spare) == 401  # failed attempt 2
        for attempt in range(8):  # ten in all: the limit
            # A client rotating X-Forwarded-For is not believed (forwarded_allow_ips is empty
            # by default), so it cannot pose as ten thousand addresses.
            forged = {"X-Forwarded-For": f"198.51.100.{attempt}"}
            response = await client.get(
                "/api/calls", headers={"Authorization": f"Bearer vb_guess-{attempt}", **forged}
            )
            assert response.status_code == 401
        blocked = await client.get(
            "/api/calls",
            headers={"Authorization": "Bearer vb_guess-11", "X-Forwarded-For": "203.0.113.9"},
        )
        assert blocked.status_code == 429
        assert int(blocked.headers["Retry-After"]) > 0
        # Colleagues behind the same address (a city hall's NAT) are not locked out.
        assert await status(admin) == 200
        audit = await client.get(
            "/api/audit",
            params={"kind": ["key_rejected", "lockout"], "limit": 50},
            headers={"Authorization": f"Bearer {admin}"},
        )
        addresses = {event["address"] for event in audit.json()["data"]}
        assert addresses == {"127.0.0.1"}
        assert "lockout" in {event["kind"] for event in audit.json()["data"]}


async def test_password_guessing_locks_one_account_not_the_address(
    bot: Bot, keys: dict[str, tuple[int, str]]
) -> None:
    admin = {"Authorization": f"Bearer {keys['admin'][1]}"}
    async with httpx.AsyncClient(base_url=bot.served.api_url, timeout=30) as client:
        for name in ("victim", "colleague"):
            created = await client.post(
                "/api/accounts",
                headers=admin,
                json={"name": name, "role": "manager", "password": "le beffroi de la ville"},
            )
            assert created.status_code == 201, created.text

        async def sign_in(name: str, password: str, forwarded: str) -> httpx.Response:
            return await client.post(
                "/login",
                data={"name": name, "password": password},
                headers={"X-Forwarded-For": forwarded},
            )

        codes = [
            (await sign_in("victim", f"guess number {n}", f"198.51.100.{n}")).status_code
            for n in range(6)
        ]
        # Five wrong passwords lock the account from this address, whatever the header says.
        assert codes == [401, 401, 401, 401, 429, 429]
        assert (await sign_in("victim", "le beffroi de la ville", "203.0.113.1")).status_code == 429
        colleague = await sign_in("colleague", "le beffroi de la ville", "203.0.113.1")
        assert colleague.status_code == 303
        lockouts = await client.get(
            "/api/audit", params={"kind": "lockout", "limit": 10}, headers=admin
        )
        victim = [e for e in lockouts.json()["data"] if e["subject"] == "victim"]
        assert len(victim) == 1 and victim[0]["detail"]["scope"] == "account_from_address"
