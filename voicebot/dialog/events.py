"""What the call session tells the dialog: things that happened, each stamped with its time.

The dialog never reads a clock: every event carries ``at`` (a timezone-aware datetime)
and the dialog derives durations, opening hours and record timestamps from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from voicebot.records import TransferStatus
from voicebot.routing.decision import RouteDecision

DTMF_DIGITS = frozenset("0123456789*#ABCD")


@dataclass(frozen=True, slots=True)
class CallStarted:
    """A call was answered and its audio is connected: greet the caller."""

    at: datetime
    call_id: str
    """The AudioSocket UUID: every record of the call carries it."""
    caller_number: str | None = None
    """Raw caller number; None when withheld (then no callback can be offered)."""
    language: str | None = None
    """Language to greet in (e.g. from the dialled number); None or not offered: the default."""
    channel: str | None = None
    """Asterisk channel name, copied into the call record."""


@dataclass(frozen=True, slots=True)
class Utterance:
    """The recognizer finished an utterance; the session has already routed it."""

    at: datetime
    text: str
    """Transcript as the recognizer produced it (lower case, no punctuation is fine)."""
    confidence: float | None = None
    """Mean word confidence 0..1; None when the recognizer gives none."""
    language: str | None = None
    """Language the utterance was recognised in; None: the dialog's current language."""
    decision: RouteDecision | None = None
    """The router's decision for ``text``; None when the session did not route it."""
    timings_ms: dict[str, float] = field(default_factory=dict)
    """Stage timings measured by the session (endpointing, asr, routing...), copied to the turn."""


@dataclass(frozen=True, slots=True)
class DtmfDigit:
    """The caller pressed a key."""

    at: datetime
    digit: str
    """One of ``0-9 * # A-D``."""


@dataclass(frozen=True, slots=True)
class SilenceTimeout:
    """The caller said nothing for the session's silence timeout while the dialog was listening."""

    at: datetime


@dataclass(frozen=True, slots=True)
class Hangup:
    """The caller's side is gone (hang-up frame, socket closed, or the channel left us)."""

    at: datetime


@dataclass(frozen=True, slots=True)
class TransferResult:
    """Asterisk's DIALSTATUS for the last ``Transfer`` action."""

    at: datetime
    status: TransferStatus


@dataclass(frozen=True, slots=True)
class PlaybackFinished:
    """All audio of the ``Play`` with this id (and of every earlier one) has been played."""

    at: datetime
    play_id: int
    """``Play.play_id`` of the play whose audio ended; never sent for stopped plays."""


@dataclass(frozen=True, slots=True)
class BargeIn:
    """The caller started speaking while the assistant was talking."""

    at: datetime


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passes (sent periodically, e.g. every second): checks the maximum call duration."""

    at: datetime


@dataclass(frozen=True, slots=True)
class TransferImpossible:
    """The PBX could not be asked to put the caller through (AMI down, channel unknown, a
    value it refused): the assistant leaves the call to the dialplan, whose own fallback
    dials the operator."""

    at: datetime
    reason: str
    """What failed, for the log and the live events."""
    audible: bool = False
    """The caller still hears the assistant (AudioSocket open): an apology can be said
    before the dialplan takes over. False once the line is gone: nothing is said."""


@dataclass(frozen=True, slots=True)
class AudioTakenByDialplan:
    """Asterisk ended AudioSocket by itself (its 2 s inactivity timeout, a stream it could
    not read) and the caller is still on the line: the dialplan, finding no ``VB_DONE``,
    puts the caller through to the operator and reports that dial like a transfer's."""

    at: datetime


Event = (
    CallStarted
    | Utterance
    | DtmfDigit
    | SilenceTimeout
    | Hangup
    | TransferResult
    | TransferImpossible
    | AudioTakenByDialplan
    | PlaybackFinished
    | BargeIn
    | Tick
)
"""Everything :meth:`voicebot.dialog.machine.Dialog.handle` accepts."""


class DialogError(ValueError):
    """An event the dialog cannot accept (wrong order, bad value, label unknown to the KB)."""


def check_event(event: Event) -> None:
    """Reject a malformed event with a message naming the field."""
    name = type(event).__name__
    at = event.at
    if at.tzinfo is None or at.utcoffset() is None:
        raise DialogError(f"{name}.at: naive datetime {at.isoformat()} (must be timezone-aware)")
    if isinstance(event, CallStarted) and not event.call_id:
        raise DialogError("CallStarted.call_id: empty")
    confidence = event.confidence if isinstance(event, Utterance) else None
    if confidence is not None and not 0.0 <= confidence <= 1.0:
        raise DialogError(f"Utterance.confidence: {confidence!r} outside 0..1")
    if isinstance(event, DtmfDigit) and event.digit not in DTMF_DIGITS:
        raise DialogError(f"DtmfDigit.digit: {event.digit!r} is not a telephone key")
    if isinstance(event, TransferResult) and event.status is TransferStatus.PENDING:
        raise DialogError("TransferResult.status: PENDING is not a dial result")
