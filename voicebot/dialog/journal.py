"""What one call did, accumulated as it happens, and how its outcome is decided."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import StrEnum

from voicebot.dialog.actions import TurnAction
from voicebot.records import (
    CallbackRequest,
    CallOutcome,
    CallRecord,
    TransferReason,
    TransferRecord,
    TransferStatus,
    TurnRecord,
)
from voicebot.routing.decision import OPERATOR


class CallEnding(StrEnum):
    """Why the dialog ended."""

    HANGUP = "hangup"  # the caller hung up (or the channel left the assistant)
    HANGUP_DURING_ANSWER = "hangup_during_answer"  # … while an FAQ answer was still playing
    GOODBYE = "goodbye"  # the caller said goodbye / had nothing else
    SILENCE = "silence"  # the caller stayed silent after the silence prompts
    MAX_DURATION = "max_duration"  # the call lasted too long and the operator was closed
    TRANSFER_ANSWERED = "transfer_answered"  # DIALSTATUS ANSWER
    TRANSFER_CANCELLED = "transfer_cancelled"  # DIALSTATUS CANCEL: caller hung up while ringing
    TRANSFER_FAILED = "transfer_failed"  # the operator did not answer a transfer: nobody left


class CallJournal:
    """The turns, transfers and callbacks of one call, and its final record."""

    def __init__(
        self, call_id: str, started_at: datetime, caller_number: str | None, channel: str | None
    ) -> None:
        self.call_id = call_id
        self.started_at = started_at
        self.caller_number = caller_number
        self.channel = channel
        self.turns: list[TurnRecord] = []
        self.transfers: list[TransferRecord] = []
        self.callbacks: list[CallbackRequest] = []
        self.department: str | None = None
        """The department the caller's request was last routed to (open or closed)."""

    def add_turn(self, turn: TurnRecord) -> None:
        """Append a finished turn."""
        self.turns.append(turn)

    def transfer_requested(
        self, target: str, extension: str, at: datetime, reason: TransferReason
    ) -> None:
        """A ``Transfer`` action went out; its status is pending."""
        self.transfers.append(TransferRecord(self.call_id, target, extension, at, reason=reason))

    def transfer_finished(self, status: TransferStatus) -> TransferRecord:
        """Record the DIALSTATUS of the last transfer and return the updated record."""
        updated = dataclasses.replace(self.transfers[-1], dial_status=status)
        self.transfers[-1] = updated
        return updated

    def transfer_fallback(self, fallback: str) -> None:
        """Note where the call went after the last transfer failed (``operator``, ``callback``)."""
        self.transfers[-1] = dataclasses.replace(self.transfers[-1], fallback=fallback)

    def add_callback(self, request: CallbackRequest) -> None:
        """Append a callback request."""
        self.callbacks.append(request)

    @property
    def answered(self) -> bool:
        """Whether an FAQ answer was given in some turn."""
        return any(turn.action == TurnAction.ANSWER for turn in self.turns)

    def outcome(self, ending: CallEnding) -> CallOutcome:
        """The call's outcome; first matching rule wins.

        1. the last transfer was answered or still pending when the call left us →
           ``operator`` or ``transferred``;
        2. a callback was recorded → ``callback``;
        3. the caller hung up while an answer was playing → ``abandoned`` (not contained);
        4. the operator did not answer a transfer → ``failed`` (whatever came before);
        5. an answer was given → ``answered``;
        6. silence or maximum duration ended the call → ``failed``;
        7. anything else (hang-up, goodbye, cancelled transfer) → ``abandoned``.
        """
        last = self.transfers[-1] if self.transfers else None
        if last is not None and last.dial_status in (TransferStatus.ANSWER, TransferStatus.PENDING):
            return CallOutcome.OPERATOR if last.target == OPERATOR else CallOutcome.TRANSFERRED
        if self.callbacks:
            return CallOutcome.CALLBACK
        if ending is CallEnding.HANGUP_DURING_ANSWER:
            return CallOutcome.ABANDONED
        if ending is CallEnding.TRANSFER_FAILED:
            return CallOutcome.FAILED
        if self.answered:
            return CallOutcome.ANSWERED
        if ending in (CallEnding.SILENCE, CallEnding.MAX_DURATION):
            return CallOutcome.FAILED
        return CallOutcome.ABANDONED

    def record(self, ended_at: datetime, language: str, ending: CallEnding) -> CallRecord:
        """The whole call, as logged when it ends."""
        return CallRecord(
            call_id=self.call_id,
            started_at=self.started_at,
            ended_at=ended_at,
            caller_number=self.caller_number,
            language=language,
            outcome=self.outcome(ending),
            department=self.department,
            channel=self.channel,
            turns=tuple(self.turns),
            transfers=tuple(self.transfers),
            callbacks=tuple(self.callbacks),
        )
