"""Validation of call records and their conversion to table rows with derived columns."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from voicebot.calllog import containment
from voicebot.calllog.pseudonymize import Pseudonymizer
from voicebot.calllog.search import call_search_text
from voicebot.records import (
    CallbackRequest,
    CallOutcome,
    CallRecord,
    TransferRecord,
    TurnRecord,
)

TOTAL_TIMING_KEY = "total"
NOT_UNDERSTOOD_INTENT = "none"

# Column widths of models.py: checked here so SQLite (which ignores them) and PostgreSQL
# (which refuses longer values) accept exactly the same records.
_MAX_LENGTHS = {
    "call_id": 64,
    "language": 16,
    "department": 64,
    "channel": 128,
    "intent": 128,
    "runner_up": 128,
    "action": 32,
    "dtmf": 32,
    "target": 64,
    "extension": 64,
    "fallback": 64,
    "caller_number": 64,
    "caller_hash": 64,
}


MAX_FREE_TEXT = 10_000
"""Characters of a transcript, reply or note kept by :func:`storable` (a ten-minute call
says far fewer; anything longer did not come from speech)."""


class InvalidRecordError(ValueError):
    """A call record the call log cannot store; the message names the call and the field."""


def _fail(record: CallRecord, where: str, problem: str) -> InvalidRecordError:
    return InvalidRecordError(f"call record {record.call_id!r}: {where}: {problem}")


def _check_time(record: CallRecord, where: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise _fail(record, where, f"naive datetime {value.isoformat()} (must be timezone-aware)")


def _check_text(record: CallRecord, where: str, name: str, value: str | None) -> None:
    if value is None:
        return
    if name in _MAX_LENGTHS and len(value) > _MAX_LENGTHS[name]:
        raise _fail(record, where, f"{name} longer than {_MAX_LENGTHS[name]} characters")
    # PostgreSQL text cannot hold NUL; refusing it here keeps both dialects alike.
    if "\x00" in value:
        raise _fail(record, where, f"{name} contains a NUL character")


def _check_unit(record: CallRecord, where: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise _fail(record, where, f"asr_confidence {value!r} outside 0..1")


def validate_record(record: CallRecord) -> None:
    """Raise :class:`InvalidRecordError` unless ``record`` can be stored as it is."""
    if not isinstance(record, CallRecord):
        raise TypeError(f"expected a CallRecord, got {type(record).__name__}")
    if not record.call_id:
        raise _fail(record, "call", "empty call_id")
    _check_text(record, "call", "call_id", record.call_id)
    _check_time(record, "call", record.started_at)
    _check_time(record, "call", record.ended_at)
    for name in ("language", "department", "channel", "caller_number", "caller_hash"):
        _check_text(record, "call", name, getattr(record, name))
    if record.outcome not in CallOutcome.__members__.values():
        raise _fail(record, "call", f"unknown outcome {record.outcome!r}")
    seen: set[int] = set()
    for turn in record.turns:
        where = f"turn {turn.index}"
        if turn.call_id != record.call_id:
            raise _fail(record, where, f"belongs to call {turn.call_id!r}")
        if turn.index in seen:
            raise _fail(record, where, "duplicate turn index")
        seen.add(turn.index)
        _check_time(record, where, turn.started_at)
        _check_unit(record, where, turn.asr_confidence)
        for name in ("language", "intent", "runner_up", "action", "dtmf", "transcript"):
            _check_text(record, where, name, getattr(turn, name))
        _check_text(record, where, "reply_text", turn.reply_text)
        for key, value in turn.timings_ms.items():
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise _fail(record, where, f"timing {key!r} is not a finite number: {value!r}")
    for number, transfer in enumerate(record.transfers):
        where = f"transfer {number}"
        if transfer.call_id != record.call_id:
            raise _fail(record, where, f"belongs to call {transfer.call_id!r}")
        _check_time(record, where, transfer.requested_at)
        for name in ("target", "extension", "fallback"):
            _check_text(record, where, name, getattr(transfer, name))
    for number, callback in enumerate(record.callbacks):
        where = f"callback {number}"
        if callback.call_id != record.call_id:
            raise _fail(record, where, f"belongs to call {callback.call_id!r}")
        _check_time(record, where, callback.requested_at)
        for name in ("department", "language", "caller_number", "note"):
            _check_text(record, where, name, getattr(callback, name))


def _clean(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    limit = _MAX_LENGTHS.get(name, MAX_FREE_TEXT)
    value = value.replace("\x00", "")
    return value[:limit] if len(value) > limit else value


def storable(record: CallRecord) -> CallRecord:
    """``record`` with every text storable: NUL removed, identifiers and caller numbers cut
    to their column width, free text cut to :data:`MAX_FREE_TEXT` characters.

    What the PBX (caller ID, channel names) and the recogniser hand over is not under our
    control: a hostile or broken value must cost its own characters, not the call's record.
    """

    def cleaned(item: Any, names: tuple[str, ...]) -> dict[str, Any]:
        return {name: _clean(name, getattr(item, name)) for name in names}

    turn_fields = ("language", "intent", "runner_up", "action", "dtmf", "transcript", "reply_text")
    return replace(
        record,
        **cleaned(record, ("language", "department", "channel", "caller_number")),
        turns=tuple(replace(turn, **cleaned(turn, turn_fields)) for turn in record.turns),
        transfers=tuple(
            replace(t, **cleaned(t, ("target", "extension", "fallback"))) for t in record.transfers
        ),
        callbacks=tuple(
            replace(c, **cleaned(c, ("department", "language", "caller_number", "note")))
            for c in record.callbacks
        ),
    )


def is_contained(record: CallRecord) -> bool:
    """Whether the assistant resolved the call on its own (a *contained resolution*): see
    :mod:`voicebot.calllog.containment` for the rule."""
    return containment.is_contained(
        str(record.outcome),
        (
            containment.TurnFacts(turn.intent, turn.action)
            for turn in sorted(record.turns, key=lambda t: t.index)
        ),
        transfers=len(record.transfers),
        callbacks=len(record.callbacks),
    )


def turn_latency_ms(turn: TurnRecord) -> float | None:
    """Total latency of a turn: ``timings_ms["total"]`` if present, else the stage sum."""
    if not turn.timings_ms:
        return None
    total = turn.timings_ms.get(TOTAL_TIMING_KEY)
    return float(total) if total is not None else float(sum(turn.timings_ms.values()))


def hour_bucket(moment: datetime) -> datetime:
    """``moment`` truncated to its UTC hour (aware, UTC)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def pseudonymised(record: CallRecord, pseudonymizer: Pseudonymizer) -> CallRecord:
    """``record`` with its raw caller number replaced by the number's keyed hash."""
    if record.caller_number is None:
        return record
    return replace(
        record, caller_number=None, caller_hash=pseudonymizer.caller_hash(record.caller_number)
    )


