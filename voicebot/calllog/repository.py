"""Synchronous data access to the call log: idempotent batch saves and the API's queries."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    false,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.exc import OperationalError

from voicebot.calllog.callbacks import CallbackQueue, callback_key, lock_and_reconcile
from voicebot.calllog.filters import DEFAULT_SORT, CallFilter, order_by
from voicebot.calllog.models import Call, Callback, CallbackStatus, Transfer, Turn
from voicebot.calllog.pseudonymize import Pseudonymizer
from voicebot.calllog.rollups import CALLBACKS, CALLS, TRANSFERS, TURNS, add_to_rollups, insert_for
from voicebot.calllog.rows import (
    call_row,
    callback_row,
    pseudonymised,
    transfer_row,
    turn_row,
    validate_record,
)
from voicebot.calllog.views import (
    CallbackView,
    CallDetail,
    CallPage,
    CallSummary,
    TransferView,
    TurnView,
)
from voicebot.records import CallOutcome, CallRecord, TransferReason, TransferStatus

_LOGGER = logging.getLogger(__name__)

MAX_PAGE_SIZE = 1000
QUERY_CANCELED = "57014"
"""PostgreSQL's SQLSTATE for a statement stopped by ``statement_timeout``."""
SAVE_TIMEOUT_MS = 30_000
"""Longest a batch insert may wait on PostgreSQL (locks included) before it fails."""

AnyRow = Row[*tuple[Any, ...]]

SUMMARY_COLUMNS = (
    Call.call_id,
    Call.started_at,
    Call.ended_at,
    Call.duration_s,
    Call.caller_hash,
    Call.language,
    Call.outcome,
    Call.department,
    Call.channel,
    Call.turn_count,
    Call.first_intent,
    Call.last_intent,
    Call.asr_confidence_mean,
    Call.transfer_count,
    Call.callback_count,
    Call.contained,
)

CALLBACK_COLUMNS = (
    Callback.id,
    Call.call_id,
    Callback.requested_at,
    Callback.department,
    Callback.language,
    Callback.caller_number,
    Callback.note,
    Callback.status,
    Callback.done_at,
    Callback.done_by,
    Callback.callback_key,
    Callback.attempts,
)


class CallbackNotFoundError(LookupError):
    """No callback request has the given id."""


def summary_from_row(row: AnyRow) -> CallSummary:
    """A :class:`CallSummary` from a row selected with :data:`SUMMARY_COLUMNS`."""
    values = row._asdict()
    values.pop("id", None)
    values["outcome"] = CallOutcome(values["outcome"])
    values["contained"] = bool(values["contained"])
    return CallSummary(**values)


def _callback_from_row(row: AnyRow) -> CallbackView:
    values = row._asdict()
    values["status"] = CallbackStatus(values["status"])
    return CallbackView(**values)


