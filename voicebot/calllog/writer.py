"""Background batch writer of call records: never blocks the call, never loses a record.

The call path calls :meth:`CallLogWriter.submit`, which only validates the record and puts
it on a bounded in-memory queue (or, when that is full, on an overflow list that the writer
thread moves to the spool first thing). A daemon thread takes records off the queue in
batches (``batch_size`` records or ``batch_interval_s`` after the first one) and stores them
with :meth:`CallLogRepository.save_calls`, which is idempotent.

When the database is unreachable the batch goes to the on-disk :class:`Spool` and the
database is retried with exponential backoff (:class:`~voicebot.backoff.Backoff`); while
anything waits in the spool, new batches are spooled behind it, so records reach the
database in submission order once the spool is replayed. If the spool is full too,
records wait in memory up to ``max_memory_records`` and the writer logs at ERROR; only
beyond that are records dropped (counted in :attr:`CallLogWriter.dropped`).

:meth:`CallLogWriter.receipt` tells whoever needs to know when one call's record is in
the database (the demo reads it back through the API): a future per call id, completed
by the writer thread at the commit (:mod:`voicebot.calllog.receipts`).

A writer given ``prepare`` (the schema migration) starts as if the database were down: it
spools from the first record and runs ``prepare`` as its first database attempt, then on
the same backoff until it succeeds; only then are records written. A process can thus
start, and take calls, while its database is still away.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path

from sqlalchemy import exc as sa_exc

from voicebot.backoff import Backoff, Outage
from voicebot.calllog.receipts import RecordReceipts
from voicebot.calllog.repository import CallLogRepository
from voicebot.calllog.rows import validate_record
from voicebot.calllog.spool import (
    Spool,
    SpoolBusyError,
    SpoolClosedError,
    SpoolFullError,
    encode_records,
)
from voicebot.records import CallRecord

_LOGGER = logging.getLogger(__name__)

_SYSTEMIC_ERRORS: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.ProgrammingError,
    sa_exc.InternalError,
    sa_exc.NotSupportedError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    ConnectionError,
    TimeoutError,
)


def is_database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database (not the record) is the problem: retry later.

    Connection failures, timeouts and locked or read-only files are, and so are schema
    problems (``ProgrammingError``) that an operator will fix; data errors such as an
    ``IntegrityError`` or ``DataError`` belong to one record.
    """
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, _SYSTEMIC_ERRORS)


