"""Streaming speech recognition with Vosk: shared models, one recognizer per call.

The pattern is alphacep/vosk-server's ``asr_server.py``: a ``vosk.Model`` per language is
loaded once per process and shared, each call gets its own ``KaldiRecognizer``, and the
CPU-bound decoding runs in a thread pool, never on the event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import vosk

from voicebot.speech.audio import SAMPLE_RATE, SAMPLE_WIDTH, StreamingResampler

_LOGGER = logging.getLogger(__name__)

DEFAULT_MODEL_RATE = 16000
"""Feature sample rate Kaldi assumes when a model's mfcc.conf does not set one."""
UNKNOWN_WORD = "[unk]"
"""Token Vosk emits, in grammar mode, for speech outside the grammar."""

_SAMPLE_FREQUENCY = re.compile(r"^\s*--sample-frequency\s*=\s*([0-9.]+)\s*$", re.MULTILINE)

# Vosk logs every model load at INFO level on stderr; keep warnings and errors only.
vosk.SetLogLevel(-1)


@dataclass(frozen=True, slots=True)
class RecognizedWord:
    """One word of a final result, as Vosk aligned it."""

    word: str
    """The word (may be ``[unk]`` with a grammar)."""
    start: float
    """Start time in seconds since the recognizer's stream began."""
    end: float
    """End time in seconds since the recognizer's stream began."""
    confidence: float
    """Posterior probability of the word, 0..1."""


@dataclass(frozen=True, slots=True)
class Alternative:
    """One hypothesis of Vosk's n-best list (``SetMaxAlternatives``)."""

    text: str
    """Recognised words (without ``[unk]``)."""
    weight: float
    """Posterior share of this hypothesis among the list, 0..1 (they sum to 1)."""


@dataclass(frozen=True, slots=True)
class PartialTranscript:
    """Hypothesis so far for the utterance in progress (may still change)."""

    text: str
    """Words recognised so far, space separated."""


@dataclass(frozen=True, slots=True)
class FinalTranscript:
    """Result of one finished utterance."""

    text: str
    """Recognised words (without ``[unk]``), space separated; empty when nothing was heard."""
    confidence: float
    """Mean word confidence, 0..1 (0 when there are no words)."""
    words: tuple[RecognizedWord, ...]
    """Every word Vosk returned, including ``[unk]`` ones."""
    audio_ms: float
    """Duration of the caller audio that went into this utterance."""
    decode_ms: float
    """Wall time spent decoding that audio."""
    alternatives: tuple[Alternative, ...] = ()
    """The n-best hypotheses, best first, when the recognizer asked for them (the first one
    is ``text``); routing weighs them all, so one misheard word need not misroute a call."""

    @property
    def has_unknown(self) -> bool:
        """True when part of the speech was outside the grammar (``[unk]``)."""
        return any(w.word == UNKNOWN_WORD for w in self.words)


Transcript = PartialTranscript | FinalTranscript


class ModelLoadError(RuntimeError):
    """A Vosk model directory is missing or cannot be loaded."""


def model_sample_rate(model_dir: Path) -> int:
    """Return the feature sample rate of a Vosk model (``--sample-frequency``, else 16000)."""
    for conf in (model_dir / "conf" / "mfcc.conf", model_dir / "mfcc.conf"):
        if conf.is_file():
            match = _SAMPLE_FREQUENCY.search(conf.read_text(encoding="utf-8"))
            if match:
                return int(float(match.group(1)))
            return DEFAULT_MODEL_RATE
    return DEFAULT_MODEL_RATE


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A Vosk model loaded in this process, with what a recognizer needs to know about it."""

    language: str
    """Language code the model serves."""
    path: Path
    """Model directory."""
    sample_rate: int
    """Rate the model's features expect (audio is resampled to it)."""
    model: Any = field(repr=False)
    """The ``vosk.Model`` (shared by every recognizer of this language)."""