def _callback_conditions(
    status: CallbackStatus | Iterable[CallbackStatus] | None,
    departments: Iterable[str | None] | None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if status is not None:
        wanted = [status] if isinstance(status, CallbackStatus) else list(status)
        conditions.append(Callback.status.in_([CallbackStatus(s).value for s in wanted]))
    if departments is not None:
        chosen = list(departments)
        named = [d for d in chosen if d is not None]
        either = [Callback.department.in_(named)] if named else []
        if None in chosen:
            either.append(Callback.department.is_(None))
        conditions.append(or_(*either) if either else false())
    return conditions


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit {limit}: must be between 1 and {MAX_PAGE_SIZE}")
    if offset < 0:
        raise ValueError(f"offset {offset}: must not be negative")


class CallLogRepository:
    """Stores call records and answers the calls/callbacks queries of the API."""

    def __init__(self, engine: Engine, pseudonymizer: Pseudonymizer) -> None:
        self.engine = engine
        self._pseudonymizer = pseudonymizer

    def caller_hash(self, raw: str | None) -> str | None:
        """The keyed hash the call log stores for caller number ``raw``."""
        return self._pseudonymizer.caller_hash(raw)

    def pseudonymised(self, record: CallRecord) -> CallRecord:
        """``record`` as it may be queued and spooled: the caller number as its keyed hash."""
        return pseudonymised(record, self._pseudonymizer)

    def save_calls(self, batch: Iterable[CallRecord]) -> int:
        """Store a batch in one transaction; calls already stored are skipped.

        Returns how many calls were newly inserted. Raises :class:`InvalidRecordError` (before
        touching the database) if a record cannot be stored, and SQLAlchemy errors as they
        come (``OperationalError`` when the database is unreachable): then nothing is written.
        """
        unique: dict[str, CallRecord] = {}
        for record in batch:
            validate_record(record)
            unique.setdefault(record.call_id, record)
        if not unique:
            return 0
        rows = [call_row(record, self._pseudonymizer) for record in unique.values()]
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # A lock held elsewhere must not stall the writer forever: fail, spool, retry.
                connection.execute(text(f"SET LOCAL statement_timeout = {SAVE_TIMEOUT_MS}"))
            statement = (
                insert_for(connection, CALLS)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["call_id"])
                .returning(Call.id, Call.call_id)
            )
            inserted = {call_id: pk for pk, call_id in connection.execute(statement)}
            if inserted:
                self._insert_children(connection, unique, inserted)
                add_to_rollups(connection, sorted(inserted.values()))
        skipped = len(unique) - len(inserted)
        if skipped:
            _LOGGER.debug("call log: %d call(s) already stored, skipped", skipped)
        return len(inserted)

    @staticmethod
    def _insert_children(
        connection: Connection, records: dict[str, CallRecord], inserted: dict[str, int]
    ) -> None:
        turns: list[dict[str, Any]] = []
        transfers: list[dict[str, Any]] = []
        callbacks: list[dict[str, Any]] = []
        for call_id, pk in inserted.items():
            record = records[call_id]
            turns.extend(turn_row(turn, pk) for turn in record.turns)
            transfers.extend(transfer_row(transfer, pk) for transfer in record.transfers)
            callbacks.extend(
                callback_row(callback, pk, callback_key(call_id, index))
                for index, callback in enumerate(record.callbacks)
            )
        for table, rows in (
            (TURNS, turns),
            (TRANSFERS, transfers),
            (CALLBACKS, callbacks),
        ):
            if rows:
                connection.execute(table.insert(), rows)
        if callbacks:
            # Operators may have acted on these requests while the call was still going on.
            lock_and_reconcile(connection, [row["callback_key"] for row in callbacks])

    def list_calls(
        self,
        filters: CallFilter | None = None,
        *,
        sort: str = DEFAULT_SORT,
        limit: int = 50,
        offset: int = 0,
        count_within_ms: int | None = None,
    ) -> CallPage:
        """A page of calls matching ``filters``, sorted by a whitelisted key, with the total.

        With ``count_within_ms`` (PostgreSQL), counting the matches is given up after that
        long and the total is None: a page must not wait a second to say "of 18,342" when
        the fifty calls it lists took 20 ms. SQLite always counts.
        """
        _check_page(limit, offset)
        conditions = (filters or CallFilter()).conditions(self.engine.dialect.name)
        query = (
            select(*SUMMARY_COLUMNS)
            .where(*conditions)
            .order_by(*order_by(sort))
            .limit(limit)
            .offset(offset)
        )
        count = select(func.count()).select_from(CALLS).where(*conditions)
        with self.engine.connect() as connection:
            items = tuple(summary_from_row(row) for row in connection.execute(query))
            total = self._count(connection, count, count_within_ms)
        return CallPage(items=items, total=total, limit=limit, offset=offset)

    def _count(self, connection: Connection, count: Any, within_ms: int | None) -> int | None:
        if within_ms is None or connection.dialect.name != "postgresql":
            return int(connection.execute(count).scalar_one())
        # For the rest of this read-only transaction only, i.e. for the count alone.
        connection.execute(text(f"SET LOCAL statement_timeout = {int(within_ms)}"))
        try:
            return int(connection.execute(count).scalar_one())
        except OperationalError as error:
            if getattr(error.orig, "sqlstate", None) != QUERY_CANCELED:
                raise
        _LOGGER.debug("calls count given up after %d ms", within_ms)
        return None

    def get_call(self, call_id: str) -> CallDetail | None:
        """Everything stored about one call, or None if the call id is unknown."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(Call.id, *SUMMARY_COLUMNS).where(Call.call_id == call_id)
            ).first()
            if row is None:
                return None
            pk = row.id
            summary = summary_from_row(row)
            turns = connection.execute(
                select(Turn).where(Turn.call_pk == pk).order_by(Turn.turn_index)
            ).all()
            transfers = connection.execute(
                select(Transfer).where(Transfer.call_pk == pk).order_by(Transfer.id)
            ).all()
            callbacks = connection.execute(
                select(*CALLBACK_COLUMNS)
                .join(Call, Callback.call_pk == Call.id)
                .where(Callback.call_pk == pk)
                .order_by(Callback.id)
            ).all()
        return CallDetail(
            call=summary,
            turns=tuple(
                TurnView(
                    index=t.turn_index,
                    started_at=t.started_at,
                    language=t.language,
                    transcript=t.transcript,
                    asr_confidence=t.asr_confidence,
                    intent=t.intent,
                    score=t.score,
                    margin=t.margin,
                    action=t.action,
                    reply_text=t.reply_text,
                    dtmf=t.dtmf,
                    latency_ms=t.latency_ms,
                    timings_ms=dict(t.timings),
                    runner_up=t.runner_up,
                )
                for t in turns
            ),
            transfers=tuple(
                TransferView(
                    target=t.target,
                    extension=t.extension,
                    requested_at=t.requested_at,
                    dial_status=TransferStatus(t.dial_status),
                    fallback=t.fallback,
                    reason=None if t.reason is None else TransferReason(t.reason),
                )
                for t in transfers
            ),
            callbacks=tuple(_callback_from_row(c) for c in callbacks),
        )

    def list_callbacks(
        self,
        status: CallbackStatus | Iterable[CallbackStatus] | None = CallbackStatus.PENDING,
        *,
        departments: Iterable[str | None] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[CallbackView]:
        """Callback requests, oldest first; ``status=None`` lists them all.

        ``departments`` keeps the requests for those departments (None in it: the ones for
        the operator desk, with no department).
        """
        _check_page(limit, offset)
        query = (
            select(*CALLBACK_COLUMNS)
            .join(Call, Callback.call_pk == Call.id)
            .where(*_callback_conditions(status, departments))
            .order_by(Callback.requested_at, Callback.id)
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as connection:
            return [_callback_from_row(row) for row in connection.execute(query)]

    def count_callbacks(
        self,
        status: CallbackStatus | Iterable[CallbackStatus] | None = CallbackStatus.PENDING,
        *,
        departments: Iterable[str | None] | None = None,
    ) -> int:
        """How many callback requests have ``status`` (all when None)."""
        query = (
            select(func.count())
            .select_from(CALLBACKS)
            .where(*_callback_conditions(status, departments))
        )
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def get_callback(self, key: str) -> CallbackView | None:
        """The stored request with this key (None: unknown, or its call not recorded yet)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(*CALLBACK_COLUMNS)
                .join(Call, Callback.call_pk == Call.id)
                .where(Callback.callback_key == key)
            ).first()
        return _callback_from_row(row) if row is not None else None

    def mark_callback_done(
        self, callback_id: int, *, done_by: str | None = None, now: datetime | None = None
    ) -> CallbackView:
        """Close a request as done (kept in its history) and return it; a closed one is
        returned unchanged.

        Raises :class:`CallbackNotFoundError` when no callback has this id.
        """
        with self.engine.connect() as connection:
            key = connection.execute(
                select(Callback.callback_key).where(Callback.id == callback_id)
            ).first()
        if key is None or key[0] is None:
            raise CallbackNotFoundError(f"no callback request with id {callback_id}")
        CallbackQueue(self.engine).set_status(
            key[0], CallbackStatus.DONE, done_by or "unknown", now=now
        )
        view = self.get_callback(key[0])
        assert view is not None  # the row was there a moment ago; callbacks are never deleted
        return view
