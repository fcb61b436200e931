"""The batch writer: non-blocking submit, batching, real outages, spool limits, shutdown."""

from __future__ import annotations

import json
import logging
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event, func, make_url, select, text
from sqlalchemy.engine import URL

from tests.calllog.conftest import (
    BACKENDS,
    TEST_KEY,
    Database,
    fresh_postgres_schema,
    postgres_base_url,
)
from tests.calllog.factories import Turn, make_call, simple_calls
from tests.calllog.tcp_proxy import TcpProxy
from voicebot.calllog.db import create_calllog_engine, migrate
from voicebot.calllog.models import Call, CallHourly
from voicebot.calllog.models import Turn as TurnRow
from voicebot.calllog.pseudonymize import Pseudonymizer
from voicebot.calllog.receipts import RecordRefusedError
from voicebot.calllog.repository import CallLogRepository
from voicebot.calllog.rows import InvalidRecordError
from voicebot.calllog.spool import REJECTED_FILE, SEGMENT_PREFIX
from voicebot.calllog.writer import CallLogWriter

FAST = {"batch_interval_s": 0.05, "retry_initial_s": 0.05, "retry_max_s": 0.2}


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``predicate`` until it holds, failing the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.02)


def stored_ids(database: Database) -> list[str]:
    with database.engine.connect() as connection:
        return list(connection.execute(select(Call.call_id).order_by(Call.call_id)).scalars())


def count(database: Database, model: Any, column: Any = None) -> int:
    query = (
        select(func.coalesce(func.sum(column), 0)) if column is not None else select(func.count())
    )
    with database.engine.connect() as connection:
        return int(connection.execute(query.select_from(model)).scalar_one())


