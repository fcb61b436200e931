"""The operators' work on callback requests: statuses, who did what, undo.

A request is identified by its ``callback_key``, known from the moment the caller asks (the
live event carries it), so an operator may act on it before the call ends and its record,
with the ``callbacks`` row, is written. Each status change is a ``callback_updates`` row;
the row's ``status``, ``attempts``, ``done_at`` and ``done_by`` are derived from the changes
not undone (:func:`reconcile`), both when an operator acts and when the call's record
arrives, under a per-request lock on PostgreSQL so neither can miss the other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, insert, select, text, update

from voicebot.calllog.models import OPEN_CALLBACK_STATUSES, Callback, CallbackStatus
from voicebot.calllog.rows import utc_now
from voicebot.calllog.staff_models import CallbackUpdate

CLOSED_STATUSES = frozenset({CallbackStatus.CALLED_BACK, CallbackStatus.DONE})
SETTABLE_STATUSES = frozenset(
    {CallbackStatus.NO_ANSWER, CallbackStatus.CALLED_BACK, CallbackStatus.DONE}
)
MAX_KEY_LENGTH = 100


class CallbackStateError(ValueError):
    """The change does not apply to the request as it is (the message says why)."""


class NothingToUndoError(LookupError):
    """The request has no change left to undo."""


def callback_key(call_id: str, index: int) -> str:
    """The key of the ``index``-th callback request (from 0) of a call.

    A one-way hash: operators' browsers get the key, never the call's AudioSocket UUID,
    which would let anyone who can connect to the media port drive the call.
    """
    digest = hashlib.sha256(f"{call_id}#{index}".encode()).hexdigest()
    return f"cb_{digest[:24]}"


@dataclass(frozen=True, slots=True)
class CallbackChange:
    """One status change of a request."""

    id: int
    callback_key: str
    at: datetime
    actor: str
    status: CallbackStatus
    previous_status: CallbackStatus
    undone_at: datetime | None


@dataclass(frozen=True, slots=True)
class CallbackState:
    """Where a request stands, from its changes (whether or not its row exists yet)."""

    callback_key: str
    status: CallbackStatus
    attempts: int
    handled_at: datetime | None
    """Time of the last change in force (None: nobody acted yet)."""
    handled_by: str | None
    stored: bool
    """Whether the call's record (and so the request's row) is in the database."""

    @property
    def is_open(self) -> bool:
        """Whether the request still waits for an operator."""
        return self.status in OPEN_CALLBACK_STATUSES


def _lock(connection: Connection, keys: Iterable[str]) -> None:
    if connection.dialect.name != "postgresql":
        return  # SQLite runs one writer at a time: the transactions are serialised anyway
    for key in sorted(set(keys)):  # one order everywhere: no deadlock between two callers
        connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
        )


def _change(row: Row[Any]) -> CallbackChange:
    return CallbackChange(
        id=row.id,
        callback_key=row.callback_key,
        at=row.at,
        actor=row.actor,
        status=CallbackStatus(row.status),
        previous_status=CallbackStatus(row.previous_status),
        undone_at=row.undone_at,
    )


def _changes(connection: Connection, key: str) -> list[CallbackChange]:
    rows = connection.execute(
        select(CallbackUpdate).where(CallbackUpdate.callback_key == key).order_by(CallbackUpdate.id)
    ).all()
    return [_change(row) for row in rows]


def _state(key: str, changes: list[CallbackChange], stored: bool) -> CallbackState:
    in_force = [change for change in changes if change.undone_at is None]
    last = in_force[-1] if in_force else None
    return CallbackState(
        callback_key=key,
        status=last.status if last else CallbackStatus.PENDING,
        attempts=sum(1 for change in in_force if change.status is CallbackStatus.NO_ANSWER),
        handled_at=last.at if last else None,
        handled_by=last.actor if last else None,
        stored=stored,
    )


def reconcile(connection: Connection, keys: Iterable[str]) -> None:
    """Bring the rows of ``keys`` in line with their changes (inside the caller's
    transaction, after :func:`_lock`); keys without changes are left as stored."""
    wanted = list(keys)
    if not wanted:
        return
    touched = set(
        connection.execute(
            select(CallbackUpdate.callback_key)
            .where(CallbackUpdate.callback_key.in_(wanted))
            .distinct()
        ).scalars()
    )
    for key in sorted(touched):
        state = _state(key, _changes(connection, key), stored=True)
        closed = state.status in CLOSED_STATUSES
        connection.execute(
            update(Callback)
            .where(Callback.callback_key == key)
            .values(
                status=state.status.value,
                attempts=state.attempts,
                done_at=state.handled_at if closed else None,
                done_by=state.handled_by if closed else None,
            )
        )


def lock_and_reconcile(connection: Connection, keys: Iterable[str]) -> None:
    """For the call log's save: apply changes operators made before the record arrived."""
    wanted = list(keys)
    _lock(connection, wanted)
    reconcile(connection, wanted)