def load_model(language: str, path: Path) -> LoadedModel:
    """Load a Vosk model directory (slow: seconds, hundreds of MB)."""
    if not path.is_dir():
        raise ModelLoadError(f"Vosk model for {language!r} not found: {path} is not a directory")
    started = time.perf_counter()
    try:
        model = vosk.Model(str(path))
    except Exception as exc:  # vosk raises a bare Exception on a bad model
        raise ModelLoadError(f"cannot load Vosk model for {language!r} from {path}: {exc}") from exc
    rate = model_sample_rate(path)
    _LOGGER.info(
        "loaded Vosk model lang=%s path=%s rate=%d in %.1f s",
        language,
        path,
        rate,
        time.perf_counter() - started,
    )
    return LoadedModel(language=language, path=path, sample_rate=rate, model=model)


class ModelRegistry:
    """Loads each Vosk model directory at most once per process (thread-safe).

    Languages configured with the same directory (one multilingual model) share one
    loaded model: a model is hundreds of MB of memory and seconds of start-up.
    """

    def __init__(self, model_dirs: Mapping[str, Path]) -> None:
        self._dirs = dict(model_dirs)
        self._models: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()
        self._directory_locks: dict[Path, threading.Lock] = {}

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages this registry can serve."""
        return tuple(sorted(self._dirs))

    def get(self, language: str) -> LoadedModel:
        """Return the model for ``language``, loading it on first use."""
        if language not in self._dirs:
            known = ", ".join(self.languages) or "none"
            raise ModelLoadError(f"no Vosk model configured for {language!r} (configured: {known})")
        loaded = self._models.get(language)
        if loaded is not None:
            return loaded
        directory = self._dirs[language].resolve()
        with self._lock:
            directory_lock = self._directory_locks.setdefault(directory, threading.Lock())
        # One lock per directory: loading French does not wait for Dutch, and a language
        # sharing a directory waits for that load and reuses it.
        with directory_lock:
            loaded = self._models.get(language)
            if loaded is None:
                same_dir = next(
                    (m for m in self._models.values() if m.path.resolve() == directory), None
                )
                if same_dir is not None:
                    loaded = replace(same_dir, language=language, path=self._dirs[language])
                else:
                    loaded = load_model(language, self._dirs[language])
                self._models[language] = loaded
            return loaded


def grammar_json(phrases: Sequence[str]) -> str:
    """Return a Vosk grammar (JSON list of phrases), validated and UTF-8 (not \\u-escaped)."""
    if isinstance(phrases, str):
        raise TypeError("grammar must be a sequence of phrases, not a single string")
    cleaned = [" ".join(p.split()) for p in phrases]
    if not cleaned or any(not p for p in cleaned):
        raise ValueError(f"grammar must be a non-empty list of non-empty phrases, got {phrases!r}")
    # Vosk matches vocabulary words byte for byte: escaped non-ASCII would never match.
    return json.dumps(cleaned, ensure_ascii=False)


class StreamingRecognizer:
    """Blocking per-call recognizer: feed 8 kHz slin16 of any chunk size, get transcripts."""

    def __init__(
        self,
        model: LoadedModel,
        input_rate: int = SAMPLE_RATE,
        grammar: Sequence[str] | None = None,
        max_alternatives: int = 0,
    ) -> None:
        self.model = model
        self.input_rate = input_rate
        self.grammar = tuple(grammar) if grammar is not None else None
        if self.grammar is None:
            self._recognizer = vosk.KaldiRecognizer(model.model, model.sample_rate)
        else:
            self._recognizer = vosk.KaldiRecognizer(
                model.model, model.sample_rate, grammar_json(self.grammar)
            )
        self._recognizer.SetWords(True)
        if max_alternatives > 1:
            # With alternatives Vosk gives each hypothesis a lattice score instead of word
            # confidences: the transcript's confidence is then the best one's share.
            self._recognizer.SetMaxAlternatives(max_alternatives)
        self._resampler = StreamingResampler(input_rate, model.sample_rate)
        self._audio_bytes = 0
        self._decode_s = 0.0
        self._last_partial = ""

    def accept(self, pcm: bytes) -> Transcript | None:
        """Feed caller audio; return a final at a Vosk endpoint, a new partial, or None."""
        self._audio_bytes += len(pcm)
        resampled = self._resampler.process(pcm)
        if not resampled:
            return None
        started = time.perf_counter()
        ended = self._recognizer.AcceptWaveform(resampled)
        raw = self._recognizer.Result() if ended else self._recognizer.PartialResult()
        self._decode_s += time.perf_counter() - started
        if ended:
            return self._final(raw)
        text = str(json.loads(raw).get("partial", ""))
        if text == self._last_partial:
            return None
        self._last_partial = text
        return PartialTranscript(text=text)

    def finish(self) -> FinalTranscript:
        """Close the current utterance (e.g. the endpointer heard its end) and return it."""
        started = time.perf_counter()
        raw = self._recognizer.FinalResult()
        self._decode_s += time.perf_counter() - started
        return self._final(raw)

    def _final(self, raw: str) -> FinalTranscript:
        transcript = parse_final_result(
            raw,
            audio_ms=1000.0 * self._audio_bytes / (SAMPLE_WIDTH * self.input_rate),
            decode_ms=1000.0 * self._decode_s,
        )
        self._audio_bytes = 0
        self._decode_s = 0.0
        self._last_partial = ""
        return transcript


def parse_final_result(raw: str, audio_ms: float, decode_ms: float) -> FinalTranscript:
    """Turn a Vosk ``Result()``/``FinalResult()`` JSON string into a ``FinalTranscript``."""
    try:
        result = json.loads(raw)
        alternatives: tuple[Alternative, ...] = ()
        if isinstance(result, dict) and "alternatives" in result:
            hypotheses = list(result["alternatives"])
            alternatives = _weighted(hypotheses)
            result = hypotheses[0] if hypotheses else {}
        words = tuple(
            RecognizedWord(
                word=str(w["word"]),
                start=float(w["start"]),
                end=float(w["end"]),
                confidence=float(w.get("conf", alternatives[0].weight if alternatives else 1.0)),
            )
            for w in result.get("result", [])
        )
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"malformed Vosk result {raw[:200]!r}: {exc}") from exc
    if words:
        text = " ".join(w.word for w in words if w.word != UNKNOWN_WORD)
    else:
        text = " ".join(t for t in str(result.get("text", "")).split() if t != UNKNOWN_WORD)
    confidence = sum(w.confidence for w in words) / len(words) if words else 0.0
    return FinalTranscript(
        text=text,
        confidence=confidence,
        words=words,
        audio_ms=audio_ms,
        decode_ms=decode_ms,
        alternatives=alternatives,
    )


def _weighted(hypotheses: Sequence[Any]) -> tuple[Alternative, ...]:
    """Vosk's n-best with lattice scores (higher is better) turned into posterior shares."""
    if not hypotheses:
        return ()
    scores = [float(h["confidence"]) for h in hypotheses]
    top = max(scores)
    exps = [math.exp(score - top) for score in scores]
    total = sum(exps)
    texts = [
        " ".join(t for t in str(h.get("text", "")).split() if t != UNKNOWN_WORD) for h in hypotheses
    ]
    return tuple(Alternative(text, e / total) for text, e in zip(texts, exps, strict=True))


