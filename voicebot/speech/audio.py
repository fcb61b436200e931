"""Telephone PCM helpers: constants, int16 conversions, resampling, framing, WAV, level."""

from __future__ import annotations

import math
import wave
from math import gcd
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import signal

SAMPLE_RATE = 8000
"""Telephone sample rate (Hz) used on the AudioSocket link."""
SAMPLE_WIDTH = 2
"""Bytes per sample: signed 16-bit little-endian ("slin16")."""
FRAME_MS = 20
"""Duration of one telephone frame in milliseconds."""
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
"""Samples in one 20 ms frame at 8 kHz (160)."""
FRAME_BYTES = FRAME_SAMPLES * SAMPLE_WIDTH
"""Bytes in one 20 ms frame at 8 kHz (320)."""

Int16Array = npt.NDArray[np.int16]
FloatArray = npt.NDArray[np.float32]

_INT16_MAX = 32767
_INT16_MIN = -32768


def pcm_to_int16(pcm: bytes | bytearray | memoryview) -> Int16Array:
    """Return the samples of little-endian 16-bit PCM bytes as an int16 array."""
    if len(pcm) % SAMPLE_WIDTH:
        raise ValueError(f"PCM buffer of {len(pcm)} bytes is not a whole number of 16-bit samples")
    return np.frombuffer(bytes(pcm), dtype="<i2").astype(np.int16, copy=False)


def int16_to_pcm(samples: npt.NDArray[np.generic]) -> bytes:
    """Return samples (int or float, clipped to the int16 range) as little-endian PCM bytes."""
    array = np.asarray(samples)
    if array.ndim != 1:
        raise ValueError(f"expected mono samples (1-D array), got shape {array.shape}")
    if np.issubdtype(array.dtype, np.floating):
        array = np.rint(array)
    return np.clip(array, _INT16_MIN, _INT16_MAX).astype("<i2").tobytes()


def resample(samples: npt.NDArray[np.generic], from_rate: int, to_rate: int) -> FloatArray:
    """Return mono samples resampled with a polyphase anti-aliasing filter (float32 output)."""
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} -> {to_rate}")
    data = np.asarray(samples, dtype=np.float32)
    if from_rate == to_rate or data.size == 0:
        return data.copy()
    divisor = gcd(from_rate, to_rate)
    up, down = to_rate // divisor, from_rate // divisor
    resampled: FloatArray = signal.resample_poly(data, up, down).astype(np.float32)
    return resampled


def to_telephone_pcm(samples: npt.NDArray[np.generic], rate: int) -> bytes:
    """Return mono samples at any rate as 8 kHz slin16 bytes."""
    return int16_to_pcm(resample(samples, rate, SAMPLE_RATE))


def trim_trailing_silence(pcm: bytes, keep_s: float = 0.12, floor_dbfs: float = -50.0) -> bytes:
    """Drop the silence after the last sample above ``floor_dbfs``, keeping ``keep_s`` of it.

    espeak-ng ends every text with ~330 ms of silence: between two sentences of one reply
    that is a pause too long, and before the caller may speak it is dead air.
    """
    samples = pcm_to_int16(pcm)
    loud = np.nonzero(np.abs(samples.astype(np.int32)) > _INT16_MAX * 10 ** (floor_dbfs / 20))[0]
    if loud.size == 0:
        return pcm
    end = min(samples.size, int(loud[-1]) + 1 + int(keep_s * SAMPLE_RATE))
    return pcm[: end * SAMPLE_WIDTH]


def split_frames(pcm: bytes, frame_bytes: int = FRAME_BYTES) -> list[bytes]:
    """Split PCM into fixed-size frames, zero-padding the last one."""
    if frame_bytes <= 0 or frame_bytes % SAMPLE_WIDTH:
        raise ValueError(f"frame size must be a positive even byte count, got {frame_bytes}")
    frames = [pcm[i : i + frame_bytes] for i in range(0, len(pcm), frame_bytes)]
    if frames and len(frames[-1]) < frame_bytes:
        frames[-1] = frames[-1] + bytes(frame_bytes - len(frames[-1]))
    return frames


def duration_seconds(pcm: bytes, rate: int = SAMPLE_RATE) -> float:
    """Return the duration of 16-bit mono PCM at the given rate."""
    return len(pcm) / (SAMPLE_WIDTH * rate)


