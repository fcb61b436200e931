"""Typical calls played through the Asterisk simulator, with every AMI event recorded.

Each flow drives the simulator only through what the assistant really uses: AudioSocket
(the real server) and AMI (the real connector). The recorded events feed the checks that
the simulator mirrors extensions.conf and that manager.conf lets through what the
channel directory needs.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from voicebot.telephony import contract
from voicebot.telephony.ami import AmiClient, AmiSettings
from voicebot.telephony.ami_codec import AmiEvent
from voicebot.telephony.audiosocket import AudioSocketConnection, AudioSocketServer
from voicebot.telephony.simulator import (
    AsteriskSimulator,
    DepartmentBehaviour,
    SimulatedCall,
    SimulatorTiming,
)
from voicebot.telephony.simulator.rights import FULL_RIGHTS

SECRET = "flows-secret"
TIMING = SimulatorTiming(ring_time=0.05, talk_time=0.05, fallback_wait=0.2)


@dataclass(slots=True)
class FlowRun:
    """What one run of all flows produced."""

    simulator: AsteriskSimulator
    audiosocket_port: int
    events: list[AmiEvent] = field(default_factory=list)
    """Every AMI event the connector received, in order."""
    calls: list[SimulatedCall] = field(default_factory=list)
    variables: dict[str, dict[str, str]] = field(default_factory=dict)
    """Call UUID -> the channel variables the flow set over AMI."""


class _Connections:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[AudioSocketConnection] = asyncio.Queue()

    async def __call__(self, conn: AudioSocketConnection) -> None:
        await self.queue.put(conn)
        await conn.wait_closed()

    async def next(self) -> AudioSocketConnection:
        async with asyncio.timeout(20):
            return await self.queue.get()


Flow = Callable[["Pbx"], Awaitable[SimulatedCall]]


@dataclass(slots=True)
class Pbx:
    """The simulated PBX of a test, driven like the assistant drives Asterisk."""

    run: FlowRun
    ami: AmiClient
    connections: _Connections

    async def call(self) -> tuple[SimulatedCall, AudioSocketConnection]:
        call = await self.run.simulator.place_call()
        self.run.calls.append(call)
        self.run.variables[str(call.call_id)] = {}
        return call, await self.connections.next()

    async def setvars(self, call: SimulatedCall, values: dict[str, str]) -> None:
        for name, value in values.items():
            await self.ami.setvar(call.channel.name, name, value)
        self.run.variables[str(call.call_id)].update(values)

    async def transfer(self, call: SimulatedCall, exten: str, whisper: bool) -> None:
        values = {
            contract.VAR_TARGET: "population",
            contract.VAR_EXTEN: exten,
            contract.VAR_INTENT: "population",
            contract.VAR_SUMMARY: "changement d adresse",
            contract.VAR_LANG: "fr",
            contract.VAR_WHISPER: f"{contract.WHISPER_SOUND_PREFIX}{call.call_id}"
            if whisper
            else "",
        }
        await self.setvars(call, values)
        await self.ami.redirect(call.channel.name, contract.DEPARTMENTS_CONTEXT, exten)


async def answered_transfer_with_whisper(ctx: Pbx) -> SimulatedCall:
    call, _ = await ctx.call()
    await ctx.transfer(call, "2001", whisper=True)
    return call


async def busy_department_then_operator_by_itself(ctx: Pbx) -> SimulatedCall:
    ctx.run.simulator.set_department("2002", DepartmentBehaviour.BUSY)
    call, _ = await ctx.call()
    await ctx.transfer(call, "2002", whisper=False)
    return call


async def unanswered_department_then_assistant_redirects(ctx: Pbx) -> SimulatedCall:
    ctx.run.simulator.set_department("2003", DepartmentBehaviour.NO_ANSWER)
    call, _ = await ctx.call()
    await ctx.transfer(call, "2003", whisper=False)
    async with asyncio.timeout(20):
        while not any(
            e.get("UserEvent") == contract.DIAL_RESULT_EVENT and e.get("UUID") == str(call.call_id)
            for e in ctx.run.events
        ):
            await asyncio.sleep(0.01)
    await ctx.ami.redirect(call.channel.name, contract.DEPARTMENTS_CONTEXT, "1000")
    return call


async def assistant_leaves_without_done(ctx: Pbx) -> SimulatedCall:
    call, conn = await ctx.call()
    await conn.send_hangup(grace=0.2)
    return call


async def assistant_ends_the_call_on_purpose(ctx: Pbx) -> SimulatedCall:
    call, conn = await ctx.call()
    await ctx.setvars(call, {contract.VAR_DONE: contract.DONE_VALUE})
    await conn.close()
    return call


async def caller_hangs_up_while_a_department_rings(ctx: Pbx) -> SimulatedCall:
    ctx.run.simulator.set_department("2005", DepartmentBehaviour.NO_ANSWER)
    call, _ = await ctx.call()
    await ctx.transfer(call, "2005", whisper=False)
    async with asyncio.timeout(20):
        while not any(e.name == "DialBegin" for e in call.events):
            await asyncio.sleep(0.005)
    await call.hangup()
    return call


async def caller_hangs_up_on_the_assistant(ctx: Pbx) -> SimulatedCall:
    call, _ = await ctx.call()
    await call.hangup()
    return call


FLOWS: tuple[Flow, ...] = (
    answered_transfer_with_whisper,
    busy_department_then_operator_by_itself,
    unanswered_department_then_assistant_redirects,
    assistant_leaves_without_done,
    assistant_ends_the_call_on_purpose,
    caller_hangs_up_while_a_department_rings,
    caller_hangs_up_on_the_assistant,
)


@asynccontextmanager
async def simulated_pbx(audiosocket_port: int | None = None) -> AsyncIterator[Pbx]:
    """A simulator (and AudioSocket server unless a port is given) with an AMI recorder."""
    connections = _Connections()
    server = AudioSocketServer(connections, "127.0.0.1", 0, uuid_timeout=1.0)
    await server.start()
    port = server.port if audiosocket_port is None else audiosocket_port
    simulator = AsteriskSimulator(
        audiosocket_port=port,
        username=contract.AMI_USERNAME,
        secret=SECRET,
        # Every event is recorded; the checks apply manager.conf's own filter to them.
        ami_rights=FULL_RIGHTS,
        auth_failure_delay=0.05,
        timing=TIMING,
    )
    await simulator.start()
    run = FlowRun(simulator, port)
    ami = AmiClient(
        AmiSettings(
            port=simulator.ami_port,
            username=contract.AMI_USERNAME,
            secret=SECRET,
            action_timeout=2.0,
            ping_interval=30.0,
        )
    )
    ami.add_event_listener(run.events.append)
    try:
        await ami.connect(timeout=20)
        yield Pbx(run, ami, connections)
    finally:
        await ami.close()
        await simulator.stop()
        await server.stop(timeout=1.0)


async def run_flows(pbx: Pbx, flows: tuple[Flow, ...] = FLOWS) -> FlowRun:
    """Play ``flows`` one after the other, each until its channel is gone."""
    for flow in flows:
        call = await flow(pbx)
        await call.wait_ended(timeout=20)
    # The last Hangup/Cdr events travel over AMI after the call ended.
    await asyncio.sleep(0.05)
    return pbx.run


def unused_port() -> int:
    """A TCP port nobody listens on (to play an assistant that is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
