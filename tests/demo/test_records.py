"""The demo waits on the writer's word that each record is stored, within a bound."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.calllog.conftest import TEST_KEY
from tests.calllog.factories import simple_calls
from voicebot.calllog.db import create_calllog_engine, migrate
from voicebot.calllog.pseudonymize import Pseudonymizer
from voicebot.calllog.repository import CallLogRepository
from voicebot.calllog.spool import SEGMENT_PREFIX
from voicebot.calllog.writer import CallLogWriter
from voicebot.demo.errors import DemoError
from voicebot.demo.records import DemoCall, wait_stored


def _writer(url: str, spool: Path) -> Iterator[CallLogWriter]:
    engine = create_calllog_engine(url)
    writer = CallLogWriter(
        CallLogRepository(engine, Pseudonymizer(TEST_KEY, "32")),
        spool,
        batch_interval_s=0.05,
        retry_initial_s=0.05,
        retry_max_s=0.2,
        prepare=lambda: migrate(url),
    )
    yield writer
    writer.close(timeout=0.5)
    engine.dispose()


def closed_port() -> int:
    """A local TCP port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s"
        time.sleep(0.02)


@pytest.fixture
def reachable(tmp_path: Path) -> Iterator[CallLogWriter]:
    yield from _writer(f"sqlite:///{tmp_path / 'calls.db'}", tmp_path / "spool")


@pytest.fixture
def unreachable(tmp_path: Path) -> Iterator[CallLogWriter]:
    yield from _writer(
        f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/none", tmp_path / "spool"
    )


async def test_returns_once_every_record_is_stored(reachable: CallLogWriter) -> None:
    records = simple_calls(2)
    for record in records:
        reachable.submit(record)
    calls = [DemoCall(f"call {n}", r.call_id) for n, r in enumerate(records, start=1)]
    await wait_stored(reachable, calls, timeout=20, spool=Path("var/spool"))
    stored = reachable.repository.get_call(records[1].call_id)
    assert stored is not None


async def test_a_record_that_never_arrives_is_a_clear_error_and_stays_in_the_spool(
    unreachable: CallLogWriter, tmp_path: Path
) -> None:
    (record,) = simple_calls(1)
    assert not unreachable.wait_first_attempt(20)  # the database has said no at least once
    unreachable.submit(record)
    with pytest.raises(DemoError) as raised:
        await wait_stored(unreachable, [DemoCall("call 1", record.call_id)], 0.5, tmp_path)
    message = str(raised.value)
    assert message.startswith(
        f"call 1 ({record.call_id}): its record was not in the call log 0.5 s after the call "
        "ended; the database was never reachable (OperationalError"
    ), message
    assert f"waits in {tmp_path}" in message
    await asyncio.to_thread(_until, lambda: unreachable.spooled >= 1)
    segments = list((tmp_path / "spool").glob(f"{SEGMENT_PREFIX}*"))
    assert any(record.call_id in segment.read_text() for segment in segments)  # not lost
