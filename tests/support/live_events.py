"""Call events as a call session publishes them, with the defaults tests do not care about."""

from __future__ import annotations

from voicebot.calllog.rows import utc_now
from voicebot.live.events import (
    CallbackRequestedEvent,
    CallEndedEvent,
    CallStartedEvent,
    TransferDecidedEvent,
    TransferEvent,
    TurnEvent,
)
from voicebot.records import TransferReason


def started(call_id: str, language: str = "fr") -> CallStartedEvent:
    """The call reached the assistant."""
    return CallStartedEvent(call_id, utc_now(), language)


def turn(
    call_id: str, transcript: str, index: int = 0, intent: str = "none", action: str = "prompt"
) -> TurnEvent:
    """A turn in which the caller said ``transcript``."""
    return TurnEvent(call_id, utc_now(), index, "fr", intent, action, transcript=transcript)


def transfer(
    call_id: str,
    *,
    decided: bool = False,
    target: str = "population",
    department: str | None = "population",
    reason: TransferReason = TransferReason.ROUTED,
    utterances: tuple[str, ...] = (),
    summary: str = "renouveler une carte d'identité",
    extension: str = "2001",
    intent: str | None = None,
    language: str = "fr",
) -> TransferEvent | TransferDecidedEvent:
    """A transfer sent to the PBX (``decided``: the decision before the announcement)."""
    kind = TransferDecidedEvent if decided else TransferEvent
    return kind(
        call_id=call_id,
        at=utc_now(),
        target=target,
        extension=extension,
        reason=reason,
        department=department,
        intent=intent or department or target,
        language=language,
        summary=summary,
        utterances=utterances,
    )


def ended(call_id: str, outcome: str = "transferred") -> CallEndedEvent:
    """The assistant's side of the call is over."""
    return CallEndedEvent(call_id, utc_now(), outcome, None, 1)


def callback(
    call_id: str,
    key: str,
    *,
    department: str | None,
    caller_number: str | None,
    note: str | None,
    language: str = "fr",
) -> CallbackRequestedEvent:
    """The caller asked to be called back."""
    now = utc_now()
    return CallbackRequestedEvent(call_id, now, key, now, department, language, caller_number, note)
