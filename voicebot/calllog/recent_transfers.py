"""Transferred calls of the day as the call log has them, for the operator console.

The console's live board only knows the calls its worker heard of since it started; these
rows keep the day's transfers on the page after a reload or a restart. Each call appears
once, with its last transfer (a busy department's call shows the operator it fell back to).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from voicebot.calllog.intents import DIALOG_ACTS
from voicebot.calllog.models import Call, Transfer, Turn
from voicebot.records import TransferReason

MAX_UTTERANCES = 5
_TRANSFER_ACTIONS = ("transfer", "operator", "closed")
"""Turn actions of the turn that decided a transfer (``closed``: the offer that led to it)."""
_NOT_REQUESTS = DIALOG_ACTS


@dataclass(frozen=True, slots=True)
class StoredTransfer:
    """A call's last transfer and what the caller said, from the call log."""

    call_id: str
    requested_at: datetime
    target: str
    extension: str
    reason: TransferReason | None
    dial_status: str
    department: str | None
    """The department the request was about (the call's)."""
    intent: str | None
    """The routing label of the request that led to the transfer."""
    language: str
    outcome: str
    utterances: tuple[str, ...]
    """The caller's words, oldest first (at most :data:`MAX_UTTERANCES`)."""


def recent_transfers(engine: Engine, since: datetime, limit: int = 200) -> list[StoredTransfer]:
    """Calls with a transfer requested at or after ``since``, newest first."""
    last = (
        select(Transfer.call_pk, func.max(Transfer.id).label("transfer_id"))
        .where(Transfer.requested_at >= since)
        .group_by(Transfer.call_pk)
        .subquery()
    )
    query = (
        select(
            Call.id.label("call_pk"),
            Call.call_id,
            Call.department,
            Call.language,
            Call.outcome,
            Transfer.requested_at,
            Transfer.target,
            Transfer.extension,
            Transfer.reason,
            Transfer.dial_status,
        )
        .select_from(Call)
        .join(last, last.c.call_pk == Call.id)
        .join(Transfer, Transfer.id == last.c.transfer_id)
        .order_by(Transfer.requested_at.desc(), Transfer.id.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
        pks = [row.call_pk for row in rows]
        turns = connection.execute(
            select(Turn.call_pk, Turn.intent, Turn.action, Turn.transcript)
            .where(Turn.call_pk.in_(pks))
            .order_by(Turn.call_pk, Turn.turn_index)
        ).all()
    said: dict[int, list[str]] = {}
    request: dict[int, str] = {}
    for turn in turns:
        if turn.transcript and turn.intent not in _NOT_REQUESTS:
            said.setdefault(turn.call_pk, []).append(turn.transcript)
        if turn.action in _TRANSFER_ACTIONS and turn.intent not in _NOT_REQUESTS:
            request[turn.call_pk] = turn.intent
    return [
        StoredTransfer(
            call_id=row.call_id,
            requested_at=row.requested_at,
            target=row.target,
            extension=row.extension,
            reason=None if row.reason is None else TransferReason(row.reason),
            dial_status=row.dial_status,
            department=row.department,
            intent=request.get(row.call_pk),
            language=row.language,
            outcome=row.outcome,
            utterances=tuple(said.get(row.call_pk, [])[-MAX_UTTERANCES:]),
        )
        for row in rows
    ]
