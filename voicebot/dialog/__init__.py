"""The conversation as a pure state machine: events in, actions out, no I/O.

A call session creates one :class:`Dialog` per call, routes each utterance itself and
feeds every event to :meth:`Dialog.handle`, executing the returned actions in order.
"""

from voicebot.dialog.actions import (
    Action,
    DialogIntent,
    EndCall,
    HangUp,
    Listen,
    Play,
    RecordCallback,
    RecordTurn,
    ReturnToDialplan,
    StopPlayback,
    Transfer,
    TransferPlanned,
    TransferSummary,
    TurnAction,
)
from voicebot.dialog.config import DialogConfig
from voicebot.dialog.events import (
    AudioTakenByDialplan,
    BargeIn,
    CallStarted,
    DialogError,
    DtmfDigit,
    Event,
    Hangup,
    PlaybackFinished,
    SilenceTimeout,
    Tick,
    TransferImpossible,
    TransferResult,
    Utterance,
)
from voicebot.dialog.machine import Dialog, DialogState
from voicebot.dialog.prompts import DYNAMIC_PROMPT_KEYS, PromptBook, PromptKey, prompt_texts

__all__ = [
    "DYNAMIC_PROMPT_KEYS",
    "Action",
    "AudioTakenByDialplan",
    "BargeIn",
    "CallStarted",
    "Dialog",
    "DialogConfig",
    "DialogError",
    "DialogIntent",
    "DialogState",
    "DtmfDigit",
    "EndCall",
    "Event",
    "HangUp",
    "Hangup",
    "Listen",
    "Play",
    "PlaybackFinished",
    "PromptBook",
    "PromptKey",
    "RecordCallback",
    "RecordTurn",
    "ReturnToDialplan",
    "SilenceTimeout",
    "StopPlayback",
    "Tick",
    "Transfer",
    "TransferImpossible",
    "TransferPlanned",
    "TransferResult",
    "TransferSummary",
    "TurnAction",
    "Utterance",
    "prompt_texts",
]
