"""End-of-utterance detection as a pure, time-driven state machine (no audio, no I/O).

It is fed ``observe(timestamp, is_speech)`` for each analysed chunk and ``tick(timestamp)``
from a clock, because during silence Asterisk may send no frames at all: every
deadline (trailing silence, no input, maximum length) is checked against time, never
against a count of frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# Timestamps are floats built by adding 0.02 s steps: compare durations with a tolerance.
_EPSILON = 1e-9


class EndpointEventType(StrEnum):
    """What the endpointer detected."""

    SPEECH_START = "speech-start"
    SPEECH_END = "speech-end"
    NO_INPUT = "no-input"
    MAX_UTTERANCE = "max-utterance"


class EndpointState(StrEnum):
    """Where the endpointer is in the current turn."""

    WAITING = "waiting"
    """Listening, no confirmed speech yet."""
    IN_SPEECH = "in-speech"
    """The caller is speaking."""
    DONE = "done"
    """The turn is over (end, no input or max length); call ``reset`` for the next one."""


@dataclass(frozen=True, slots=True)
class EndpointEvent:
    """One detection, with the times it refers to (seconds on the caller's clock)."""

    type: EndpointEventType
    """What happened."""
    timestamp: float
    """When it was detected."""
    speech_start: float | None = None
    """Time of the first speech observation of the utterance, when there was one."""
    speech_end: float | None = None
    """Time of the last speech observation of the utterance, when it ended."""


@dataclass(frozen=True, slots=True)
class EndpointerConfig:
    """Timings of the endpointer, in seconds."""

    min_speech: float = 0.06
    """Speech must last this long, uninterrupted, before it counts as the start of an utterance."""
    trailing_silence: float = 0.3
    """Silence after speech that ends the utterance."""
    no_input_timeout: float = 5.0
    """Silence from the start of listening after which the caller is considered silent."""
    max_utterance: float = 15.0
    """Longest utterance; it is cut at this length even if the caller keeps talking."""
    from_voiced_frame: bool = True
    """Count the trailing silence from the last voiced frame the listener reports
    (``observe(..., voiced_at=)``) rather than from the VAD's last speech chunk."""

    def __post_init__(self) -> None:
        for name in ("min_speech", "no_input_timeout"):
            value = getattr(self, name)
            if value < 0:
                raise ValueError(f"EndpointerConfig.{name} must be >= 0, got {value}")
        # An end of speech is a stretch of silence: it cannot be empty.
        if self.trailing_silence <= 0:
            raise ValueError(
                f"EndpointerConfig.trailing_silence must be > 0, got {self.trailing_silence}"
            )
        if self.max_utterance <= self.min_speech:
            raise ValueError(
                "EndpointerConfig.max_utterance must be longer than min_speech "
                f"({self.max_utterance} <= {self.min_speech})"
            )


class Endpointer:
    """Segments one caller turn into speech start / end, no-input and max-length events."""

    def __init__(self, config: EndpointerConfig, start_time: float) -> None:
        self.config = config
        self._now = start_time
        self._listen_start = start_time
        self._state = EndpointState.WAITING
        self._candidate_start: float | None = None
        self._candidate_last: float | None = None
        self._speech_start: float | None = None
        self._last_speech: float | None = None

    @property
    def state(self) -> EndpointState:
        """Current state of the turn."""
        return self._state

    @property
    def speech_start(self) -> float | None:
        """Start of the current (or last) utterance, if speech was confirmed."""
        return self._speech_start

    def reset(self, timestamp: float) -> None:
        """Start listening for a new turn at ``timestamp``."""
        self._advance(timestamp)
        self._listen_start = timestamp
        self._state = EndpointState.WAITING
        self._candidate_start = None
        self._candidate_last = None
        self._speech_start = None
        self._last_speech = None

    def observe(
        self, timestamp: float, is_speech: bool, voiced_at: float | None = None
    ) -> list[EndpointEvent]:
        """Record whether the audio at ``timestamp`` is speech; return the events it causes.

        ``voiced_at``: when the caller's voice was last heard, from the frames' energy
        (:class:`voicebot.speech.voicing.VoicedFrames`). The VAD says *whether* it is
        speech, but its probability stays high for some 80 ms (up to ~140) after the last
        voiced frame; counting the trailing silence from ``voiced_at`` instead of from the
        VAD's late "speech" ends the turn that much sooner, with the same silence length.
        """
        self._advance(timestamp)
        # Deadlines first: frames may resume after a gap long enough to have ended the turn.
        events = self._check_deadlines(timestamp)
        if self._state is EndpointState.WAITING:
            if is_speech:
                if self._candidate_start is None or self._candidate_expired(timestamp):
                    self._candidate_start = timestamp
                self._candidate_last = timestamp
                if timestamp - self._candidate_start >= self.config.min_speech - _EPSILON:
                    self._state = EndpointState.IN_SPEECH
                    self._speech_start = self._candidate_start
                    self._last_speech = timestamp
                    events.append(
                        EndpointEvent(
                            EndpointEventType.SPEECH_START,
                            timestamp,
                            speech_start=self._speech_start,
                        )
                    )
            else:
                self._candidate_start = None
                self._candidate_last = None
        elif self._state is EndpointState.IN_SPEECH and is_speech:
            assert self._last_speech is not None
            if voiced_at is None or not self.config.from_voiced_frame:
                heard = timestamp
            else:
                heard = min(voiced_at, timestamp)
            self._last_speech = max(self._last_speech, heard)
        events.extend(self._check_deadlines(timestamp))
        return events

    def tick(self, timestamp: float) -> list[EndpointEvent]:
        """Let time pass without new audio; return the deadlines reached."""
        self._advance(timestamp)
        return self._check_deadlines(timestamp)

    def _advance(self, timestamp: float) -> None:
        if timestamp < self._now:
            raise ValueError(
                f"endpointer time went backwards: {timestamp:.3f} s after {self._now:.3f} s"
            )
        self._now = timestamp

    def _candidate_expired(self, now: float) -> bool:
        # No speech observation for a whole trailing-silence span (frames may simply stop
        # arriving): the unconfirmed burst is over.
        assert self._candidate_last is not None
        return now - self._candidate_last > self.config.trailing_silence + _EPSILON

    def _check_deadlines(self, now: float) -> list[EndpointEvent]:
        if self._state is EndpointState.WAITING:
            # A speech burst still being confirmed postpones "no input" until it resolves.
            if self._candidate_start is not None and self._candidate_expired(now):
                self._candidate_start = None
                self._candidate_last = None
            if (
                self._candidate_start is None
                and now - self._listen_start >= self.config.no_input_timeout - _EPSILON
            ):
                self._state = EndpointState.DONE
                return [EndpointEvent(EndpointEventType.NO_INPUT, now)]
            return []
        if self._state is EndpointState.IN_SPEECH:
            assert self._speech_start is not None and self._last_speech is not None
            if now - self._last_speech >= self.config.trailing_silence - _EPSILON:
                self._state = EndpointState.DONE
                return [
                    EndpointEvent(
                        EndpointEventType.SPEECH_END,
                        now,
                        speech_start=self._speech_start,
                        speech_end=self._last_speech,
                    )
                ]
            if now - self._speech_start >= self.config.max_utterance - _EPSILON:
                self._state = EndpointState.DONE
                return [
                    EndpointEvent(
                        EndpointEventType.MAX_UTTERANCE,
                        now,
                        speech_start=self._speech_start,
                        speech_end=self._last_speech,
                    )
                ]
        return []
