"""Speech recognisers as the call session sees them: feed audio, get the final transcript.

Two sources of transcripts share one small protocol:
- :class:`VoskRecognizerFactory` decodes the caller's audio with a real Vosk model;
- :class:`ScriptedRecognizerFactory` returns transcripts written beforehand, one per
  utterance, for a call. It exists because no French Vosk model can be installed where
  the project is tested: the audio still flows, voice activity and endpointing still run
  on it for real, only the words come from the script. The demo says so when it uses it.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from voicebot.speech.asr import (
    AsyncRecognizer,
    FinalTranscript,
    ModelRegistry,
    StreamingRecognizer,
    Transcript,
)


class CallRecognizer(Protocol):
    """One call's recogniser for one language."""

    async def accept(self, pcm: bytes) -> None:
        """Feed 8 kHz slin16 caller audio of the current utterance."""
        ...

    async def finish(self) -> FinalTranscript:
        """End the current utterance and return what was said."""
        ...


class RecognizerFactory(Protocol):
    """Creates recognisers for calls."""

    @property
    def description(self) -> str:
        """What the recogniser is (shown by the demo and in logs)."""
        ...

    def languages(self) -> tuple[str, ...]:
        """Languages it can recognise."""
        ...

    def create(
        self, call_id: str, language: str, grammar: tuple[str, ...] | None
    ) -> CallRecognizer:
        """A recogniser for ``call_id`` in ``language``, optionally restricted to a grammar."""
        ...


FEED_BYTES = 3200
"""Caller audio handed to Vosk at a time (100 ms of 8 kHz slin16)."""


class _VoskCallRecognizer:
    """Feeds Vosk in the background; joins the finals it emits inside one utterance.

    ``accept`` never waits for decoding: the call session must go on reading frames in
    real time (voice activity, endpointing) while Vosk catches up in the executor, and
    awaiting every 20 ms frame put the session behind the caller by seconds as soon as
    decoding slowed down. Audio goes to Vosk in 100 ms pieces, five times fewer executor
    round trips than frames; ``finish`` waits for the backlog, then closes the utterance.
    """

    def __init__(self, recognizer: AsyncRecognizer) -> None:
        self._recognizer = recognizer
        self._parts: list[FinalTranscript] = []
        self._buffer = bytearray()
        # AsyncRecognizer serves callers in the order they ask (FIFO lock), and tasks
        # start in creation order, so these decode in the order the audio came.
        self._feeding: list[asyncio.Task[Transcript | None]] = []

    async def accept(self, pcm: bytes) -> None:
        self._buffer += pcm
        if len(self._buffer) >= FEED_BYTES:
            self._feed()

    def _feed(self) -> None:
        chunk = bytes(self._buffer)
        self._buffer.clear()
        self._feeding.append(asyncio.get_running_loop().create_task(self._recognizer.accept(chunk)))

    async def finish(self) -> FinalTranscript:
        if self._buffer:
            self._feed()
        feeding, self._feeding = self._feeding, []
        for result in await asyncio.gather(*feeding):
            if isinstance(result, FinalTranscript) and result.text:
                self._parts.append(result)
        last = await self._recognizer.finish()
        parts = [*self._parts, last] if last.text or not self._parts else self._parts
        self._parts = []
        if len(parts) == 1:
            return parts[0]
        words = tuple(w for p in parts for w in p.words)
        scored = [w.confidence for w in words if w.word != "[unk]"]
        return FinalTranscript(
            text=" ".join(p.text for p in parts if p.text),
            confidence=sum(scored) / len(scored) if scored else 0.0,
            words=words,
            audio_ms=sum(p.audio_ms for p in parts) + (0.0 if last in parts else last.audio_ms),
            decode_ms=sum(p.decode_ms for p in parts) + (0.0 if last in parts else last.decode_ms),
        )


class VoskRecognizerFactory:
    """Real Vosk decoding: one shared model per language, one recogniser per call."""

    def __init__(self, registry: ModelRegistry, executor: Executor | None = None) -> None:
        self._registry = registry
        self._executor = executor

    @property
    def description(self) -> str:
        """Models in use."""
        return "Vosk (" + ", ".join(self._registry.languages) + ")"

    def languages(self) -> tuple[str, ...]:
        """Languages with a configured model."""
        return self._registry.languages

    def create(
        self, call_id: str, language: str, grammar: tuple[str, ...] | None
    ) -> CallRecognizer:
        """A streaming recogniser decoding in the executor."""
        model = self._registry.get(language)
        streaming = StreamingRecognizer(model, grammar=grammar)
        return _VoskCallRecognizer(AsyncRecognizer(streaming, self._executor))


@dataclass(frozen=True, slots=True)
class ScriptedLine:
    """One transcript the script returns, with the confidence a recogniser would give."""

    text: str
    confidence: float = 0.92


class TranscriptScript:
    """Transcripts per call, consumed in order; from memory or from ``<dir>/<call_id>.txt``."""

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory
        self._lines: dict[str, deque[ScriptedLine]] = {}
        self._lock = threading.Lock()

    def add(self, call_id: str, lines: Iterable[str | ScriptedLine]) -> None:
        """Queue transcripts for a call (before or during it)."""
        with self._lock:
            queue = self._lines.setdefault(call_id, deque())
            queue.extend(
                line if isinstance(line, ScriptedLine) else ScriptedLine(line) for line in lines
            )

    def next_line(self, call_id: str) -> ScriptedLine | None:
        """The next transcript of the call, or None when the script has run out."""
        with self._lock:
            if call_id not in self._lines and self._directory is not None:
                self._lines[call_id] = deque(self._read_file(call_id))
            queue = self._lines.get(call_id)
            return queue.popleft() if queue else None

    def _read_file(self, call_id: str) -> list[ScriptedLine]:
        assert self._directory is not None
        path = self._directory / f"{call_id}.txt"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [ScriptedLine(line.strip()) for line in text.splitlines() if line.strip()]


class _ScriptedCallRecognizer:
    def __init__(self, script: TranscriptScript, call_id: str) -> None:
        self._script = script
        self._call_id = call_id
        self._audio_bytes = 0

    async def accept(self, pcm: bytes) -> None:
        self._audio_bytes += len(pcm)

    async def finish(self) -> FinalTranscript:
        audio_ms = self._audio_bytes / 16.0  # 8 kHz * 2 bytes = 16 bytes per ms
        self._audio_bytes = 0
        line = self._script.next_line(self._call_id)
        if line is None:
            return FinalTranscript(
                text="", confidence=0.0, words=(), audio_ms=audio_ms, decode_ms=0.0
            )
        return FinalTranscript(
            text=line.text, confidence=line.confidence, words=(), audio_ms=audio_ms, decode_ms=0.0
        )


class ScriptedRecognizerFactory:
    """Transcripts from a script instead of a speech model (see the module docstring)."""

    def __init__(self, script: TranscriptScript, languages: tuple[str, ...]) -> None:
        self.script = script
        self._languages = languages

    @property
    def description(self) -> str:
        """Says plainly that words come from a script."""
        return "scripted transcripts (no speech model: the words come from the script)"

    def languages(self) -> tuple[str, ...]:
        """Every language the KB offers."""
        return self._languages

    def create(
        self, call_id: str, language: str, grammar: tuple[str, ...] | None
    ) -> CallRecognizer:
        """A recogniser returning the call's next scripted line at each utterance end."""
        return _ScriptedCallRecognizer(self.script, call_id)