class Outage:
    """A real way to make the database unreachable for the writer, and back."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._proxy: TcpProxy | None = None
        if database.kind == "sqlite":
            self.engine = database.engine
        else:
            self._proxy = TcpProxy(database.url.host or "127.0.0.1", database.url.port or 5432)
            self._proxy.start()
            self.engine = create_calllog_engine(
                database.url_via("127.0.0.1", self._proxy.port), connect_timeout_s=2
            )

    def cut(self) -> None:
        """SQLite: the database directory disappears; PostgreSQL: the TCP link is cut."""
        if self._proxy is not None:
            self._proxy.cut()
            return
        directory = self._database.sqlite_dir
        assert directory is not None
        directory.rename(directory.with_name("db-away"))

    def restore(self) -> None:
        if self._proxy is not None:
            self._proxy.restore()
            return
        directory = self._database.sqlite_dir
        assert directory is not None
        directory.with_name("db-away").rename(directory)

    def close(self) -> None:
        if self._proxy is not None:
            self.engine.dispose()
            self._proxy.close()


@pytest.fixture
def outage(database: Database) -> Iterator[Outage]:
    staged = Outage(database)
    yield staged
    staged.close()


@pytest.fixture
def make_writer(database: Database, tmp_path: Path) -> Iterator[Callable[..., CallLogWriter]]:
    """Builds writers (spool in tmp_path/spool by default) and closes them after the test."""
    writers: list[CallLogWriter] = []

    def build(engine: Engine | None = None, **options: Any) -> CallLogWriter:
        spool_dir = options.pop("spool_dir", tmp_path / "spool")
        writer = CallLogWriter(database.repository(engine), spool_dir, **{**FAST, **options})
        writers.append(writer)
        return writer

    yield build
    for writer in writers:
        writer.close(timeout=5)


@contextmanager
def database_locked(database: Database) -> Iterator[None]:
    """Hold the write lock of the calls table from another connection."""
    if database.kind == "sqlite":
        assert database.url.database is not None
        holder = sqlite3.connect(database.url.database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    conninfo = database.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as locker:
        locker.execute("LOCK TABLE calls IN ACCESS EXCLUSIVE MODE")
        yield
        locker.rollback()


def test_submit_never_blocks_while_the_database_is_stuck(
    database: Database, make_writer: Callable[..., CallLogWriter]
) -> None:
    # A short busy timeout on SQLite: the writer gives up on the lock and spools.
    engine = create_calllog_engine(database.url, connect_timeout_s=0.3)
    writer = make_writer(engine, queue_size=50)
    calls = simple_calls(300)
    # What submit() may not do, whatever the machine's speed: touch the database from the
    # caller's thread (the lock would hold it), or wait for room in the full queue.
    touched_from: set[int] = set()

    def note_thread(*_args: Any) -> None:
        touched_from.add(threading.get_ident())

    event.listen(engine, "before_cursor_execute", note_thread)
    event.listen(engine, "connect", note_thread)
    with database_locked(database):
        for call in calls:
            writer.submit(call)
        assert writer.overflowed > 0  # the queue (50) filled up and submit went on
    assert threading.get_ident() not in touched_from
    assert writer.flush(timeout=30)
    assert stored_ids(database) == sorted(c.call_id for c in calls)
    assert count(database, TurnRow) == 300
    engine.dispose()


def test_records_are_written_in_batches(
    database: Database, make_writer: Callable[..., CallLogWriter], tmp_path: Path
) -> None:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO CALLS"):
            statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        writer = make_writer(batch_size=100, batch_interval_s=0.5)
        for call in simple_calls(250):
            writer.submit(call)
        assert writer.flush(timeout=20)
        assert len(statements) <= 4
        assert writer.written == 250
        statements.clear()
        slow = make_writer(batch_interval_s=0.3, spool_dir=tmp_path / "spool-timed")
        for call in simple_calls(3, prefix="timed"):
            slow.submit(call)
        wait_for(lambda: slow.written == 3, timeout=20)
        assert len(statements) == 1
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    assert count(database, Call) == 253


def test_outage_spools_and_recovery_replays_each_record_once(
    database: Database, outage: Outage, make_writer: Callable[..., CallLogWriter]
) -> None:
    writer = make_writer(outage.engine)
    before = simple_calls(20, prefix="before")
    for call in before:
        writer.submit(call)
    assert writer.flush(timeout=20)

    outage.cut()
    during = simple_calls(30, prefix="during")
    for call in during:
        writer.submit(call)
    wait_for(lambda: writer.spooled >= 30 and not writer.database_available)
    assert writer.spool_bytes > 0
    if database.kind == "postgresql":
        assert len(stored_ids(database)) == 20  # read directly, not through the proxy
    failures: list[BaseException] = []

    def note_failure(context: Any) -> None:
        failures.append(context.original_exception)

    event.listen(outage.engine, "handle_error", note_failure)
    try:
        wait_for(lambda: len(failures) >= 2, timeout=30)  # retried with backoff, failed again
    finally:
        event.remove(outage.engine, "handle_error", note_failure)

    outage.restore()
    assert writer.flush(timeout=30)
    assert stored_ids(database) == sorted(c.call_id for c in before + during)
    assert count(database, TurnRow) == 50
    assert count(database, CallHourly, CallHourly.calls) == 50
    assert writer.replayed >= 30
    assert writer.spool_bytes == 0
    assert (writer.failed, writer.dropped) == (0, 0)
    assert writer.database_available


def test_full_spool_keeps_records_in_memory_until_the_database_returns(
    database: Database,
    outage: Outage,
    make_writer: Callable[..., CallLogWriter],
    caplog: pytest.LogCaptureFixture,
) -> None:
    writer = make_writer(outage.engine, max_spool_bytes=1, max_memory_records=100)
    outage.cut()
    with caplog.at_level(logging.ERROR, logger="voicebot.calllog.writer"):
        for call in simple_calls(10):
            writer.submit(call)
        wait_for(lambda: writer.memory_backlog == 10)
    assert "spool unusable" in caplog.text
    assert writer.spooled == 0
    outage.restore()
    assert writer.flush(timeout=30)
    assert len(stored_ids(database)) == 10
    assert (writer.memory_backlog, writer.dropped) == (0, 0)


def test_beyond_the_memory_bound_records_are_dropped_loudly(
    database: Database,
    outage: Outage,
    make_writer: Callable[..., CallLogWriter],
    caplog: pytest.LogCaptureFixture,
) -> None:
    writer = make_writer(outage.engine, max_spool_bytes=1, max_memory_records=4)
    outage.cut()
    with caplog.at_level(logging.ERROR, logger="voicebot.calllog.writer"):
        for call in simple_calls(10):
            writer.submit(call)
        wait_for(lambda: writer.dropped == 6)
    assert "LOST" in caplog.text
    assert writer.memory_backlog == 4
    outage.restore()
    assert writer.flush(timeout=30)
    assert len(stored_ids(database)) == 4


def test_close_drains_the_queue_to_the_database(
    database: Database, make_writer: Callable[..., CallLogWriter]
) -> None:
    writer = make_writer(batch_size=1000, batch_interval_s=30)
    for call in simple_calls(150):
        writer.submit(call)
    # batch_interval_s=30 and a batch of 1000: only close() itself can have written them.
    assert writer.close(timeout=10)
    assert len(stored_ids(database)) == 150


def test_close_during_an_outage_spools_and_the_next_writer_replays(
    database: Database, outage: Outage, make_writer: Callable[..., CallLogWriter], tmp_path: Path
) -> None:
    spool_dir = tmp_path / "shared-spool"
    writer = make_writer(outage.engine, spool_dir=spool_dir)
    outage.cut()
    calls = simple_calls(15)
    for call in calls:
        writer.submit(call)
    assert writer.close(timeout=1.0) is False
    assert list(spool_dir.glob(f"{SEGMENT_PREFIX}*"))
    writer.submit(simple_calls(1, prefix="late")[0])  # after close: straight to the spool
    assert writer.spooled == 16

    outage.restore()
    successor = make_writer(outage.engine, spool_dir=spool_dir)
    assert successor.flush(timeout=30)
    assert len(stored_ids(database)) == 16
    assert successor.replayed == 16
    assert not list(spool_dir.glob(f"{SEGMENT_PREFIX}*"))


def _install_poison_trigger(database: Database) -> None:
    with database.engine.begin() as connection:
        if database.kind == "sqlite":
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_poison BEFORE INSERT ON calls "
                    "WHEN NEW.call_id LIKE 'poison%' "
                    "BEGIN SELECT RAISE(ABORT, 'poison record refused'); END"
                )
            )
            return
        connection.execute(
            text(
                "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN IF NEW.call_id LIKE 'poison%' THEN RAISE EXCEPTION "
                "'poison record refused' USING ERRCODE = 'check_violation'; END IF; "
                "RETURN NEW; END $$"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER refuse_poison BEFORE INSERT ON calls "
                "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
            )
        )


def test_a_record_the_database_refuses_does_not_hold_back_the_batch(
    database: Database, make_writer: Callable[..., CallLogWriter], tmp_path: Path
) -> None:
    _install_poison_trigger(database)
    writer = make_writer(batch_interval_s=0.5)
    calls = simple_calls(5)
    for call in [*calls[:2], simple_calls(1, prefix="poison")[0], *calls[2:]]:
        writer.submit(call)
    assert writer.flush(timeout=20)
    assert stored_ids(database) == [c.call_id for c in calls]
    assert (writer.failed, writer.written) == (1, 5)
    assert "poison-0000" in (tmp_path / "spool" / REJECTED_FILE).read_text()


def test_invalid_records_are_refused_at_submit(
    database: Database, make_writer: Callable[..., CallLogWriter]
) -> None:
    writer = make_writer()
    bad = replace(simple_calls(1)[0], ended_at=datetime(2024, 3, 4, 9, 1))
    with pytest.raises(InvalidRecordError, match="naive datetime"):
        writer.submit(bad)
    with pytest.raises(TypeError, match="CallRecord"):
        writer.submit("call-1")  # type: ignore[arg-type]
    assert writer.flush(timeout=5)
    assert writer.queue_depth == 0 and stored_ids(database) == []


NUMBER_SPELLINGS = ("0479 31 41 59", "0479314159", "479314159", "+32479314159", "31 41 59")


def _spool_text(directory: Path) -> str:
    return "".join(
        p.read_text(encoding="utf-8") for p in sorted(directory.iterdir()) if p.is_file()
    )


def test_spool_and_rejected_file_hold_the_numbers_hash_never_the_number(
    database: Database,
    outage: Outage,
    make_writer: Callable[..., CallLogWriter],
    tmp_path: Path,
) -> None:
    _install_poison_trigger(database)
    writer = make_writer(outage.engine)
    outage.cut()
    spooled = make_call("spooled-1", caller="0479 31 41 59", turns=[Turn("faq:x", "Zebulon")])
    writer.submit(spooled)
    wait_for(lambda: writer.spooled >= 1 and not writer.database_available)
    text_during = _spool_text(tmp_path / "spool")
    assert "Zebulon" in text_during  # what the caller said waits for the database
    assert not [s for s in NUMBER_SPELLINGS if s in text_during], text_during
    expected_hash = Pseudonymizer(TEST_KEY, "32").caller_hash("0479 31 41 59")
    assert expected_hash is not None and expected_hash in text_during

    outage.restore()
    writer.submit(make_call("poison-1", caller="0479 31 41 59"))
    assert writer.flush(timeout=30)
    with database.engine.connect() as connection:
        stored = connection.execute(
            select(Call.caller_hash).where(Call.call_id == "spooled-1")
        ).scalar_one()
    assert stored == expected_hash  # the same hash as a record that never waited
    rejected = (tmp_path / "spool" / REJECTED_FILE).read_text(encoding="utf-8")
    assert "poison-1" in rejected and expected_hash in rejected
    assert not [s for s in NUMBER_SPELLINGS if s in rejected], rejected
    entry = json.loads(rejected.splitlines()[0])
    assert "poison record refused" in entry["reason"] and "\n" not in entry["reason"]
    assert "[parameters" not in entry["reason"]


def test_spool_files_are_private_to_the_service(
    outage: Outage, make_writer: Callable[..., CallLogWriter], tmp_path: Path
) -> None:
    writer = make_writer(outage.engine)
    outage.cut()
    writer.submit(make_call("private-1"))
    wait_for(lambda: writer.spooled >= 1)
    spool = tmp_path / "spool"
    assert stat.S_IMODE(spool.stat().st_mode) == 0o700
    for path in spool.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    outage.restore()


@contextmanager
def database_not_there_yet(kind: str, directory: Path) -> Iterator[tuple[URL, Callable[[], None]]]:
    """An empty, unmigrated database that cannot be reached yet, and what makes it appear.

    SQLite: a file stands where the database's directory must be created; PostgreSQL: a
    fresh schema reached through a proxy that refuses connections until restored.
    """
    if kind == "sqlite":
        blocker = directory / "db"
        blocker.write_text("not a directory yet")
        yield make_url(f"sqlite:///{blocker / 'calls.db'}"), blocker.unlink
        return
    with fresh_postgres_schema(postgres_base_url()) as url:
        proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
        proxy.start()
        proxy.cut()
        try:
            yield url.set(host="127.0.0.1", port=proxy.port), proxy.restore
        finally:
            proxy.close()


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_writer_started_without_its_database_spools_then_migrates_when_it_appears(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="voicebot.calllog.writer")
    with database_not_there_yet(kind, tmp_path) as (url, appear):
        engine = create_calllog_engine(url, connect_timeout_s=2)
        writer = CallLogWriter(
            CallLogRepository(engine, Pseudonymizer(TEST_KEY, "32")),
            tmp_path / "spool",
            prepare=lambda: migrate(url),
            **FAST,
        )
        try:
            assert not writer.wait_first_attempt(timeout=10)
            assert not writer.ready and not writer.database_available
            assert writer.prepare_error is not None and "\n" not in writer.prepare_error
            calls = simple_calls(5, prefix="early")
            for call in calls:
                writer.submit(call)  # the call path goes on while the database is away
            wait_for(lambda: writer.spooled == 5)
            assert writer.spool_bytes > 0
            appear()
            assert writer.flush(timeout=30)
            assert writer.ready and writer.database_available and writer.prepare_error is None
            with engine.connect() as connection:
                stored = connection.execute(select(Call.call_id).order_by(Call.call_id))
                assert list(stored.scalars()) == sorted(c.call_id for c in calls)
            assert (writer.replayed, writer.failed, writer.dropped) == (5, 0, 0)
        finally:
            writer.close(timeout=5)
            engine.dispose()
    lines = [r.getMessage() for r in caplog.records]
    assert any("unavailable" in line and "spool" in line for line in lines), lines
    assert any("reachable after" in line and "schema migrated" in line for line in lines), lines


def test_a_receipt_completes_once_the_record_is_stored_even_when_asked_after(
    database: Database, make_writer: Callable[..., CallLogWriter]
) -> None:
    writer = make_writer()
    early, late = simple_calls(2)
    asked_before = writer.receipt(early.call_id)
    assert not asked_before.done()
    writer.submit(early)
    writer.submit(late)
    asked_before.result(timeout=20)
    assert writer.flush(timeout=20)
    writer.receipt(late.call_id).result(timeout=1)  # already stored: answers at once
    assert stored_ids(database) == [early.call_id, late.call_id]


def test_a_receipt_waits_while_the_record_is_spooled_and_completes_on_replay(
    database: Database, outage: Outage, make_writer: Callable[..., CallLogWriter]
) -> None:
    writer = make_writer(outage.engine)
    outage.cut()
    (call,) = simple_calls(1, prefix="outage")
    receipt = writer.receipt(call.call_id)
    writer.submit(call)
    wait_for(lambda: writer.spooled >= 1)
    assert not receipt.done()  # in the spool is not in the database
    outage.restore()
    receipt.result(timeout=30)
    assert stored_ids(database) == [call.call_id]


def test_a_receipt_says_the_database_refused_the_record(
    database: Database, make_writer: Callable[..., CallLogWriter]
) -> None:
    _install_poison_trigger(database)
    writer = make_writer()
    (poison,) = simple_calls(1, prefix="poison")
    receipt = writer.receipt(poison.call_id)
    writer.submit(poison)
    with pytest.raises(RecordRefusedError, match="poison-0000: the database refused"):
        receipt.result(timeout=20)
