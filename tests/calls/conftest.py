"""A real call stack in-process: simulator (the only fake: Asterisk), AMI, AudioSocket,
the session with Silero VAD, the router on USE v3, espeak-ng speech and an SQLite call log.

Transcripts come from a script (no French Vosk model is installable here); the caller's
audio is still real synthesized speech that VAD and endpointing process.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from voicebot.assembly import AssemblyOptions, Runtime, assemble
from voicebot.calllog.views import CallDetail
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


@contextlib.asynccontextmanager
async def open_stack(data_dir: Path, database: Path) -> AsyncIterator[CallStack]:
    """The simulator and the assembled runtime, wired together."""
    simulator = AsteriskSimulator(
        secret=SECRET,
        department_context=contract.DEPARTMENTS_CONTEXT,
        timing=SimulatorTiming(ring_time=0.1, talk_time=0.1, fallback_wait=3.0),
    )
    await simulator.start()
    # A Monday morning, when every department of the sample KB is open, whatever the
    # day the tests run on (the closed-department paths are the dialog tests' job).
    settings = Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{database}",
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


@pytest.fixture
async def stack(calls_data_dir: Path, tmp_path: Path) -> AsyncIterator[CallStack]:
    async with open_stack(calls_data_dir, tmp_path / "calls.db") as opened:
        yield opened


async def stored(stack: CallStack, call_id: str) -> CallDetail:
    """The call's record once the session has ended and the writer has stored it."""
    async with asyncio.timeout(20):
        while True:
            assert stack.writer.flush(10), "the writer could not reach the database"
            detail = stack.writer.repository.get_call(call_id)
            if detail is not None:
                return detail
            await asyncio.sleep(0.1)


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