class AsyncRecognizer:
    """Async face of a ``StreamingRecognizer``: decoding in an executor, chunks kept in order."""

    def __init__(self, recognizer: StreamingRecognizer, executor: Executor | None = None) -> None:
        self.recognizer = recognizer
        self._executor = executor
        # asyncio.Lock wakes waiters first-in first-out, so chunks reach Vosk in call order.
        self._lock = asyncio.Lock()
        self._running: asyncio.Future[Any] | None = None

    async def accept(self, pcm: bytes) -> Transcript | None:
        """Feed caller audio without blocking the event loop."""
        result: Transcript | None = await self._run(self.recognizer.accept, pcm)
        return result

    async def finish(self) -> FinalTranscript:
        """Close the current utterance without blocking the event loop."""
        result: FinalTranscript = await self._run(self.recognizer.finish)
        return result

    async def _run(self, function: Callable[..., Any], *args: Any) -> Any:
        async with self._lock:
            if self._running is not None and not self._running.done():
                # A cancelled caller left its chunk decoding: a KaldiRecognizer must never
                # be entered by two threads, and the next chunk must come after it.
                await asyncio.wait([self._running])
            loop = asyncio.get_running_loop()
            self._running = loop.run_in_executor(self._executor, function, *args)
            return await asyncio.shield(self._running)
