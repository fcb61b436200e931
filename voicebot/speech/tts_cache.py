"""Disk cache of rendered speech with an in-memory LRU in front, and pre-rendering.

A render is keyed by sha256 of (synthesizer version, voice id, rate, text): a changed
knowledge-base answer, voice or espeak-ng version misses the cache, everything else is
reused. Files hold raw 8 kHz slin16 (no header), written atomically. A prompt the city
has recorded (``recordings``) is played from its recording instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import tempfile
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from voicebot.speech.recordings import RecordedPrompts
from voicebot.speech.tts import RenderedAudio, SpeechSynthesizer

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PrerenderReport:
    """What ``prerender`` did."""

    rendered: int
    """Texts synthesized because no render was cached."""
    reused: int
    """Texts already cached."""


class TtsCache:
    """Rendered audio by (voice, rate, text, synthesizer version): memory LRU, then disk."""

    def __init__(
        self,
        directory: Path,
        synthesizer: SpeechSynthesizer,
        memory_items: int = 256,
        recordings: RecordedPrompts | None = None,
    ) -> None:
        if memory_items < 0:
            raise ValueError(f"memory_items must be >= 0, got {memory_items}")
        self.directory = directory
        self.synthesizer = synthesizer
        self.memory_items = memory_items
        self.recordings = recordings or RecordedPrompts({})
        """The city's recordings, preferred over synthesis for the prompts they cover."""
        self._memory: OrderedDict[str, RenderedAudio] = OrderedDict()
        self._in_flight: dict[str, asyncio.Future[RenderedAudio]] = {}

    def key(self, text: str, language: str) -> str:
        """Return the cache key of ``text`` spoken in ``language`` (needs a started synthesizer)."""
        identity = [
            self.synthesizer.version,
            self.synthesizer.voice_for(language),
            self.synthesizer.rate_wpm,
            text,
        ]
        encoded = json.dumps(identity, ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(encoded).hexdigest()

    def path_for(self, key: str) -> Path:
        """File holding the render of ``key``."""
        return self.directory / key[:2] / f"{key}.pcm"

    def lookup_memory(self, text: str, language: str) -> RenderedAudio | None:
        """Return the render if it is in memory (never touches the disk)."""
        key = self.key(text, language)
        audio = self._memory.get(key)
        if audio is not None:
            self._memory.move_to_end(key)
        return audio

    async def get(self, text: str, language: str, key: str | None = None) -> RenderedAudio:
        """The audio of prompt ``key`` (its recording, if any), else the render of ``text``
        in ``language``: memory, else disk, else synthesize."""
        if key is not None:
            recorded = self.recordings.get(language, key)
            if recorded is not None:
                return recorded
        if not self.synthesizer.started:
            await self.synthesizer.start()
        key = self.key(text, language)
        audio = self._memory.get(key)
        if audio is not None:
            self._memory.move_to_end(key)
            return audio
        pending = self._in_flight.get(key)
        if pending is not None:
            # Another task is already loading or rendering it: share its result.
            return await asyncio.shield(pending)
        future: asyncio.Future[RenderedAudio] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            audio = await self._load_or_render(key, text, language)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters (if any) re-raise it themselves
            raise
        finally:
            del self._in_flight[key]
        future.set_result(audio)
        return audio

    async def prerender(self, texts_by_language: Mapping[str, Iterable[str]]) -> PrerenderReport:
        """Render every text not cached yet; return how many were rendered and reused."""
        if not self.synthesizer.started:
            await self.synthesizer.start()
        rendered = reused = 0
        for language, texts in texts_by_language.items():
            for text in dict.fromkeys(texts):
                key = self.key(text, language)
                if key in self._memory or await asyncio.to_thread(self.path_for(key).is_file):
                    reused += 1
                    continue
                await self.get(text, language)
                rendered += 1
        _LOGGER.info("TTS prerender: %d rendered, %d reused", rendered, reused)
        return PrerenderReport(rendered=rendered, reused=reused)

    async def _load_or_render(self, key: str, text: str, language: str) -> RenderedAudio:
        path = self.path_for(key)
        pcm = await asyncio.to_thread(_read_if_present, path)
        if pcm is None:
            audio = await self.synthesizer.synthesize(text, language)
            await asyncio.to_thread(_write_atomically, path, audio.pcm)
        else:
            audio = RenderedAudio(pcm=pcm)
        self._remember(key, audio)
        return audio

    def _remember(self, key: str, audio: RenderedAudio) -> None:
        if self.memory_items == 0:
            return
        self._memory[key] = audio
        self._memory.move_to_end(key)
        while len(self._memory) > self.memory_items:
            self._memory.popitem(last=False)


def _read_if_present(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same directory, then rename: readers see either no file or the whole render.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pcm")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
