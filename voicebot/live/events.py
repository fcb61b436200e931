"""Typed call events: what a call session tells the rest of the process while the call runs.

The session produces them; the live bus carries them between worker processes, the
metrics observer counts them and the operator console shows them. Each kind is a frozen
dataclass with its :class:`CallEventType`. :func:`encode_event` and :func:`decode_event`
are the bus's wire form, which keeps the call's AudioSocket UUID (it never leaves the
servers); :func:`public_event` is what staff's browsers and API clients get, with the UUID
replaced by the one-way :func:`call_key` (a UUID would let anyone who reaches the media
port drive the call).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import TypeAdapter, ValidationError

from voicebot.records import TransferReason

MAX_EVENT_BYTES = 64 * 1024
"""Largest event the bus carries (a turn's words, a callback note)."""


class CallEventType(StrEnum):
    """What happened in a call (the ``type`` of an event on the wire)."""

    CALL_STARTED = "call_started"
    TURN = "turn"
    TRANSFER_DECIDED = "transfer_decided"
    """The assistant decided to put the caller through (the announcement follows)."""
    TRANSFER = "transfer"
    """The transfer is being sent to the PBX now."""
    CALLBACK_REQUESTED = "callback_requested"
    CALL_ENDED = "call_ended"


class LiveEventError(ValueError):
    """An event that cannot be published or read; the message says what is wrong."""


def call_key(call_id: str) -> str:
    """The opaque key staff see instead of a call's AudioSocket UUID (one-way)."""
    return "c_" + hashlib.sha256(call_id.encode("utf-8")).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class CallStartedEvent:
    """A call reached the assistant."""

    call_id: str
    """The AudioSocket UUID: kept inside the servers (see :func:`public_event`)."""
    at: datetime
    language: str
    """The language the assistant greets in."""

    type: ClassVar[CallEventType] = CallEventType.CALL_STARTED


@dataclass(frozen=True, slots=True)
class TurnEvent:
    """One exchange was recorded: what the caller said and what the assistant did."""

    call_id: str
    at: datetime
    index: int
    language: str
    intent: str
    """Routing label or dialog intent (``population``, ``faq:parking``, ``none``, ``dtmf:2``)."""
    action: str
    """``TurnAction`` value: answer, transfer, clarify, ..."""
    transcript: str | None = None
    reply_text: str | None = None
    score: float | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    """Stage timings (``reply_ready_ms``, ``asr_decode_ms``, ``audio_ms``, ...)."""

    type: ClassVar[CallEventType] = CallEventType.TURN


@dataclass(frozen=True, slots=True)
class TransferFacts:
    """What both transfer events say: where the caller goes, and why."""

    call_id: str
    at: datetime
    target: str
    """Department id or ``operator``."""
    extension: str
    reason: TransferReason
    """Why the call goes to ``target`` (asked for it, keypad, department busy, ...)."""
    department: str | None
    """The department the request is about (also when the call goes to the operator)."""
    intent: str
    """The routing label of the request (department id, ``operator``, ``faq:<id>``)."""
    language: str
    summary: str
    """The assistant's excerpt of the request."""
    utterances: tuple[str, ...] = ()
    """The caller's requests, oldest first."""


@dataclass(frozen=True, slots=True)
class TransferDecidedEvent(TransferFacts):
    """The assistant decided where the caller goes; a console card appears now."""

    type: ClassVar[CallEventType] = CallEventType.TRANSFER_DECIDED


@dataclass(frozen=True, slots=True)
class TransferEvent(TransferFacts):
    """The transfer decided before is being sent to the PBX."""

    type: ClassVar[CallEventType] = CallEventType.TRANSFER


@dataclass(frozen=True, slots=True)
class CallbackRequestedEvent:
    """The caller asked to be called back; operators can act on it from now on."""

    call_id: str
    at: datetime
    callback_key: str
    """The request's key in the callback queue (known before the call's record is)."""
    requested_at: datetime
    department: str | None
    language: str
    caller_number: str | None
    """The number to call back: operators see it."""
    note: str | None

    type: ClassVar[CallEventType] = CallEventType.CALLBACK_REQUESTED


@dataclass(frozen=True, slots=True)
class CallEndedEvent:
    """The assistant's part of the call is over (its record goes to the call log)."""

    call_id: str
    at: datetime
    outcome: str
    """``CallOutcome`` value."""
    department: str | None
    turns: int

    type: ClassVar[CallEventType] = CallEventType.CALL_ENDED


CallEvent = (
    CallStartedEvent
    | TurnEvent
    | TransferDecidedEvent
    | TransferEvent
    | CallbackRequestedEvent
    | CallEndedEvent
)
"""Every event a call session publishes."""

_CLASSES: dict[str, type[CallEvent]] = {
    str(cls.type): cls
    for cls in (
        CallStartedEvent,
        TurnEvent,
        TransferDecidedEvent,
        TransferEvent,
        CallbackRequestedEvent,
        CallEndedEvent,
    )
}
_ADAPTERS: dict[str, TypeAdapter[Any]] = {kind: TypeAdapter(cls) for kind, cls in _CLASSES.items()}


def event_json(event: CallEvent) -> dict[str, Any]:
    """The event as a JSON object (``type`` first, times in ISO 8601), UUID included."""
    data: dict[str, Any] = {"type": str(event.type)}
    for item in dataclasses.fields(event):
        value = getattr(event, item.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, dict):
            value = dict(value)
        data[item.name] = value
    return data


def public_event(event: CallEvent) -> dict[str, Any]:
    """What staff get: :func:`event_json` with ``call_key`` in place of ``call_id``."""
    data = event_json(event)
    data["call_key"] = call_key(data.pop("call_id"))
    return data


def encode_event(event: CallEvent) -> str:
    """The bus's JSON text of ``event``; raises :class:`LiveEventError` when too large."""
    if not isinstance(event, tuple(_CLASSES.values())):
        raise LiveEventError(f"not a call event: {type(event).__name__}")
    if not event.call_id:
        raise LiveEventError(f"{event.type} event without a call id")
    text = json.dumps(event_json(event), ensure_ascii=False)
    if len(text.encode("utf-8")) > MAX_EVENT_BYTES:
        raise LiveEventError(f"live event {event.type!r} is larger than {MAX_EVENT_BYTES} B")
    return text


def decode_event(text: str | bytes) -> CallEvent:
    """The event of :func:`encode_event`'s text; raises :class:`LiveEventError` naming what
    is wrong (not JSON, unknown type, a missing or mistyped field)."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise LiveEventError(f"live event is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise LiveEventError(f"live event must be a JSON object, got {type(data).__name__}")
    kind = data.pop("type", None)
    adapter = _ADAPTERS.get(kind) if isinstance(kind, str) else None
    if adapter is None:
        raise LiveEventError(f"live event type {kind!r} is not one of {', '.join(_CLASSES)}")
    try:
        event: CallEvent = adapter.validate_python(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise LiveEventError(f"live event {kind!r}, field {where!r}: {first['msg']}") from None
    return event
