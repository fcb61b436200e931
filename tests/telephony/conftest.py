"""Shared fixtures: a real AudioSocket server and the Asterisk simulator on ephemeral ports."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from voicebot.telephony.ami import AmiClient, AmiSettings
from voicebot.telephony.audiosocket import AudioSocketConnection, AudioSocketServer
from voicebot.telephony.simulator import AsteriskSimulator, SimulatorTiming
from voicebot.telephony.simulator.rights import FULL_RIGHTS

USERNAME = "voicebot"
SECRET = "s3cret"
HARNESS = "harness"
"""A second AMI user with every right (Originate, all events), as the recorded Asterisk
22 run had beside the voicebot user: the simulator's voicebot user is manager.conf's."""


class ConnectionCollector:
    """AudioSocket handler that hands each connection to the test and keeps it open
    until the peer or the test closes it."""

    def __init__(self) -> None:
        self.connections: asyncio.Queue[AudioSocketConnection] = asyncio.Queue()
        self.finished: list[AudioSocketConnection] = []

    async def __call__(self, conn: AudioSocketConnection) -> None:
        await self.connections.put(conn)
        await conn.wait_closed()
        self.finished.append(conn)

    async def next(self, timeout: float = 20.0) -> AudioSocketConnection:
        async with asyncio.timeout(timeout):
            return await self.connections.get()


@pytest.fixture
def collector() -> ConnectionCollector:
    return ConnectionCollector()


@pytest.fixture
async def audiosocket_server(collector: ConnectionCollector) -> AsyncIterator[AudioSocketServer]:
    server = AudioSocketServer(collector, "127.0.0.1", 0, uuid_timeout=1.0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop(timeout=1.0)


@pytest.fixture
async def simulator(audiosocket_server: AudioSocketServer) -> AsyncIterator[AsteriskSimulator]:
    sim = AsteriskSimulator(
        audiosocket_port=audiosocket_server.port,
        username=USERNAME,
        secret=SECRET,
        extra_ami_users={HARNESS: (SECRET, FULL_RIGHTS)},
        auth_failure_delay=0.05,
        timing=SimulatorTiming(ring_time=0.05, talk_time=0.05, fallback_wait=0.3),
    )
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


def ami_settings(sim: AsteriskSimulator, **overrides: Any) -> AmiSettings:
    base = AmiSettings(
        port=sim.ami_port,
        username=USERNAME,
        secret=SECRET,
        action_timeout=2.0,
        ping_interval=30.0,
    )
    return dataclasses.replace(base, **overrides)


@pytest.fixture
async def ami(simulator: AsteriskSimulator) -> AsyncIterator[AmiClient]:
    client = AmiClient(ami_settings(simulator))
    await client.connect(timeout=20)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def harness_ami(simulator: AsteriskSimulator) -> AsyncIterator[AmiClient]:
    """The harness user's connection: places calls with Originate, sees every event."""
    client = AmiClient(ami_settings(simulator, username=HARNESS))
    await client.connect(timeout=20)
    try:
        yield client
    finally:
        await client.close()
