"""What the dialog asks the call session to do, in order, plus the vocabulary of its records."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from voicebot.records import CallbackRequest, CallRecord, TransferReason, TurnRecord


class TurnAction(StrEnum):
    """``TurnRecord.action``: what the assistant did in a turn."""

    ANSWER = "answer"  # played an FAQ answer
    DETAILS = "details"  # played the details of the FAQ answer the caller asked for more of
    TRANSFER = "transfer"  # announced a transfer to a department
    OPERATOR = "operator"  # announced a transfer to the operator desk
    CLOSED = "closed"  # the target is closed: said its hours, made an offer or moved on
    OFFER = "offer"  # the caller declined an offer; the next one was made
    CALLBACK = "callback"  # recorded a callback request
    CLARIFY = "clarify"  # asked which of two targets the caller means
    REPHRASE = "rephrase"  # did not understand; asked to rephrase
    MENU = "menu"  # announced the DTMF menu
    LANGUAGE = "language"  # switched (or confirmed) the language
    LANGUAGE_UNAVAILABLE = "language_unavailable"  # said which languages are offered
    PROMPT = "prompt"  # asked again / invited the caller to go on
    SILENCE_PROMPT = "silence_prompt"  # the caller was silent; asked if they are still there
    GOODBYE = "goodbye"  # said goodbye; the call ends
    ANSWER_INTERRUPTED = "answer_interrupted"  # the caller hung up while an answer was playing


class DialogIntent(StrEnum):
    """``TurnRecord.intent`` values the dialog itself produces (besides routing labels)."""

    NONE = "none"  # not understood (router rejection or low ASR confidence)
    YES = "yes"
    NO = "no"
    GOODBYE = "goodbye"
    SILENCE = "silence"
    MAX_DURATION = "max_duration"
    TRANSFER_FAILED = "transfer_failed"
    HANGUP = "hangup"


def dtmf_intent(digit: str) -> str:
    """Intent of a DTMF turn, e.g. ``dtmf:3``."""
    return f"dtmf:{digit}"


def language_intent(language: str) -> str:
    """Intent of a language request, e.g. ``language:nl``."""
    return f"language:{language}"


@dataclass(frozen=True, slots=True)
class Play:
    """Speak ``text``: queue its audio after any audio already queued."""

    text: str
    language: str
    prompt_key: str
    """Stable key of the text (:mod:`voicebot.dialog.prompts`); with ``language``, a cache key."""
    interruptible: bool
    """The caller may barge in (``BargeIn`` → ``StopPlayback``); False for announcements."""
    play_id: int
    """Sequence number within the call; the session echoes it in ``PlaybackFinished``."""


@dataclass(frozen=True, slots=True)
class Listen:
    """(Re)start recognising the caller, already during the plays queued before it (barge-in)."""

    grammar: tuple[str, ...] | None
    """Phrases to restrict recognition to (yes/no questions, with ``[unk]``); None: free speech."""
    language: str


@dataclass(frozen=True, slots=True)
class StopPlayback:
    """Stop the audio now and drop everything queued (no ``PlaybackFinished`` for dropped plays)."""


@dataclass(frozen=True, slots=True)
class TransferSummary:
    """What the person picking up the transferred call should know."""

    intent: str
    """Routing label that led here (department id, ``operator``, ``none``, ``faq:<id>``)."""
    department: str | None
    """Department the request is about, if one was identified."""
    transcript: str
    """The caller's last words (excerpt, most recent last)."""
    language: str
    reason: TransferReason = TransferReason.ROUTED
    """Why the call goes where it goes (busy department, keypad, asked for a person, ...)."""
    utterances: tuple[str, ...] = ()
    """The caller's requests (not the yes/no around them), oldest first."""


@dataclass(frozen=True, slots=True)
class Transfer:
    """Put the caller through to ``extension``; report the DIALSTATUS back as ``TransferResult``."""

    extension: str
    target: str
    """Department id or ``operator``."""
    summary: TransferSummary


@dataclass(frozen=True, slots=True)
class TransferPlanned:
    """Where the caller is going and why, as soon as it is decided: before the announcement
    that precedes a ``Transfer``, and before a ``ReturnToDialplan`` (tell the operators now)."""

    transfer: Transfer
    """The transfer that follows (for ``ReturnToDialplan``: the operator the dialplan dials)."""


@dataclass(frozen=True, slots=True)
class HangUp:
    """Hang up the call (always after the goodbye has been played)."""


@dataclass(frozen=True, slots=True)
class ReturnToDialplan:
    """Leave the call to the dialplan without marking it done (no ``VB_DONE``): it dials
    the operator itself, and its dial result comes back as ``TransferResult``."""


@dataclass(frozen=True, slots=True)
class RecordTurn:
    """Log one turn (queue it for the call log; never block the audio path on it)."""

    turn: TurnRecord


@dataclass(frozen=True, slots=True)
class RecordCallback:
    """Log a callback request for the operators."""

    request: CallbackRequest


@dataclass(frozen=True, slots=True)
class EndCall:
    """The dialog is over: log the whole call. Comes exactly once, always last."""

    record: CallRecord


Action = (
    Play
    | Listen
    | StopPlayback
    | Transfer
    | TransferPlanned
    | HangUp
    | ReturnToDialplan
    | RecordTurn
    | RecordCallback
    | EndCall
)
"""Everything :meth:`voicebot.dialog.machine.Dialog.handle` returns."""
