"""Store faults under load: PostgreSQL unreachable (a TCP proxy in front of it is cut),
with a spool too small for the outage (fast) and for 60 s with the normal spool (long).
Calls go on undelayed, and once the database is back every call is in it exactly once.

The writer's own unit tests (tests/calllog/test_writer.py) cover the spool, its limit and
the memory bound in-process; these run the real ``voicebot serve`` under call load."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.engine import URL

from tests.calllog.conftest import fresh_postgres_schema, postgres_base_url
from tests.calllog.tcp_proxy import TcpProxy
from tests.reliability.conftest import BotFactory
from tests.reliability.harness import (
    Bot,
    count_calls,
    mixed,
    record_problems,
    run_load,
    stored_calls,
    wait_stored,
)

pytestmark = pytest.mark.postgres

UNDELAYED_S = 15.0
"""Longest a call may take while the database is away (an undisturbed one: about 5 s)."""


@dataclass
class OutageSample:
    """The writer's state seen through /health and /metrics during the outage."""

    spool_bytes: float = 0.0
    memory_backlog: int = 0
    database_available: bool = True


@pytest.fixture
def postgres_schema() -> Iterator[URL]:
    """A fresh PostgreSQL schema for one serve process."""
    with fresh_postgres_schema(postgres_base_url()) as url:
        yield url


def url_text(url: URL) -> str:
    return url.render_as_string(hide_password=False)


async def observe(bot: Bot, sample: OutageSample, done: asyncio.Event) -> None:
    """Keep the largest spool and memory backlog the writer reports."""
    async with httpx.AsyncClient(base_url=bot.served.api_url, timeout=10) as client:
        while not done.is_set():
            writer = (await client.get("/health")).json()["writer"]
            sample.spool_bytes = max(sample.spool_bytes, writer["spool_bytes"])
            sample.memory_backlog = max(sample.memory_backlog, writer["memory_backlog"])
            sample.database_available &= writer["database_available"]
            await asyncio.sleep(0.2)


async def load_through_outage(
    bots: BotFactory,
    speech: bytes,
    schema: URL,
    *,
    calls: int,
    concurrency: int,
    outage_s: float,
    spool_max_bytes: int | None = None,
) -> OutageSample:
    """Calls while the proxy to PostgreSQL is cut for ``outage_s``; checks every record."""
    proxy = TcpProxy(schema.host or "127.0.0.1", schema.port or 5432)
    proxy.start()
    settings = {} if spool_max_bytes is None else {"calllog_spool_max_bytes": spool_max_bytes}
    watcher: asyncio.Task[None] | None = None
    done = asyncio.Event()
    try:
        bot = await bots(
            settings=settings,
            database_url=url_text(schema.set(host="127.0.0.1", port=proxy.port)),
            check_url=url_text(schema),
        )
        sample = OutageSample()
        watcher = asyncio.create_task(observe(bot, sample, done))
        load = asyncio.create_task(run_load(bot, mixed(calls), concurrency, speech))
        await asyncio.sleep(1.0)
        proxy.cut()
        cut_at = time.monotonic()
        await asyncio.sleep(outage_s)
        stored_during = count_calls(bot.engine)
        proxy.restore()
        restored_at = time.monotonic()
        report = await asyncio.wait_for(load, outage_s + 300)
        assert await wait_stored(bot.engine, calls, timeout=60) == calls
        recovered_s = time.monotonic() - restored_at
    finally:
        done.set()
        if watcher is not None:
            await asyncio.wait_for(watcher, 10)
        proxy.close()

    assert not report.errors, report.errors[:10]
    assert max(report.durations) < UNDELAYED_S, max(report.durations)
    problems = record_problems(report.results, stored_calls(bot.engine))
    assert not problems, problems[:10]
    assert count_calls(bot.engine) == calls
    assert not sample.database_available
    assert sample.spool_bytes > 0 or sample.memory_backlog > 0
    async with httpx.AsyncClient(base_url=bot.served.api_url, timeout=10) as client:
        health = (await client.get("/health")).json()
    assert health["writer"]["dropped"] == 0
    assert health["writer"]["spool_bytes"] == 0 and health["writer"]["memory_backlog"] == 0
    print(
        f"\nstore outage: {calls} calls ({concurrency} concurrent), PostgreSQL away "
        f"{restored_at - cut_at:.1f} s with {stored_during} rows stored before the cut, "
        f"spool peak {sample.spool_bytes / 1024:.1f} KiB, memory backlog peak "
        f"{sample.memory_backlog}, all {calls} rows {recovered_s:.1f} s after the return, "
        f"call max {max(report.durations):.1f} s"
    )
    return sample


async def test_database_outage_with_a_full_spool_under_load_loses_nothing(
    bots: BotFactory, question_speech: bytes, postgres_schema: URL
) -> None:
    # 8 KiB takes a few records, then the rest of the outage waits in memory.
    sample = await load_through_outage(
        bots,
        question_speech,
        postgres_schema,
        calls=40,
        concurrency=10,
        outage_s=5.0,
        spool_max_bytes=8192,
    )
    assert sample.spool_bytes > 0 and sample.memory_backlog > 0


@pytest.mark.reliability
async def test_60_s_database_outage_under_load_loses_nothing(
    bots: BotFactory, question_speech: bytes, postgres_schema: URL
) -> None:
    sample = await load_through_outage(
        bots, question_speech, postgres_schema, calls=300, concurrency=20, outage_s=60.0
    )
    assert sample.spool_bytes > 0
