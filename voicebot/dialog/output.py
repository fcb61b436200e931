"""One step's actions, the plays still sounding, and the turn being built."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from voicebot.dialog.actions import Action, Listen, Play, RecordTurn, StopPlayback, TurnAction
from voicebot.dialog.prompts import Prompt
from voicebot.records import TurnRecord


@dataclass(slots=True)
class TurnDraft:
    """A turn while the dialog decides what to do about it."""

    at: datetime
    intent: str
    transcript: str = ""
    confidence: float | None = None
    score: float | None = None
    margin: float | None = None
    runner_up: str | None = None
    dtmf: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    action: TurnAction = TurnAction.PROMPT
    texts: list[str] = field(default_factory=list)

    def record(
        self, call_id: str, index: int, language: str, dialog_ms: float | None
    ) -> TurnRecord:
        """The finished turn."""
        timings = dict(self.timings_ms)
        if dialog_ms is not None:
            timings["dialog"] = dialog_ms
        return TurnRecord(
            call_id=call_id,
            index=index,
            started_at=self.at,
            language=language,
            transcript=self.transcript,
            asr_confidence=self.confidence,
            intent=str(self.intent),
            score=self.score,
            margin=self.margin,
            action=str(self.action),
            reply_text=" ".join(self.texts),
            dtmf=self.dtmf,
            timings_ms=timings,
            runner_up=self.runner_up,
        )


@dataclass(frozen=True, slots=True)
class _Sounding:
    play_id: int
    interruptible: bool
    answer: bool


class Output:
    """Collects one step's actions and remembers which plays have not finished yet."""

    def __init__(self) -> None:
        self.actions: list[Action] = []
        self.turn: TurnDraft | None = None
        self.listen: Listen | None = None
        """The last ``Listen`` sent: repeated after a barge-in."""
        self._sounding: list[_Sounding] = []
        self._next_play_id = 1

    def begin_step(self) -> None:
        """Start collecting the actions of a new event."""
        self.actions = []
        self.turn = None

    def begin_turn(self, at: datetime, intent: str, transcript: str = "") -> TurnDraft:
        """Start the turn this event makes."""
        self.turn = TurnDraft(at=at, intent=intent, transcript=transcript)
        return self.turn

    @property
    def current(self) -> TurnDraft:
        """The turn of this step (replying handlers always begin one first)."""
        assert self.turn is not None, "a handler replied without beginning a turn"
        return self.turn

    def say(self, prompt: Prompt, interruptible: bool = True, answer: bool = False) -> None:
        """Queue a ``Play`` (``answer``: an FAQ answer, tracked for hang-ups during it)."""
        play = Play(prompt.text, prompt.language, prompt.key, interruptible, self._next_play_id)
        self._next_play_id += 1
        self._sounding.append(_Sounding(play.play_id, interruptible, answer))
        self.actions.append(play)
        if self.turn is not None:
            self.turn.texts.append(prompt.text)

    def send_listen(self, grammar: tuple[str, ...] | None, language: str) -> None:
        """Queue a ``Listen``."""
        self.listen = Listen(grammar, language)
        self.actions.append(self.listen)

    def stop_playback(self) -> None:
        """Queue ``StopPlayback`` if anything is still sounding."""
        if self._sounding:
            self.actions.append(StopPlayback())
            self._sounding = []

    def finished(self, play_id: int) -> bool:
        """Mark plays up to ``play_id`` as played; True when nothing is sounding any more."""
        self._sounding = [play for play in self._sounding if play.play_id > play_id]
        return not self._sounding

    def forget_plays(self) -> None:
        """The line is gone: nothing will finish playing."""
        self._sounding = []

    @property
    def sounding(self) -> bool:
        """Whether some play has not finished."""
        return bool(self._sounding)

    @property
    def interruptible(self) -> bool:
        """Whether something is sounding and all of it may be interrupted."""
        return bool(self._sounding) and all(play.interruptible for play in self._sounding)

    @property
    def answer_sounding(self) -> bool:
        """Whether an FAQ answer is still playing."""
        return any(play.answer for play in self._sounding)

    def record_turn(self, record: TurnRecord) -> None:
        """Queue the ``RecordTurn`` of the finished turn."""
        self.actions.append(RecordTurn(record))
