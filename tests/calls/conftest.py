"""A real call stack in-process: simulator (the only fake: Asterisk), AMI, AudioSocket,
the session with Silero VAD, the router on USE v3, espeak-ng speech and an SQLite call log.

Transcripts come from a script (no French Vosk model is installable here); the caller's
audio is still real synthesized speech that VAD and endpointing process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from voicebot.assembly import AssemblyOptions, Runtime, assemble
from voicebot.calllog.writer import CallLogWriter
from voicebot.calls.recognition import TranscriptScript
from voicebot.calls.server import CallServer
from voicebot.calls.services import CallServices
from voicebot.config import Settings
from voicebot.telephony import contract
from voicebot.telephony.ami import AmiClient
from voicebot.telephony.simulator import AsteriskSimulator, SimulatedCall, SimulatorTiming

SECRET = "call-tests-secret"
OPEN_MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Brussels"))


@dataclass
class CallStack:
    """Everything a call test drives or inspects."""

    runtime: Runtime
    script: TranscriptScript
    simulator: AsteriskSimulator

    @property
    def services(self) -> CallServices:
        return self.runtime.calls

    @property
    def writer(self) -> CallLogWriter:
        return self.runtime.writer

    @property
    def server(self) -> CallServer:
        return self.runtime.server

    @property
    def ami(self) -> AmiClient:
        return self.runtime.ami


@pytest.fixture(scope="session")
def calls_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Caches (index, rendered prompts) shared by the session's call tests."""
    return tmp_path_factory.mktemp("calls-data")


@pytest.fixture
async def stack(calls_data_dir: Path, tmp_path: Path) -> AsyncIterator[CallStack]:
    simulator = AsteriskSimulator(
        secret=SECRET,
        department_context=contract.DEPARTMENTS_CONTEXT,
        timing=SimulatorTiming(ring_time=0.1, talk_time=0.1, fallback_wait=3.0),
    )
    await simulator.start()
    # A Monday morning, when every department of the sample KB is open, whatever the
    # day the tests run on (the closed-department paths are the dialog tests' job).
    settings = Settings(
        data_dir=calls_data_dir,
        database_url=f"sqlite:///{tmp_path / 'calls.db'}",
        no_input_timeout_s=4.0,
        audiosocket_host="127.0.0.1",
        audiosocket_port=0,
        ami_port=simulator.ami_port,
        ami_secret=SECRET,
        simulated_time=OPEN_MONDAY.isoformat(),
        call_grace_s=5.0,
    )
    script = TranscriptScript()
    try:
        options = AssemblyOptions(script=script, ami_wait_s=5.0, writer_flush_s=10.0)
        async with assemble(settings, options) as runtime:
            simulator.connect_assistant("127.0.0.1", runtime.server.port)
            yield CallStack(runtime, script, simulator)
    finally:
        await simulator.stop()


async def wait_quiet(call: SimulatedCall, quiet_s: float = 0.5, timeout: float = 30.0) -> None:
    """Wait until the assistant has said something and then stopped for ``quiet_s``."""
    async with asyncio.timeout(timeout):
        while True:
            spoke = call.last_voiced_at
            if spoke is not None and time.monotonic() - spoke > quiet_s:
                return
            if call.ended:
                return
            await asyncio.sleep(0.05)


async def say(stack: CallStack, call: SimulatedCall, text: str) -> None:
    """The caller says ``text``: real synthesized speech, then silence frames."""
    stack.script.add(str(call.call_id), [text])
    audio = await stack.services.tts.synthesizer.synthesize(text, "fr")
    await call.send_audio(audio.pcm + bytes(320 * 30))
