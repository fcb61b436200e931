"""Plain read-side views of stored calls, returned by the repository (no ORM state)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from voicebot.calllog.models import CallbackStatus
from voicebot.records import CallOutcome, TransferReason, TransferStatus


@dataclass(frozen=True, slots=True)
class CallSummary:
    """One row of the calls list."""

    call_id: str
    started_at: datetime
    ended_at: datetime | None
    duration_s: float | None
    caller_hash: str | None
    """Keyed hash of the caller number (the same caller always gets the same hash)."""
    language: str
    outcome: CallOutcome
    department: str | None
    channel: str | None
    turn_count: int
    first_intent: str | None
    last_intent: str | None
    asr_confidence_mean: float | None
    transfer_count: int
    callback_count: int
    contained: bool


@dataclass(frozen=True, slots=True)
class CallPage:
    """A page of calls and the total number matching the filter."""

    items: tuple[CallSummary, ...]
    total: int | None
    """None when counting was given up (see ``CallLogRepository.list_calls``)."""
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class TurnView:
    """A stored turn; ``transcript``, ``reply_text`` and ``dtmf`` are None once purged."""

    index: int
    started_at: datetime
    language: str
    transcript: str | None
    asr_confidence: float | None
    intent: str
    score: float | None
    margin: float | None
    action: str
    reply_text: str | None
    dtmf: str | None
    latency_ms: float | None
    timings_ms: dict[str, Any] = field(default_factory=dict)
    runner_up: str | None = None
    """The best target other than ``intent`` (scored ``score - margin``)."""


@dataclass(frozen=True, slots=True)
class TransferView:
    """A stored transfer attempt."""

    target: str
    extension: str
    requested_at: datetime
    dial_status: TransferStatus
    fallback: str | None
    reason: TransferReason | None = None
    """Why the call went to ``target`` (None: stored before reasons were)."""


@dataclass(frozen=True, slots=True)
class CallbackView:
    """A callback request as operators see it (raw number included: operator role only)."""

    id: int
    call_id: str
    requested_at: datetime
    department: str | None
    language: str
    caller_number: str | None
    note: str | None
    status: CallbackStatus
    done_at: datetime | None
    """When it was closed (called back or done); None while open."""
    done_by: str | None
    callback_key: str | None = None
    """The request's key (see :mod:`voicebot.calllog.callbacks`); None for very old rows."""
    attempts: int = 0
    """Calls back without an answer so far."""


@dataclass(frozen=True, slots=True)
class CallDetail:
    """A call with everything recorded about it."""

    call: CallSummary
    turns: tuple[TurnView, ...]
    transfers: tuple[TransferView, ...]
    callbacks: tuple[CallbackView, ...]