class CallbackQueue:
    """Status changes, undo and history of callback requests."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def state(self, key: str) -> CallbackState:
        """Where the request stands now."""
        _check_key(key)
        with self.engine.connect() as connection:
            return self._current(connection, key)

    def states(self, keys: Iterable[str]) -> dict[str, CallbackState]:
        """Where each of ``keys`` stands, in two queries (for a page of requests)."""
        wanted = sorted({key for key in keys if key})
        if not wanted:
            return {}
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(CallbackUpdate)
                .where(CallbackUpdate.callback_key.in_(wanted))
                .order_by(CallbackUpdate.id)
            ).all()
            stored = set(
                connection.execute(
                    select(Callback.callback_key).where(Callback.callback_key.in_(wanted))
                ).scalars()
            )
        changes: dict[str, list[CallbackChange]] = {}
        for row in rows:
            changes.setdefault(row.callback_key, []).append(_change(row))
        return {key: _state(key, changes.get(key, []), key in stored) for key in wanted}

    def history(self, key: str) -> list[CallbackChange]:
        """Every change of the request, oldest first (undone ones included, marked)."""
        _check_key(key)
        with self.engine.connect() as connection:
            return _changes(connection, key)

    def set_status(
        self, key: str, status: CallbackStatus, actor: str, *, now: datetime | None = None
    ) -> CallbackState:
        """Record an operator's outcome: no answer (try again later), called back, or done.

        A closed request (called back or done) asked to close again is returned unchanged;
        reopening one goes through :meth:`undo`.
        """
        _check_key(key)
        if status not in SETTABLE_STATUSES:
            allowed = ", ".join(sorted(s.value for s in SETTABLE_STATUSES))
            raise CallbackStateError(f"status {status.value!r}: must be one of {allowed}")
        with self.engine.begin() as connection:
            _lock(connection, [key])
            current = self._current(connection, key)
            if current.status in CLOSED_STATUSES:
                if status in CLOSED_STATUSES:
                    return current
                raise CallbackStateError(
                    f"this request is already closed ({current.status.value} by "
                    f"{current.handled_by}); undo that first"
                )
            connection.execute(
                insert(CallbackUpdate).values(
                    callback_key=key,
                    at=now or utc_now(),
                    actor=actor,
                    status=status.value,
                    previous_status=current.status.value,
                )
            )
            reconcile(connection, [key])
            return self._current(connection, key)

    def undo(self, key: str, actor: str, *, now: datetime | None = None) -> CallbackState:
        """Take back the last change in force (a click on the wrong row, a wrong outcome)."""
        _check_key(key)
        with self.engine.begin() as connection:
            _lock(connection, [key])
            in_force = [c for c in _changes(connection, key) if c.undone_at is None]
            if not in_force:
                raise NothingToUndoError("this request has no change to undo")
            connection.execute(
                update(CallbackUpdate)
                .where(CallbackUpdate.id == in_force[-1].id)
                .values(undone_at=now or utc_now())
            )
            reconcile(connection, [key])
            return self._current(connection, key)

    @staticmethod
    def _current(connection: Connection, key: str) -> CallbackState:
        stored = (
            connection.execute(
                select(func.count()).select_from(Callback).where(Callback.callback_key == key)
            ).scalar_one()
            > 0
        )
        return _state(key, _changes(connection, key), stored)


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        raise CallbackStateError(f"callback key: 1 to {MAX_KEY_LENGTH} characters, no NUL")
