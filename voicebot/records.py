"""Plain records of what a call did: the dialog produces them, the call log stores them.

They carry no I/O and no ORM state so that the dialog stays pure and the writer can
queue, batch, spool to disk and replay them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class CallOutcome(StrEnum):
    """How a call ended, from the city's point of view."""

    ANSWERED = "answered"  # the assistant answered and the caller hung up or said goodbye
    TRANSFERRED = "transferred"  # put through to a department
    OPERATOR = "operator"  # put through to the reception / operator
    CALLBACK = "callback"  # a callback request was recorded for the operators
    ABANDONED = "abandoned"  # the caller hung up before anything was resolved
    FAILED = "failed"  # the assistant could not help (e.g. technical error, silence)
    INTERRUPTED = "interrupted"  # the process stopped mid-call (crash); from the call journal
    IN_PROGRESS = "in_progress"


class TransferStatus(StrEnum):
    """Asterisk's DIALSTATUS values we act on, plus our own fallback marker."""

    ANSWER = "ANSWER"
    BUSY = "BUSY"
    NOANSWER = "NOANSWER"
    CHANUNAVAIL = "CHANUNAVAIL"
    CONGESTION = "CONGESTION"
    CANCEL = "CANCEL"
    PENDING = "PENDING"


class TransferReason(StrEnum):
    """Why a call was put through to where it went (what the person picking up is told)."""

    ROUTED = "routed"  # the caller's words led to this department
    ASKED_FOR_PERSON = "asked_for_person"  # the caller asked to speak to someone
    KEYPAD = "keypad"  # the caller chose it on the keypad
    CLOSED = "closed"  # the department asked for was closed; the caller took the operator
    BUSY = "busy"  # the department's line was busy: on to the operator
    NO_ANSWER = "no_answer"  # nobody answered in the department: on to the operator
    UNREACHABLE = "unreachable"  # the department's line (or the transfer) failed: operator
    NOT_UNDERSTOOD = "not_understood"  # not understood, even with the keypad menu
    SILENT = "silent"  # the caller neither spoke nor pressed a key
    MAX_DURATION = "max_duration"  # the call went on too long


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """One exchange: what the caller said, what the assistant decided and did."""

    call_id: str
    index: int
    started_at: datetime
    language: str
    transcript: str | None
    """What the recognizer heard (empty for a DTMF or silence turn; None once purged)."""
    asr_confidence: float | None
    """Mean word confidence from the recognizer, 0..1; None when no speech."""
    intent: str
    """Routing label: a department id, ``faq:<id>``, ``operator``, ``none`` or a dialog intent."""
    score: float | None
    margin: float | None
    action: str
    """What the assistant did: ``answer``, ``transfer``, ``clarify``, ``rephrase``, ..."""
    reply_text: str | None
    """What the assistant said (None once purged: it may quote the caller)."""
    dtmf: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    """Stage timings in milliseconds (endpointing, asr, routing, dialog, tts, ...)."""
    runner_up: str | None = None
    """The best routing target other than the chosen one (its score: ``score - margin``);
    None without a decision. Spools written before it existed load as None."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (datetimes as ISO strings) for spooling and APIs."""
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TurnRecord:
        """Inverse of :meth:`to_json`."""
        values = dict(data)
        values["started_at"] = datetime.fromisoformat(values["started_at"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class TransferRecord:
    """A transfer attempt and what Asterisk reported back."""

    call_id: str
    target: str
    """Department id or ``operator``."""
    extension: str
    requested_at: datetime
    dial_status: TransferStatus = TransferStatus.PENDING
    fallback: str | None = None
    """Where the call went instead when the target did not answer (e.g. ``operator``)."""
    reason: TransferReason | None = None
    """Why the call went to ``target``; None in records written before reasons existed."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        data = asdict(self)
        data["requested_at"] = self.requested_at.isoformat()
        data["dial_status"] = str(self.dial_status)
        data["reason"] = None if self.reason is None else str(self.reason)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TransferRecord:
        """Inverse of :meth:`to_json`."""
        values = dict(data)
        values["requested_at"] = datetime.fromisoformat(values["requested_at"])
        values["dial_status"] = TransferStatus(values["dial_status"])
        reason = values.get("reason")  # absent from spools written before reasons existed
        values["reason"] = None if reason is None else TransferReason(reason)
        return cls(**values)


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """A caller asked to be called back (e.g. the department was closed)."""

    call_id: str
    requested_at: datetime
    department: str | None
    language: str
    caller_number: str | None
    """Raw number: kept only here, visible only to operators."""
    note: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        data = asdict(self)
        data["requested_at"] = self.requested_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallbackRequest:
        """Inverse of :meth:`to_json`."""
        values = dict(data)
        values["requested_at"] = datetime.fromisoformat(values["requested_at"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class CallRecord:
    """A whole call as it is logged when it ends."""

    call_id: str
    started_at: datetime
    ended_at: datetime | None
    caller_number: str | None
    """Raw caller number as received; the call log writer replaces it by ``caller_hash``
    before the record is queued, so it never reaches the spool or the database."""
    language: str
    outcome: CallOutcome
    department: str | None = None
    """Department the call was transferred to, if any."""
    channel: str | None = None
    turns: tuple[TurnRecord, ...] = ()
    transfers: tuple[TransferRecord, ...] = ()
    callbacks: tuple[CallbackRequest, ...] = ()
    caller_hash: str | None = None
    """Keyed hash of the caller number (:class:`~voicebot.calllog.pseudonymize.Pseudonymizer`)."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict, nested records included."""
        return {
            "call_id": self.call_id,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "caller_number": self.caller_number,
            "caller_hash": self.caller_hash,
            "language": self.language,
            "outcome": str(self.outcome),
            "department": self.department,
            "channel": self.channel,
            "turns": [t.to_json() for t in self.turns],
            "transfers": [t.to_json() for t in self.transfers],
            "callbacks": [c.to_json() for c in self.callbacks],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallRecord:
        """Inverse of :meth:`to_json`."""
        return cls(
            call_id=data["call_id"],
            started_at=datetime.fromisoformat(data["started_at"]),
            ended_at=datetime.fromisoformat(data["ended_at"]) if data["ended_at"] else None,
            # Spools written before pseudonymisation moved ahead of them hold the number.
            caller_number=data.get("caller_number"),
            caller_hash=data.get("caller_hash"),
            language=data["language"],
            outcome=CallOutcome(data["outcome"]),
            department=data["department"],
            channel=data["channel"],
            turns=tuple(TurnRecord.from_json(t) for t in data["turns"]),
            transfers=tuple(TransferRecord.from_json(t) for t in data["transfers"]),
            callbacks=tuple(CallbackRequest.from_json(c) for c in data["callbacks"]),
        )
