"""Builders of call records for the call log tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from voicebot.records import (
    CallbackRequest,
    CallOutcome,
    CallRecord,
    TransferRecord,
    TransferStatus,
    TurnRecord,
)

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Turn:
    """Short description of a turn for :func:`make_call`."""

    intent: str
    transcript: str = "bonjour"
    confidence: float | None = 0.9
    action: str = "answer"
    timings: dict[str, float] = field(default_factory=dict)
    dtmf: str | None = None


def make_call(
    call_id: str,
    started_at: datetime = T0,
    *,
    duration_s: float | None = 60.0,
    outcome: CallOutcome = CallOutcome.ANSWERED,
    language: str = "fr",
    department: str | None = None,
    caller: str | None = "0470 12 34 56",
    turns: Sequence[Turn] = (Turn("faq:horaires"),),
    transfers: Sequence[tuple[str, TransferStatus]] = (),
    callbacks: Sequence[tuple[str | None, str | None]] = (),
) -> CallRecord:
    """A call record; turns start 5 s apart, transfers and callbacks at the end."""
    ended_at = started_at + timedelta(seconds=duration_s) if duration_s is not None else None
    end = ended_at or started_at + timedelta(seconds=30)
    return CallRecord(
        call_id=call_id,
        started_at=started_at,
        ended_at=ended_at,
        caller_number=caller,
        language=language,
        outcome=outcome,
        department=department,
        channel=f"PJSIP/test-{call_id}",
        turns=tuple(
            TurnRecord(
                call_id=call_id,
                index=index,
                started_at=started_at + timedelta(seconds=5 * index + 2),
                language=language,
                transcript=turn.transcript,
                asr_confidence=turn.confidence,
                intent=turn.intent,
                score=0.8,
                margin=0.2,
                action=turn.action,
                reply_text=f"réponse à {turn.transcript}",
                dtmf=turn.dtmf,
                timings_ms=dict(turn.timings),
            )
            for index, turn in enumerate(turns)
        ),
        transfers=tuple(
            TransferRecord(call_id, target, "2001", end, status, None)
            for target, status in transfers
        ),
        callbacks=tuple(
            CallbackRequest(call_id, end, dept, language, number, "merci de rappeler")
            for dept, number in callbacks
        ),
    )


def simple_calls(count: int, prefix: str = "call", start: datetime = T0) -> list[CallRecord]:
    """``count`` one-turn calls a minute apart."""
    return [make_call(f"{prefix}-{i:04d}", start + timedelta(minutes=i)) for i in range(count)]
