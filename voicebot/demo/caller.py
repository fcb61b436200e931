"""The demo's caller: speaks each line once the assistant has finished, then waits for the
PBX to take the call away (hang-up or transfer).

A line is synthesised with the assistant's own espeak-ng voice and streamed in real time
through AudioSocket, so voice activity detection and endpointing work on real audio; with
no speech model, the same line is put in the transcript script for the recogniser.
"""

from __future__ import annotations

import asyncio
import time
import wave
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from voicebot.calls.recognition import TranscriptScript
from voicebot.calls.services import CallServices
from voicebot.demo.errors import DemoError
from voicebot.speech.audio import read_wav, to_telephone_pcm
from voicebot.telephony.simulator import SimulatedCall

FRAME_BYTES = 320
CALLER_SILENCE = bytes(FRAME_BYTES * 40)
"""0.8 s of silence after each line (endpointing needs 300 ms of it, more under load)."""
QUIET_S = 0.6
"""The caller speaks once the assistant has been silent this long (between sentences of
one reply espeak-ng pauses less)."""
TURN_TIMEOUT_S = 60.0

Turn = str | bytes
"""A line to say, or recorded caller audio (8 kHz slin)."""


async def converse(
    services: CallServices,
    script: TranscriptScript | None,
    call: SimulatedCall,
    turns: Sequence[Turn],
    hangup_timeout: float,
) -> None:
    """Say each turn after the assistant's prompt; return once AudioSocket is closed."""
    await _wait_quiet(call)
    for turn in turns:
        if call.ended or not call.socket_open:
            break
        if isinstance(turn, bytes):
            pcm = turn
        else:
            if script is not None:
                script.add(str(call.call_id), [turn])
            language = services.kb.city.default_language
            pcm = (await services.tts.synthesizer.synthesize(turn, language)).pcm
        await call.send_audio(pcm + CALLER_SILENCE)
        await _wait_quiet(call)
    if call.socket_open:
        try:
            await call.wait_socket_closed(hangup_timeout)
        except TimeoutError:
            raise DemoError(
                f"call {call.call_id}: the assistant neither hung up nor transferred within "
                f"{hangup_timeout:g} s of the caller's last words"
            ) from None


async def _wait_quiet(call: SimulatedCall) -> None:
    """Until the assistant has spoken and then been quiet for ``QUIET_S`` (or the call
    left AudioSocket)."""
    try:
        async with asyncio.timeout(TURN_TIMEOUT_S):
            if call.last_voiced_at is None:
                await _first_of(
                    call.wait_heard(1, TURN_TIMEOUT_S), call.wait_socket_closed(TURN_TIMEOUT_S)
                )
            while call.socket_open and call.last_voiced_at is not None:
                quiet_for = time.monotonic() - call.last_voiced_at
                if quiet_for >= QUIET_S:
                    return
                try:
                    # Any new voiced frame restarts the count; none within the rest: quiet.
                    await call.wait_heard(call.voiced_bytes + 1, QUIET_S - quiet_for)
                except TimeoutError:
                    return
    except TimeoutError:
        raise DemoError(
            f"call {call.call_id}: the assistant kept talking (or never spoke) for "
            f"{TURN_TIMEOUT_S:g} s"
        ) from None


async def _first_of(*waits: Coroutine[Any, Any, object]) -> None:
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def read_caller_wav(path: Path) -> bytes:
    """A recorded caller turn as 8 kHz slin; :class:`DemoError` naming the file if not."""
    try:
        samples, rate = read_wav(path)
    except (OSError, ValueError) as exc:
        raise DemoError(f"{path}: cannot read caller WAV: {exc}") from None
    return to_telephone_pcm(samples, rate)


def save_audio(path: Path, pcm: bytes) -> None:
    """What the assistant said, as an 8 kHz mono WAV."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(pcm)
