"""A caller's side of end-to-end calls: placing them, talking, and checking what was heard."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.e2e.served import ServedAssistant
from tests.support.caller import say
from voicebot.dialog.prompts import Prompt
from voicebot.speech.tts import SpeechSynthesizer
from voicebot.speech.tts_cache import TtsCache
from voicebot.telephony.simulator import SimulatedCall

BYTES_PER_SECOND = 16_000
"""8 kHz slin16."""
GREETING_BEFORE_TALKING_S = 0.6
"""How much of the greeting a caller hears before talking over it."""


async def place_call(served: ServedAssistant, caller: str, lines: list[str]) -> SimulatedCall:
    """Call the assistant from ``caller``; ``lines`` are the transcripts of what they will say."""
    call = await served.simulator.place_call(caller)
    served.process.script(str(call.call_id), lines)
    served.placed.append(str(call.call_id))
    return call


async def talk_over_greeting(call: SimulatedCall, speech: bytes, timeout: float = 15.0) -> float:
    """Let the greeting start, then say ``speech`` over it, as impatient callers do; returns
    when the last voiced frame was sent (time.monotonic())."""
    await call.wait_heard(int(GREETING_BEFORE_TALKING_S * BYTES_PER_SECOND), timeout)
    return await say(call, speech)


def has_heard(call: SimulatedCall, pcm: bytes) -> bool:
    """Whether ``pcm`` reached the caller whole, uninterrupted, in the assistant's stream."""
    return pcm in call.received_audio()


async def wait_until_heard(call: SimulatedCall, pcm: bytes, timeout: float) -> None:
    """Wait until the caller has heard all of ``pcm``."""
    async with asyncio.timeout(timeout):
        while not has_heard(call, pcm):
            if call.ended:
                raise AssertionError("the call ended before the expected audio was heard")
            await asyncio.sleep(0.05)


class AssistantRenders:
    """The audio the served assistant plays for a sentence, read from its TTS cache.

    espeak-ng does not render a text to the same bytes twice, so what the caller heard is
    compared with the very render the serve process played (its prompts are rendered into
    the cache before the first call), not with a fresh synthesis.
    """

    def __init__(self, cache_dir: Path, synthesizer: SpeechSynthesizer) -> None:
        self._cache = TtsCache(cache_dir / "tts", synthesizer, memory_items=0)

    def pcm(self, prompt: Prompt) -> bytes:
        """The 8 kHz slin16 render of ``prompt``; fails if the assistant never rendered it."""
        path = self._cache.path_for(self._cache.key(prompt.text, prompt.language))
        if not path.is_file():
            raise AssertionError(f"the assistant has no render of {prompt.key!r}: {prompt.text!r}")
        return path.read_bytes()