def one_line(error: BaseException) -> str:
    """``Type: first line`` of an error (SQLAlchemy appends a background link)."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


class _Unavailable(Exception):
    """Internal: the database could not be reached while saving."""


class CallLogWriter:
    """Queues, batches, spools and replays call records on a background thread."""

    def __init__(
        self,
        repository: CallLogRepository,
        spool_dir: Path,
        *,
        batch_size: int = 100,
        batch_interval_s: float = 0.2,
        queue_size: int = 10_000,
        max_spool_bytes: int = 256 * 2**20,
        spool_segment_bytes: int = 2**20,
        max_memory_records: int = 10_000,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 30.0,
        prepare: Callable[[], None] | None = None,
        on_durable: Callable[[list[str]], None] | None = None,
    ) -> None:
        for name, value in (
            ("batch_size", batch_size),
            ("queue_size", queue_size),
            ("max_memory_records", max_memory_records),
        ):
            if value < 1:
                raise ValueError(f"CallLogWriter {name} must be at least 1, got {value}")
        if not 0 < batch_interval_s <= 60 or not 0 < retry_initial_s <= retry_max_s:
            raise ValueError(
                "CallLogWriter needs 0 < batch_interval_s <= 60 and "
                "0 < retry_initial_s <= retry_max_s"
            )
        self._repository = repository
        self._spool = Spool(spool_dir, max_bytes=max_spool_bytes, segment_bytes=spool_segment_bytes)
        self._batch_size = batch_size
        self._batch_interval_s = batch_interval_s
        self._max_memory = max_memory_records
        self._retry = Backoff(retry_initial_s, retry_max_s)
        self._outage = Outage()
        self._prepare = prepare
        self._on_durable = on_durable
        """Told the call ids whose records are now in the database, the spool or
        ``rejected.jsonl`` (the call journal then forgets them); from the writer thread."""
        self._ready = threading.Event()
        """Set once ``prepare`` succeeded (at once without one)."""
        self._prepare_tried = threading.Event()
        """Set after the first ``prepare`` attempt, whatever its outcome."""
        self.prepare_error: str | None = None
        """Why the last ``prepare`` attempt failed (None once it succeeded)."""

        self._queue: queue.Queue[CallRecord | None] = queue.Queue(maxsize=queue_size)
        self._overflow: deque[CallRecord] = deque()
        self._memory: deque[CallRecord] = deque()
        self._cond = threading.Condition()
        self._outstanding = 0
        self._flush_waiters = 0
        self._retry_now = False
        self._closed = False
        self._stopping = False
        self._stop_deadline = 0.0
        self._out_of_time = False
        self._db_down = prepare is not None
        self._next_retry = 0.0
        if prepare is None:
            self._ready.set()
            self._prepare_tried.set()
        self._spool_full_logged = False
        self._receipts = RecordReceipts()

        self.written = 0
        """Records stored straight from the queue."""
        self.spooled = 0
        """Records appended to the spool."""
        self.replayed = 0
        """Records stored from the spool or the memory backlog."""
        self.failed = 0
        """Records the database refused (kept in the spool's ``rejected.jsonl``)."""
        self.dropped = 0
        """Records lost: spool full and memory backlog at its limit."""
        self.overflowed = 0
        """Submissions that found the queue full (and went to the spool instead)."""

        self._thread = threading.Thread(target=self._run, name="calllog-writer", daemon=True)
        self._thread.start()

    # ----------------------------------------------------------------- call path

    @property
    def repository(self) -> CallLogRepository:
        """Where records are written (read access for the API and tests)."""
        return self._repository

    def submit(self, record: CallRecord) -> None:
        """Hand a finished call to the log: validates, enqueues and returns at once.

        Raises ``InvalidRecordError``/``TypeError`` for a record that could never be stored.
        After :meth:`close`, the record is appended to the spool synchronously.
        """
        validate_record(record)
        # Before anything can write it down: the spool and rejected.jsonl get the hash only.
        record = self._repository.pseudonymised(record)
        # The lock is only ever held for a few instructions; it makes "closed" and "queued"
        # one step so no record can slip into the queue after the thread's final drain.
        with self._cond:
            if not self._closed:
                self._outstanding += 1
                try:
                    self._queue.put_nowait(record)
                except queue.Full:
                    self._overflow.append(record)
                    self.overflowed += 1
                return
        self._spool_after_close(record)

    def _spool_after_close(self, record: CallRecord) -> None:
        try:
            try:
                self._spool.append([record])
            except SpoolClosedError:
                # The writer let go of its spool: borrow the directory for this one record.
                spool = Spool(self._spool.directory, max_bytes=self._spool.max_bytes)
                try:
                    spool.append([record])
                finally:
                    spool.close()
        except (SpoolFullError, SpoolBusyError, OSError) as error:
            self.dropped += 1
            _LOGGER.error(
                "call log: call %s submitted after close and could not be spooled (%s): LOST",
                record.call_id,
                error,
            )
            return
        self.spooled += 1
        self._durable([record])
        _LOGGER.warning("call log: call %s submitted after close: spooled", record.call_id)

    def receipt(self, call_id: str) -> Future[None]:
        """Completes once ``call_id``'s record is in the database (now or later).

        Raises :class:`~voicebot.calllog.receipts.RecordRefusedError` through the future
        when the database refused it; pending while the record is queued or spooled.
        """
        return self._receipts.receipt(call_id)

    # ---------------------------------------------------------------- metrics

    @property
    def queue_depth(self) -> int:
        """Records submitted but not yet handled (queued, overflowed or being written)."""
        return self._outstanding

    @property
    def spool_bytes(self) -> int:
        """Bytes waiting in the spool."""
        return self._spool.size

    @property
    def memory_backlog(self) -> int:
        """Records held in memory because the spool was full."""
        return len(self._memory)

    @property
    def database_available(self) -> bool:
        """False from a failed write until the next successful one (and until ``prepare``
        succeeded)."""
        return not self._db_down

    @property
    def ready(self) -> bool:
        """True once ``prepare`` has succeeded: records can reach the database."""
        return self._ready.is_set()

    def wait_first_attempt(self, timeout: float) -> bool:
        """Wait for the outcome of the first ``prepare`` attempt; True if it succeeded."""
        self._prepare_tried.wait(timeout)
        return self._ready.is_set()

    # ------------------------------------------------------------- shutdown

    def _wake(self) -> None:
        # A full queue needs no wake-up call: the thread has work.
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)

    def _settled(self) -> bool:
        return self._outstanding == 0 and self._spool.is_empty and not self._memory

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every record submitted so far is in the database; False on timeout.

        A writer waiting out a retry backoff retries at once.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            self._flush_waiters += 1
            self._retry_now = True
        self._wake()
        try:
            with self._cond:
                while not self._settled():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not self._thread.is_alive():
                        return False
                    self._cond.wait(min(remaining, 0.5))
                return True
        finally:
            with self._cond:
                self._flush_waiters -= 1

    def close(self, timeout: float = 10.0) -> bool:
        """Drain to the database for up to ``timeout`` seconds, spool the rest, stop.

        Returns True when everything reached the database. Records still pending at the
        deadline are spooled and replayed by the next writer on the same spool directory.
        """
        with self._cond:
            self._closed = True
            self._stopping = True
            # Keep a fifth of the time to spool what could not be written.
            self._stop_deadline = time.monotonic() + timeout * 0.8
            self._retry_now = True
        self._wake()
        self._thread.join(timeout)
        if self._thread.is_alive():
            _LOGGER.error(
                "call log writer did not stop within %.1f s (database call hanging?)", timeout
            )
            return False
        clean = self._settled()
        self._spool.close()
        if not clean:
            _LOGGER.warning(
                "call log writer closed with %d spooled bytes and %d records in memory",
                self._spool.size,
                len(self._memory),
            )
        return clean

    # --------------------------------------------------------------- thread

    def _run(self) -> None:
        batch: list[CallRecord] = []
        try:
            while True:
                batch = self._collect()
                self._spool_overflow()
                if batch:
                    self._handle(batch)
                self._recover_safely()
                with self._cond:
                    self._outstanding -= len(batch)
                    self._cond.notify_all()
                batch = []
                if self._stopping and self._finished():
                    break
        except Exception:
            _LOGGER.exception("call log writer thread crashed: spooling what it holds")
        finally:
            # Closed first, drained second: a submit racing with the end goes to the spool.
            with self._cond:
                self._closed = True
            self._final_spool(batch)
            with self._cond:
                self._cond.notify_all()

    def _recover_safely(self) -> None:
        try:
            self._recover_if_due()
        except Exception as error:  # the spool still holds the records: retry later
            _LOGGER.exception("call log replay failed, retrying later")
            self._mark_down(error)

    def _finished(self) -> bool:
        if not self._out_of_time and time.monotonic() >= self._stop_deadline:
            # Out of time: everything left goes to the spool, no more database attempts.
            self._out_of_time = True
        return self._queue.empty() and not self._overflow and (self._out_of_time or self._settled())

    def _idle_wait(self) -> float:
        if not self._ready.is_set():
            return max(0.0, min(1.0, self._next_retry - time.monotonic()))
        if self._spool.is_empty and not self._memory:
            return 1.0
        if not self._db_down or self._retry_now:
            return 0.0
        return max(0.0, min(1.0, self._next_retry - time.monotonic()))

    def _collect(self) -> list[CallRecord]:
        batch: list[CallRecord] = []
        wait = self._idle_wait()
        first_at = 0.0
        while len(batch) < self._batch_size:
            if batch:
                hurry = self._flush_waiters > 0 or self._stopping
                wait = 0.0 if hurry else first_at + self._batch_interval_s - time.monotonic()
            try:
                item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                if not batch:
                    break
                continue
            if not batch:
                first_at = time.monotonic()
            batch.append(item)
        return batch

    def _spool_overflow(self) -> None:
        if not self._overflow:
            return
        records: list[CallRecord] = []
        while self._overflow:
            records.append(self._overflow.popleft())
        _LOGGER.warning("call log queue full: %d record(s) go to the spool", len(records))
        self._stash(records)
        with self._cond:
            self._outstanding -= len(records)

    def _handle(self, batch: list[CallRecord]) -> None:
        if self._out_of_time or self._db_down or not self._spool.is_empty or self._memory:
            self._stash(batch)
            return
        try:
            self.written += self._save(batch)
        except _Unavailable as error:
            self._mark_down(error)
            self._stash(batch)
            return
        self._durable(batch)

    def _save(self, records: Sequence[CallRecord]) -> int:
        """Store records; returns how many were stored, the rest being rejected."""
        try:
            self._repository.save_calls(records)
            self._receipts.stored(record.call_id for record in records)
            return len(records)
        except Exception as error:
            if is_database_unavailable(error):
                raise _Unavailable(str(error)) from error
            if len(records) == 1:
                self._reject(records[0], error)
                return 0
        # A record the database refuses must not hold back the others: isolate it.
        return sum(self._save([record]) for record in records)

    def _durable(self, records: Sequence[CallRecord]) -> None:
        if self._on_durable is None or not records:
            return
        try:
            self._on_durable([record.call_id for record in records])
        except Exception:
            _LOGGER.exception("call log: durable-record listener failed")

    def _reject(self, record: CallRecord, error: Exception) -> None:
        self.failed += 1
        # The first line names the problem; SQLAlchemy's next lines dump the statement's
        # parameters, which quote what the caller said: not for logs or rejected.jsonl.
        reason = str(error).split("\n", 1)[0]
        _LOGGER.error("call log: database refused call %s: %s", record.call_id, reason)
        self._spool.reject(encode_records([record]).decode("utf-8").rstrip("\n"), reason)
        self._receipts.refused(record.call_id, reason)

    def _mark_down(self, error: Exception) -> None:
        now = time.monotonic()
        if self._outage.failed(now):
            _LOGGER.warning(
                "call log database unavailable (%s): records go to the spool (%d bytes "
                "waiting); down %.0f s, attempt %d, retrying in %.1f s",
                one_line(error),
                self._spool.size,
                self._outage.down_for(now),
                self._outage.failures,
                self._retry.delay(self._outage.failures),
            )
        self._db_down = True
        self._next_retry = now + self._retry.delay(self._outage.failures)

    def _prepare_if_due(self) -> bool:
        """Run ``prepare`` when it has not succeeded yet and a retry is due; True when the
        database is ready."""
        if self._ready.is_set():
            return True
        if not self._retry_now and time.monotonic() < self._next_retry:
            return False
        assert self._prepare is not None
        self._retry_now = False
        try:
            self._prepare()
        except Exception as error:
            self.prepare_error = one_line(error)
            self._mark_down(error)
            return False
        finally:
            self._prepare_tried.set()
        self.prepare_error = None
        self._ready.set()
        if self._outage.ongoing:
            _LOGGER.warning(
                "call log database reachable after %.0f s: schema migrated, replaying %d "
                "spooled bytes",
                self._outage.down_for(time.monotonic()),
                self._spool.size,
            )
        self._outage.recovered(time.monotonic())
        self._db_down = False
        return True

    def _stash(self, records: list[CallRecord]) -> None:
        """Put records in the spool, else in memory up to its bound, else drop them loudly."""
        pending = [*self._memory, *records] if self._memory else records
        try:
            self._spool.append(pending)
        except (SpoolFullError, OSError) as error:
            self._keep_in_memory(records, error)
            return
        self.spooled += len(pending)
        self._memory.clear()
        self._spool_full_logged = False
        self._durable(pending)

    def _keep_in_memory(self, records: list[CallRecord], error: Exception) -> None:
        room = self._max_memory - len(self._memory)
        kept, lost = records[: max(room, 0)], records[max(room, 0) :]
        self._memory.extend(kept)
        if not self._spool_full_logged:
            self._spool_full_logged = True
            _LOGGER.error(
                "call log spool unusable (%s): keeping up to %d records in memory", error, room
            )
        if lost:
            self.dropped += len(lost)
            _LOGGER.error(
                "call log: spool full and %d records already in memory: %d record(s) LOST (%s)",
                len(self._memory),
                len(lost),
                ", ".join(record.call_id for record in lost),
            )

    def _recover_if_due(self) -> None:
        if self._out_of_time or not self._prepare_if_due():
            return
        if self._spool.is_empty and not self._memory:
            if self._db_down and (self._retry_now or time.monotonic() >= self._next_retry):
                # Nothing to replay: let the next batch probe the database directly.
                self._db_down = False
            return
        if self._db_down and not self._retry_now and time.monotonic() < self._next_retry:
            return
        self._retry_now = False
        try:
            self._replay_step()
        except _Unavailable as error:
            self._mark_down(error)
            return
        if self._db_down:
            _LOGGER.warning(
                "call log database reachable again after %.0f s: replaying the spool",
                self._outage.down_for(time.monotonic()),
            )
        self._db_down = False
        self._outage.recovered(time.monotonic())

    def _replay_step(self) -> None:
        """Replay the oldest spool segment, or one batch of the memory backlog."""
        segment = self._spool.oldest()
        if segment is not None:
            records, bad_lines = self._spool.read(segment)
            for start in range(0, len(records), self._batch_size):
                self.replayed += self._save(records[start : start + self._batch_size])
            for line in bad_lines:
                self.failed += 1
                self._spool.reject(line, "unparseable spool line")
                _LOGGER.error("call log: unparseable line in spool segment %s", segment.name)
            self._spool.remove(segment)
            return
        if self._memory:
            chunk = [self._memory[i] for i in range(min(self._batch_size, len(self._memory)))]
            self.replayed += self._save(chunk)
            for _ in chunk:
                self._memory.popleft()
            self._durable(chunk)

    def _final_spool(self, in_hand: list[CallRecord]) -> None:
        leftovers: list[CallRecord] = [*self._memory, *in_hand]
        self._memory.clear()
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                leftovers.append(item)
        while self._overflow:
            leftovers.append(self._overflow.popleft())
        if leftovers:
            try:
                self._spool.append(leftovers)
                self.spooled += len(leftovers)
                self._durable(leftovers)
            except (SpoolFullError, OSError) as error:
                self.dropped += len(leftovers)
                _LOGGER.error(
                    "call log: %d record(s) LOST at shutdown, spool unusable (%s): %s",
                    len(leftovers),
                    error,
                    ", ".join(record.call_id for record in leftovers),
                )
        with self._cond:
            self._outstanding = 0
