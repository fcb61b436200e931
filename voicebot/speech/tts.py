"""Async speech synthesis: text and language in, 8 kHz telephone audio out.

Synthesis runs in one dedicated worker process (see ``tts_worker``), driven from one
dedicated thread, so concurrent callers are served one after the other, in order, and
the event loop never waits on espeak-ng.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from voicebot.speech.audio import FRAME_BYTES, SAMPLE_RATE, duration_seconds, split_frames
from voicebot.speech.tts_engine import SynthesisError, VoiceInfo
from voicebot.speech.tts_worker import RenderJob, SynthesisWorker

DEFAULT_VOICES: Mapping[str, str] = {
    "fr": "roa/fr-be",
    "nl": "gmw/nl",
    "en": "gmw/en",
    "de": "gmw/de",
}
"""pyttsx3 voice id (espeak-ng identifier) per language: Belgian French, Dutch, British
English, German."""

DEFAULT_RATE_WPM = 165
"""Speaking rate: a little slower than espeak's 175 default, for the telephone."""

__all__ = ["DEFAULT_VOICES", "RenderedAudio", "SpeechSynthesizer", "SynthesisError"]


@dataclass(frozen=True, slots=True)
class RenderedAudio:
    """Synthesized speech as telephone audio."""

    pcm: bytes
    """8 kHz 16-bit little-endian mono samples."""

    @property
    def duration_s(self) -> float:
        """Duration in seconds."""
        return duration_seconds(self.pcm, SAMPLE_RATE)

    def frames(self) -> list[bytes]:
        """The audio as 20 ms frames of 320 bytes (last one zero-padded)."""
        return split_frames(self.pcm, FRAME_BYTES)


class SpeechSynthesizer:
    """Renders text with the configured voice of each language, off the event loop."""

    def __init__(
        self,
        voices: Mapping[str, str] = DEFAULT_VOICES,
        rate_wpm: int = DEFAULT_RATE_WPM,
        job_timeout_s: float = 30.0,
        worker: SynthesisWorker | None = None,
    ) -> None:
        if not voices:
            raise ValueError("SpeechSynthesizer needs at least one language -> voice mapping")
        if not 80 <= rate_wpm <= 450:
            raise ValueError(f"speaking rate must be 80..450 words per minute, got {rate_wpm}")
        self.voices = dict(voices)
        self.rate_wpm = rate_wpm
        # A worker passed in is shared (e.g. by tests) and left running by ``close``.
        self._owns_worker = worker is None
        self._worker = worker if worker is not None else SynthesisWorker(job_timeout_s)
        # One thread: jobs reach the worker one at a time, in submission order.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voicebot-tts")
        self._version: str | None = None
        self._available: tuple[VoiceInfo, ...] = ()

    @property
    def started(self) -> bool:
        """True once ``start`` has checked the worker and the voices."""
        return self._version is not None

    @property
    def version(self) -> str:
        """Synthesis stack version (pyttsx3, espeak-ng, post-processing); needs ``start``."""
        if self._version is None:
            raise RuntimeError("SpeechSynthesizer.start() must be awaited first")
        return self._version

    @property
    def available_voices(self) -> tuple[VoiceInfo, ...]:
        """Voices the engine offers (known after ``start``)."""
        return self._available

    def voice_for(self, language: str) -> str:
        """Return the voice id configured for ``language``."""
        try:
            return self.voices[language]
        except KeyError:
            known = ", ".join(sorted(self.voices))
            raise ValueError(f"no TTS voice configured for {language!r} (have: {known})") from None

    async def start(self) -> None:
        """Start the worker and check every configured voice exists."""
        loop = asyncio.get_running_loop()
        info = await loop.run_in_executor(self._executor, self._worker.start)
        ids = {v.id for v in info.voices}
        missing = {lang: v for lang, v in self.voices.items() if v not in ids}
        if missing:
            raise ValueError(
                "TTS voices not offered by espeak-ng: "
                + ", ".join(f"{lang}={voice}" for lang, voice in sorted(missing.items()))
            )
        self._version = info.version
        self._available = info.voices

    async def synthesize(self, text: str, language: str) -> RenderedAudio:
        """Render ``text`` in ``language`` to 8 kHz telephone audio."""
        if not text.strip():
            raise ValueError("text to synthesize is empty")
        job = RenderJob(text=text, voice_id=self.voice_for(language), rate_wpm=self.rate_wpm)
        if self._version is None:
            await self.start()
        loop = asyncio.get_running_loop()
        pcm = await loop.run_in_executor(self._executor, self._worker.render, job)
        return RenderedAudio(pcm=pcm)

    async def close(self) -> None:
        """Stop the worker process (if this synthesizer started it) and the thread."""
        if self._owns_worker:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, self._worker.close)
        await asyncio.to_thread(self._executor.shutdown, wait=True)