def rms_dbfs(pcm: bytes | Int16Array) -> float:
    """Return the RMS level in dBFS (-inf for digital silence or an empty buffer)."""
    samples = pcm_to_int16(pcm) if isinstance(pcm, bytes | bytearray) else pcm
    if samples.size == 0:
        return -math.inf
    rms = float(np.sqrt(np.mean(np.square(samples.astype(np.float64)))))
    if rms == 0.0:
        return -math.inf
    return 20.0 * math.log10(rms / _INT16_MAX)


def read_wav(path: Path) -> tuple[Int16Array, int]:
    """Read a 16-bit PCM WAV file; return mono int16 samples (channels averaged) and the rate."""
    try:
        with wave.open(str(path), "rb") as wav:
            width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"{path}: not a readable PCM WAV file ({exc})") from exc
    if width != SAMPLE_WIDTH:
        raise ValueError(f"{path}: expected 16-bit samples, got {8 * width}-bit")
    samples = pcm_to_int16(raw)
    if channels > 1:
        usable = samples[: samples.size - samples.size % channels]
        mixed = usable.reshape(-1, channels).astype(np.int32).mean(axis=1)
        samples = np.rint(mixed).astype(np.int16)
    return samples, rate


def write_wav(path: Path, pcm: bytes, rate: int = SAMPLE_RATE) -> None:
    """Write 16-bit mono PCM bytes to a WAV file."""
    if len(pcm) % SAMPLE_WIDTH:
        raise ValueError(f"PCM buffer of {len(pcm)} bytes is not a whole number of 16-bit samples")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(SAMPLE_WIDTH)
        wav.setframerate(rate)
        wav.writeframes(pcm)


class StreamingResampler:
    """Resample a PCM stream chunk by chunk, with output identical to one-shot filtering.

    The filter state and any odd trailing byte are carried between chunks, so the
    frame sizes Asterisk happens to send (320, 108, 96 bytes...) do not change the result.
    """

    def __init__(self, from_rate: int, to_rate: int, taps_per_phase: int = 24) -> None:
        if from_rate <= 0 or to_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {from_rate} -> {to_rate}")
        divisor = gcd(from_rate, to_rate)
        self.from_rate = from_rate
        self.to_rate = to_rate
        self._up = to_rate // divisor
        self._down = from_rate // divisor
        self._passthrough = self._up == self._down == 1
        if self._passthrough:
            taps = np.ones(1)
        else:
            # Cut-off at the narrower Nyquist band; Kaiser beta 8 gives ~80 dB stop-band.
            numtaps = taps_per_phase * max(self._up, self._down) | 1
            cutoff = 1.0 / max(self._up, self._down)
            taps = signal.firwin(numtaps, cutoff, window=("kaiser", 8.0)) * self._up
        self._taps = np.asarray(taps, dtype=np.float64)
        self._zi = np.zeros(self._taps.size - 1, dtype=np.float64)
        self._phase = 0
        self._pending = b""

    @property
    def delay_seconds(self) -> float:
        """Constant latency the filter adds (its group delay), in seconds."""
        if self._passthrough:
            return 0.0
        return float(self._taps.size - 1) / 2 / (self.from_rate * self._up)

    def process(self, pcm: bytes) -> bytes:
        """Feed input PCM bytes; return the resampled PCM available so far."""
        data = self._pending + pcm
        usable = len(data) - len(data) % SAMPLE_WIDTH
        self._pending = data[usable:]
        if self._passthrough or usable == 0:
            return data[:usable]
        samples = pcm_to_int16(data[:usable]).astype(np.float64)
        stuffed = np.zeros(samples.size * self._up, dtype=np.float64)
        stuffed[:: self._up] = samples
        filtered, self._zi = signal.lfilter(self._taps, 1.0, stuffed, zi=self._zi)
        first = (-self._phase) % self._down
        self._phase = (self._phase + filtered.size) % self._down
        return int16_to_pcm(filtered[first :: self._down])

    def reset(self) -> None:
        """Forget the filter history (start of a new, unrelated stream)."""
        self._zi = np.zeros_like(self._zi)
        self._phase = 0
        self._pending = b""
