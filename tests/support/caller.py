"""A scripted caller: real synthesized speech over a simulated call, waiting like a person."""

from __future__ import annotations

import asyncio
import time

from voicebot.speech.tts import SpeechSynthesizer
from voicebot.telephony.simulator import SimulatedCall

SILENCE_FRAME = bytes(320)


class CallerVoice:
    """Synthesizes what callers say (espeak-ng, 8 kHz), each text once."""

    def __init__(self, language: str = "fr") -> None:
        self.language = language
        self._synthesizer = SpeechSynthesizer()
        self._cache: dict[str, bytes] = {}

    async def start(self) -> None:
        """Start the synthesis worker."""
        await self._synthesizer.start()

    async def close(self) -> None:
        """Stop the synthesis worker."""
        await self._synthesizer.close()

    async def speech(self, text: str) -> bytes:
        """8 kHz slin16 of ``text`` spoken by the caller voice."""
        if text not in self._cache:
            self._cache[text] = (await self._synthesizer.synthesize(text, self.language)).pcm
        return self._cache[text]


async def wait_quiet(call: SimulatedCall, quiet_s: float = 0.5, timeout: float = 60.0) -> float:
    """Wait until the assistant spoke and then stayed silent ``quiet_s``; return when it
    stopped (time.monotonic()), or now if the call ended."""
    async with asyncio.timeout(timeout):
        while not call.ended and call.socket_open:
            spoke = call.last_voiced_at
            if spoke is not None and time.monotonic() - spoke > quiet_s:
                return spoke
            await asyncio.sleep(0.02)
    return time.monotonic()


async def say(call: SimulatedCall, pcm: bytes, trailing_silence_s: float = 0.8) -> float:
    """Stream speech then silence frames in real time; return when the last voiced frame
    was sent (time.monotonic())."""
    await call.send_audio(pcm)
    last_voice = time.monotonic()
    await call.send_audio(SILENCE_FRAME * int(trailing_silence_s / 0.02))
    return last_voice


async def first_reply_after(call: SimulatedCall, moment: float, timeout: float = 10.0) -> float:
    """Arrival time of the first voiced assistant frame after ``moment`` (time.monotonic());
    keep-alive silence is not a reply."""
    async with asyncio.timeout(timeout):
        while True:
            first = call.first_voiced_after(moment)
            if first is not None:
                return first
            if call.ended or not call.socket_open:
                raise ConnectionError("the call ended before the assistant replied")
            await asyncio.sleep(0.005)