def call_row(record: CallRecord, pseudonymizer: Pseudonymizer) -> dict[str, Any]:
    """The ``calls`` row of a record, caller number replaced by its keyed hash."""
    turns = sorted(record.turns, key=lambda t: t.index)
    confidences = [t.asr_confidence for t in turns if t.asr_confidence is not None]
    duration = (record.ended_at - record.started_at).total_seconds() if record.ended_at else None
    return {
        "call_id": record.call_id,
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "hour_bucket": hour_bucket(record.started_at),
        "duration_s": duration,
        "caller_hash": (
            record.caller_hash
            if record.caller_number is None
            else pseudonymizer.caller_hash(record.caller_number)
        ),
        "language": record.language,
        "outcome": str(record.outcome),
        "department": record.department,
        "channel": record.channel,
        "turn_count": len(turns),
        "first_intent": turns[0].intent if turns else None,
        "last_intent": turns[-1].intent if turns else None,
        "asr_confidence_mean": sum(confidences) / len(confidences) if confidences else None,
        "transfer_count": len(record.transfers),
        "callback_count": len(record.callbacks),
        "contained": is_contained(record),
        "search_text": call_search_text(t.transcript for t in turns),
    }


def turn_row(turn: TurnRecord, call_pk: int) -> dict[str, Any]:
    """The ``turns`` row of a turn record."""
    return {
        "call_pk": call_pk,
        "turn_index": turn.index,
        "started_at": turn.started_at,
        "language": turn.language,
        "transcript": turn.transcript,
        "asr_confidence": turn.asr_confidence,
        "intent": turn.intent,
        "score": turn.score,
        "margin": turn.margin,
        "runner_up": turn.runner_up,
        "action": turn.action,
        "reply_text": turn.reply_text,
        "dtmf": turn.dtmf,
        "timings": dict(turn.timings_ms),
        "latency_ms": turn_latency_ms(turn),
    }


def transfer_row(transfer: TransferRecord, call_pk: int) -> dict[str, Any]:
    """The ``transfers`` row of a transfer record."""
    return {
        "call_pk": call_pk,
        "target": transfer.target,
        "extension": transfer.extension,
        "requested_at": transfer.requested_at,
        "dial_status": str(transfer.dial_status),
        "fallback": transfer.fallback,
        "reason": None if transfer.reason is None else str(transfer.reason),
    }


def callback_row(callback: CallbackRequest, call_pk: int, key: str) -> dict[str, Any]:
    """The ``callbacks`` row of a callback request (pending, raw number kept)."""
    return {
        "call_pk": call_pk,
        "callback_key": key,
        "requested_at": callback.requested_at,
        "department": callback.department,
        "language": callback.language,
        "caller_number": callback.caller_number,
        "note": callback.note,
        "status": "pending",
    }


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)
