"""Blocking pyttsx3/espeak-ng renderer: text to 8 kHz slin16, for one dedicated worker.

What pyttsx3 2.99's espeak driver does, measured here, and what this wrapper does about it:

* espeak-ng runs in ``AUDIO_OUTPUT_RETRIEVAL`` mode, which is asynchronous. On a fresh
  engine ``runAndWait()`` returns while espeak's thread is still synthesising and the WAV
  is written later from that thread (a 35 s text was not on disk yet when it returned).
  The renderer waits for the ``finished-utterance`` notification, with a timeout.
* On every later run, ``runAndWait()`` first calls the driver's ``stop()``, which asks
  ``espeak_IsPlaying()``; in retrieval mode that answers 1 even when idle, so the driver
  flags itself as stopping and its loop calls ``espeak_Cancel()`` right after starting the
  new synthesis, racing it: in about a quarter of the jobs a second, "not completed"
  notification follows, and about 1 job in 100 came out empty or cut short. The renderer
  makes ``stop()`` a no-op unless the driver is really speaking, refuses any job whose
  notification says "not completed", and waits for espeak's thread to go idle
  (``espeak_Synchronize``) before the next job, because the callback keeps touching the
  driver's buffer after notifying.
* The driver keeps the last text and output file between runs and announces each save
  with ``print()`` on stdout; the engine and espeak's callback are process-global, so one
  renderer must own the engine and be used from one thread at a time.
* The WAV header always says 22050 Hz (espeak-ng's native rate for its own voices).
"""

from __future__ import annotations

import importlib.metadata
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyttsx3

from voicebot.speech.audio import read_wav, to_telephone_pcm, trim_trailing_silence

RENDER_FORMAT = "slin16-8k-v2"
"""Bumped whenever post-processing of the rendered audio changes (invalidates caches)."""


class SynthesisError(RuntimeError):
    """Synthesis failed or did not finish in time."""


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    """A voice the engine offers."""

    id: str
    """pyttsx3 voice id (espeak-ng identifier, e.g. ``roa/fr-be``)."""
    name: str
    """Human name (e.g. ``French (Belgium)``)."""
    languages: tuple[str, ...]
    """Language tags of the voice."""


class Pyttsx3Renderer:
    """Owns one pyttsx3 engine; renders text to 8 kHz mono 16-bit PCM (one job at a time)."""

    def __init__(self, work_dir: Path | None = None, timeout_s: float = 30.0) -> None:
        from pyttsx3.drivers import _espeak

        self._engine: Any = pyttsx3.init()
        self._espeak: Any = _espeak
        driver = self._engine.proxy._driver
        cancel_if_speaking = driver.stop

        def stop_only_when_speaking() -> None:
            if driver._speaking:
                cancel_if_speaking()

        driver.stop = stop_only_when_speaking
        self._done = threading.Event()
        self._completed = False
        self._engine.connect("finished-utterance", self._on_finished)
        self._timeout_s = timeout_s
        self._tmp = tempfile.TemporaryDirectory(prefix="voicebot-tts-", dir=work_dir)
        self._jobs = 0
        self._voice_ids = {v.id for v in self.voices()}

    def version(self) -> str:
        """Identify the synthesis stack (pyttsx3, espeak-ng and post-processing versions)."""
        espeak = self._espeak.Info()
        espeak_version = espeak.decode() if isinstance(espeak, bytes) else str(espeak)
        pyttsx3_version = importlib.metadata.version("pyttsx3")
        return f"pyttsx3-{pyttsx3_version}/espeak-ng-{espeak_version}/{RENDER_FORMAT}"

    def voices(self) -> list[VoiceInfo]:
        """List the engine's voices."""
        return [
            VoiceInfo(id=str(v.id), name=str(v.name), languages=tuple(v.languages or ()))
            for v in self._engine.getProperty("voices")
        ]

    def render(self, text: str, voice_id: str, rate_wpm: int) -> bytes:
        """Synthesize ``text`` with a voice at a speaking rate; return 8 kHz slin16 bytes."""
        if not text.strip():
            raise ValueError("text to synthesize is empty")
        if voice_id not in self._voice_ids:
            # pyttsx3 would swallow the error and speak with the previous voice.
            raise ValueError(f"unknown espeak-ng voice {voice_id!r} (see `espeak-ng --voices`)")
        self._jobs += 1
        path = Path(self._tmp.name) / f"job-{self._jobs}.wav"
        self._done.clear()
        self._completed = False
        self._engine.setProperty("voice", voice_id)
        self._engine.setProperty("rate", rate_wpm)
        self._engine.save_to_file(text, str(path))
        self._engine.runAndWait()
        if not self._done.wait(self._timeout_s):
            raise SynthesisError(
                f"espeak-ng did not finish {len(text)} characters within {self._timeout_s:.0f} s"
            )
        # The notification is sent from inside espeak's callback, which then goes on touching
        # the driver (it appends its last samples to the shared buffer and pumps the command
        # queue). Starting the next job before it returns loses or mixes audio (measured: an
        # empty file about once in 20 jobs). espeak_Synchronize waits for its thread to idle.
        self._espeak.Synchronize()
        if not self._completed:
            raise SynthesisError(f"espeak-ng cancelled the synthesis of {text!r}")
        # The notification comes right after the file is closed; allow for a slow disk.
        deadline = time.monotonic() + 1.0
        while not path.is_file() and time.monotonic() < deadline:
            time.sleep(0.005)
        if not path.is_file():
            raise SynthesisError(f"espeak-ng reported success but wrote no audio for {text!r}")
        try:
            samples, rate = read_wav(path)
        finally:
            path.unlink(missing_ok=True)
        if samples.size == 0:
            raise SynthesisError(f"espeak-ng produced no audio for {text!r} (voice {voice_id})")
        return trim_trailing_silence(to_telephone_pcm(samples, rate))

    def close(self) -> None:
        """Remove the scratch directory."""
        self._tmp.cleanup()

    def _on_finished(self, name: object = None, completed: bool = True) -> None:
        self._completed = completed
        self._done.set()
