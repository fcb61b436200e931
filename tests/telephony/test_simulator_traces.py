"""The simulator against the recorded Asterisk 22.10.1: each scenario of the capture is
played again on the simulator and what the voicebot AMI user receives is compared with
the trace -- event names and order, and the fields the project reads.

The capture's callers were Local channels (``Originate Local/s@voicebot-incoming``) and
its departments ``Local/<ext>@e2e-phones``: the simulator is set up the same way
(``place_local_call``, ``dial_prefix="Local/"``). The assistant's side is scripted with
the project's own AMI client, channel directory, call control and AudioSocket server.

Compared, per call: the ordered sequence of VoicebotCall, VoicebotDialResult (status,
target), the Hangup of the call's own channel and that of the caller's Local half
(cause), CoreShowChannelsComplete; and the causes of the department legs' Hangups, as
a multiset (their order against the dial result varies between recorded calls of the
same kind). Not compared: the test phones' ``E2EPhone`` UserEvents (a harness artefact)
and the cause of the call channel's own Hangup after the caller hung up (16 or 0 in the
capture for the same situation).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import pytest

from tests.telephony import traces
from voicebot.calls.control import AmiCallControl
from voicebot.dialog import Transfer
from voicebot.dialog.actions import TransferSummary
from voicebot.telephony import contract
from voicebot.telephony.ami import AmiClient, AmiSettings
from voicebot.telephony.ami_codec import AmiHeaders
from voicebot.telephony.audiosocket import AudioSocketConnection, AudioSocketServer, CloseReason
from voicebot.telephony.audiosocket_codec import AudioMessage, AudioSocketMessage, DtmfMessage
from voicebot.telephony.channels import ChannelDirectory
from voicebot.telephony.simulator import (
    AsteriskSimulator,
    DepartmentBehaviour,
    SimulatedCall,
    SimulatorTiming,
)

SECRET = "trace-secret"
Sent = list[tuple[str, Sequence[tuple[str, str]]]]
"""(user, block) of everything the simulated manager interface wrote."""
Step = tuple[str, ...]
"""One projected event: ("VoicebotCall",), ("VoicebotDialResult", status, target),
("Hangup", "call"), ("Hangup", "caller", cause), ("CoreShowChannelsComplete", items)."""


@dataclass
class Projection:
    """What of one call's AMI events the project depends on."""

    ordered: list[Step] = field(default_factory=list)
    departments: Counter[str] = field(default_factory=Counter)
    """Causes of the department legs' Hangups."""
    kinds: Counter[str] = field(default_factory=Counter)
    """Every event the voicebot user received, by name (UserEvents by their kind), the
    test phones' E2EPhone apart: nothing more reaches it than on the real PBX."""
    read: set[tuple[str, tuple[str, ...]]] = field(default_factory=set)
    """(event kind, the fields the project reads that it carries)."""


READ_FIELDS = {
    "UserEvent VoicebotCall": ("UUID", "Channel", "Uniqueid", "Linkedid", "CallerIDNum"),
    "UserEvent VoicebotDialResult": ("UUID", "DialStatus", "Target"),
    "Hangup": ("Channel", "Uniqueid", "Linkedid", "Cause", "Cause-txt"),
    "CoreShowChannelsComplete": ("EventList", "ListItems"),
}
"""What voicebot/telephony/channels.py and ami.py read from each event."""


Get = Callable[[str], str | None]


def project(events: list[tuple[str, Get]]) -> Projection:
    """The projection of the events of the first call announced among ``events``."""
    out = Projection()
    uniqueid = channel = linkedid = None
    for name, get in events:
        kind = f"UserEvent {get('UserEvent')}" if name == "UserEvent" else name
        if kind != "UserEvent E2EPhone":
            out.kinds[kind] += 1
            present = tuple(f for f in READ_FIELDS.get(kind, ()) if get(f) is not None)
            out.read.add((kind, present))
        if name == "CoreShowChannelsComplete":
            out.ordered.append((name, get("ListItems") or ""))
        elif name == "UserEvent" and get("UserEvent") == contract.UserEventName.CALL:
            if uniqueid is None:
                uniqueid, channel, linkedid = get("Uniqueid"), get("Channel"), get("Linkedid")
                out.ordered.append(("VoicebotCall",))
        elif name == "UserEvent" and get("UserEvent") == contract.UserEventName.DIAL_RESULT:
            out.ordered.append(("VoicebotDialResult", get("DialStatus") or "", get("Target") or ""))
        elif name == "Hangup" and linkedid is not None and get("Linkedid") == linkedid:
            assert channel is not None
            cause = get("Cause") or ""
            if get("Uniqueid") == uniqueid:
                out.ordered.append(("Hangup", "call"))
            elif (get("Channel") or "")[:-2] == channel[:-2]:
                out.ordered.append(("Hangup", "caller", cause))
            else:
                out.departments[cause] += 1
    return out


def recorded(name: str) -> Projection:
    """The projection of a call's recorded AMI slice."""
    events: list[tuple[str, Get]] = []
    for block in traces.load_ami(name):
        if block.from_asterisk and block.first[0] == "Event":
            events.append((block.first[1], block.get))
    return project(events)


def simulated(sent: Sent) -> Projection:
    """The projection of the events the simulator wrote to the voicebot user's sessions."""
    events: list[tuple[str, Get]] = []
    for user, fields in sent:
        if user == contract.AMI_USERNAME and fields and fields[0][0] == "Event":
            events.append((fields[0][1], AmiHeaders(tuple(fields)).get))
    return project(events)


class Assistant:
    """The scripted assistant side: AudioSocket server, AMI client, directory, control."""

    def __init__(self, script: Callable[[Assistant, AudioSocketConnection], Awaitable[None]]):
        self.script = script
        self.received: list[AudioSocketMessage] = []
        self.close_reason: CloseReason | None = None
        self.hangups_sent = 0
        """0x00 messages the assistant sent."""
        self.done = asyncio.Event()
        self.ami: AmiClient | None = None
        self.control: AmiCallControl | None = None
        self.directory = ChannelDirectory()

    async def __call__(self, conn: AudioSocketConnection) -> None:
        reading = asyncio.ensure_future(self._read(conn))
        try:
            await self.script(self, conn)
            await conn.wait_closed()
        finally:
            await reading
            self.close_reason = conn.close_reason
            self.done.set()

    async def hear_the_caller(self) -> None:
        """Let a live caller's frames come first, as their request did in the capture."""
        await wait_for(lambda: len(self.received) >= 10)

    async def _read(self, conn: AudioSocketConnection) -> None:
        async for message in conn:
            self.received.append(message)

    async def transfer(self, conn: AudioSocketConnection, target: str, exten: str) -> str | None:
        assert self.control is not None
        call_id = str(conn.call_id)
        caller = await self.control.caller(call_id)
        assert caller is not None
        action = Transfer(
            extension=exten,
            target=target,
            summary=TransferSummary(
                intent=target,
                department=None if target == contract.OPERATOR_TARGET else target,
                transcript="mes poubelles n'ont pas été ramassées",
                language="fr",
            ),
        )
        await self.control.transfer(call_id, caller.channel, action, None, screen_pop=target)
        return await self.control.dial_result(call_id, timeout=5.0)

    async def finish(self, conn: AudioSocketConnection) -> None:
        """What the assistant does after a goodbye: VB_DONE=1, then 0x00."""
        assert self.control is not None
        caller = await self.control.caller(str(conn.call_id))
        assert caller is not None
        await self.control.mark_done(str(conn.call_id), caller.channel)
        await self.hang_up(conn)

    async def hang_up(self, conn: AudioSocketConnection) -> None:
        """Send 0x00 (Asterisk answers with its FIN)."""
        self.hangups_sent += 1
        await conn.send_hangup()


Run = tuple[Projection, Assistant]
"""What a scenario gives: the voicebot user's events and the assistant's AudioSocket side."""


async def fake_assistant(message: bytes) -> asyncio.Server:
    """An AudioSocket peer that answers the UUID with ``message`` (the capture's robustness
    probes), then reads whatever comes."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(19)  # the UUID message
        writer.write(message)
        with contextlib.suppress(OSError):
            while await reader.read(65536):
                pass
        writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0)


@contextlib.asynccontextmanager
async def pbx(
    assistant: Assistant,
    *,
    keepalive: bool = True,
    refuse: bool = False,
    fake: bytes | None = None,
    **timing: float,
) -> AsyncIterator[tuple[AsteriskSimulator, AmiClient, Sent]]:
    server = AudioSocketServer(assistant, "127.0.0.1", 0, keepalive=keepalive)
    await server.start()
    port = server.port
    faked = await fake_assistant(fake) if fake is not None else None
    if faked is not None:
        port = int(faked.sockets[0].getsockname()[1])
    if refuse:
        await server.stop(timeout=0.5)  # nothing listens any more: AudioSocket is refused
    defaults = {"ring_time": 0.1, "talk_time": 0.1, "fallback_wait": 0.5}
    simulator = AsteriskSimulator(
        audiosocket_port=port,
        secret=SECRET,
        dial_prefix="Local/",
        dial_suffix="@e2e-phones",
        auth_failure_delay=0.05,
        timing=SimulatorTiming(**{**defaults, **timing}),
    )
    await simulator.start()
    ami = AmiClient(
        AmiSettings(
            port=simulator.ami_port,
            username=contract.AMI_USERNAME,
            secret=SECRET,
            action_timeout=2.0,
            reconnect_initial_delay=0.05,
        )
    )
    assistant.ami = ami
    assistant.directory.attach(ami)
    assistant.control = AmiCallControl(ami, assistant.directory)
    events: Sent = []
    simulator.ami.sent_log = events  # what the manager interface writes, list events too
    await ami.connect(timeout=20)
    try:
        yield simulator, ami, events
    finally:
        await ami.close()
        await simulator.stop()
        if faked is not None:
            faked.close()
        if not refuse:
            await server.stop(timeout=1.0)


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def answered(call: SimulatedCall) -> bool:
    return any(e.name == "NewConnectedLine" for e in call.events)


async def play_and_hang_up(call: SimulatedCall, seconds: float) -> None:
    """A caller leg playing a prepared track, then hanging up (the short last frame)."""
    frames = int(seconds * 50)
    await call.send_audio(b"\x01\x00" * (160 * frames + 138))
    await call.hangup()


# --- the scenarios ------------------------------------------------------------------------


async def run_greeting() -> Run:
    async def script(a: Assistant, conn: AudioSocketConnection) -> None:
        conn.play(b"\x10\x00" * 8000)  # the greeting

    assistant = Assistant(script)
    async with pbx(assistant) as (sim, _ami, events):
        call = await sim.place_local_call("0470000101", "Citoyen e2e")
        await play_and_hang_up(call, 0.6)
        await call.wait_ended(5)
        await assistant.done.wait()
    return simulated(events), assistant


async def run_faq() -> Run:
    async def script(a: Assistant, conn: AudioSocketConnection) -> None:
        await a.hear_the_caller()
        await a.finish(conn)

    assistant = Assistant(script)
    async with pbx(assistant) as (sim, _ami, events):
        call = await sim.place_local_call("0470000102", "Citoyen e2e")
        call.start_media()
        await call.wait_ended(5)
    return simulated(events), assistant


def run_transfer(exten: str, digit: str | None = None) -> Callable[[], Awaitable[Run]]:
    async def run() -> Run:
        async def script(a: Assistant, conn: AudioSocketConnection) -> None:
            await a.hear_the_caller()
            if digit is not None:
                await wait_for(lambda: any(isinstance(m, DtmfMessage) for m in a.received))
            target = contract.OPERATOR_TARGET if exten == "1000" else "waste"
            assert await a.transfer(conn, target, exten) == "ANSWER"

        assistant = Assistant(script)
        async with pbx(assistant) as (sim, _ami, events):
            call = await sim.place_local_call("0470000103", "Citoyen e2e")
            call.start_media()
            if digit is not None:
                await assistant.hear_the_caller()
                await call.send_dtmf(digit)
            await call.wait_ended(5)
        return simulated(events), assistant

    return run


def run_failed_transfer(exten: str, behaviour: DepartmentBehaviour) -> Callable[[], Awaitable[Run]]:
    async def run() -> Run:
        async def script(a: Assistant, conn: AudioSocketConnection) -> None:
            await a.hear_the_caller()
            await a.transfer(conn, "civil_status", exten)
            # The assistant's operator fallback, as after VoicebotDialResult BUSY/NOANSWER.
            assert await a.transfer(conn, contract.OPERATOR_TARGET, "1000") == "ANSWER"

        assistant = Assistant(script)
        async with pbx(assistant) as (sim, _ami, events):
            sim.set_department(exten, behaviour)
            call = await sim.place_local_call("0470000104", "Citoyen e2e")
            call.start_media()
            await call.wait_ended(8)
        return simulated(events), assistant

    return run


async def run_cancel() -> Run:
    async def script(a: Assistant, conn: AudioSocketConnection) -> None:
        await a.hear_the_caller()
        assert await a.transfer(conn, "urban_planning", "2004") == "CANCEL"

    assistant = Assistant(script)
    async with pbx(assistant, ring_time=3.0) as (sim, _ami, events):
        sim.set_department("2004", DepartmentBehaviour.NO_ANSWER)
        call = await sim.place_local_call("0470000105", "Citoyen e2e")
        call.start_media()
        await wait_for(lambda: call.transfers != [] and len(call.related) > 1)
        await call.hangup()  # 4 s into the ringing in the capture
        await call.wait_ended(5)
        await assistant.done.wait()
    return simulated(events), assistant


async def run_hangup() -> Run:
    async def script(a: Assistant, conn: AudioSocketConnection) -> None:
        conn.play(b"\x10\x00" * 80000)  # the answer, cut by the caller hanging up

    assistant = Assistant(script)
    async with pbx(assistant) as (sim, _ami, events):
        call = await sim.place_local_call("0470000106", "Citoyen e2e")
        await play_and_hang_up(call, 0.4)
        await call.wait_ended(5)
        await assistant.done.wait()
    return simulated(events), assistant


async def run_mute() -> Run:
    async def script(a: Assistant, conn: AudioSocketConnection) -> None:
        conn.play(b"\x10\x00" * 1600)  # the greeting, then nothing (no keep-alive then)

    assistant = Assistant(script)
    async with pbx(assistant, keepalive=False, audiosocket_inactivity=0.3, talk_time=30.0) as (
        sim,
        _ami,
        events,
    ):
        call = await sim.place_local_call("0470000107", "Citoyen e2e")
        await wait_for(lambda: answered(call))  # the operator, by the dialplan's fallback
        assert call.ended_by_inactivity
        await call.hangup()  # Wait(25) of the caller leg ends
        await call.wait_ended(5)
        await assistant.done.wait()
    return simulated(events), assistant


def run_to_operator(
    *, refuse: bool = False, hangup: bool = False, fake: bytes | None = None
) -> Callable[[], Awaitable[Run]]:
    """The assistant unreachable, leaving without VB_DONE (closing, or 0x00), or a fake one
    sending what Asterisk refuses: each time the dialplan hands the caller to the operator."""

    async def run() -> Run:
        async def script(a: Assistant, conn: AudioSocketConnection) -> None:
            if hangup:
                await a.hang_up(conn)
            else:
                await conn.close()

        assistant = Assistant(script)
        async with pbx(assistant, refuse=refuse, fake=fake, talk_time=30.0) as (
            sim,
            _ami,
            events,
        ):
            call = await sim.place_local_call("0470000108", "Citoyen e2e")
            await wait_for(lambda: answered(call))
            await call.hangup()
            await call.wait_ended(5)
        return simulated(events), assistant

    return run


async def run_after_restart() -> Run:
    async def script(a: Assistant, conn: AudioSocketConnection) -> None:
        await a.hear_the_caller()
        await a.finish(conn)

    assistant = Assistant(script)
    async with pbx(assistant) as (sim, ami, events):
        await sim.stop_ami()
        await sim.start_ami()
        await ami.wait_connected(timeout=5)
        await wait_for(
            lambda: any(f[0] == ("Event", "CoreShowChannelsComplete") for _, f in events)
        )
        call = await sim.place_local_call("0470000109", "Citoyen e2e")
        call.start_media()
        await call.wait_ended(5)
        await assistant.done.wait()
    return simulated(events), assistant


SCENARIOS: dict[str, Callable[[], Awaitable[Run]]] = {
    "greeting": run_greeting,
    "faq": run_faq,
    "after-reload": run_faq,
    "transfer": run_transfer("2003"),
    "utf8": run_transfer("2003"),
    "dtmf3": run_transfer("2003", "3"),
    "dtmf0": run_transfer("1000", "0"),
    "busy": run_failed_transfer("2002", DepartmentBehaviour.BUSY),
    "noanswer": run_failed_transfer("2004", DepartmentBehaviour.NO_ANSWER),
    "cancel": run_cancel,
    "hangup": run_hangup,
    "mute": run_mute,
    "robust-refused": run_to_operator(refuse=True),
    "robust-close": run_to_operator(),
    "robust-hangup-message": run_to_operator(hangup=True),
    "robust-dtmf-kind": run_to_operator(fake=b"\x03\x00\x011"),
    "robust-error-kind": run_to_operator(fake=b"\xff\x00\x00"),
    "robust-zero-length-audio": run_to_operator(fake=b"\x10\x00\x00"),
    "robust-odd-length-audio": run_to_operator(fake=b"\x10\x00\x03abc"),
    "after-restart": run_after_restart,
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_the_simulator_sends_the_voicebot_user_what_asterisk_22_sent(name: str) -> None:
    want = recorded(name)
    async with asyncio.timeout(30):
        got, _ = await SCENARIOS[name]()
    assert got.ordered == want.ordered
    assert got.departments == want.departments
    assert got.kinds == want.kinds
    assert got.read == want.read


def _audiosocket_shape(kinds: list[str], sizes: list[int], dtmf: list[bytes]) -> dict[str, object]:
    """What of a connection's inbound stream the project depends on."""
    return {
        "not audio": [kind for kind in kinds if kind != "audio"],
        "dtmf": dtmf,
        "audio": bool(sizes),
        "sizes before the last": sorted(set(sizes[:-1])),
        "short last frame": bool(sizes) and sizes[-1] < 320,
    }


@pytest.mark.parametrize("name", traces.audiosocket_calls())
async def test_each_recorded_audiosocket_stream_is_what_the_simulator_sends(name: str) -> None:
    """The UUID first (taken by the server), 320-byte frames, a short last one only after
    a Playback(), the recorded DTMF, no frames at all from a leg without media, and the
    end: a FIN from Asterisk, never a 0x00; the assistant's 0x00 where the app sent one."""
    async with asyncio.timeout(30):
        _, assistant = await SCENARIOS[name]()
    trace = traces.load_audiosocket(name)
    inbound = trace.inbound()
    assert inbound[0].kind == "uuid"
    want = _audiosocket_shape(
        [line.kind for line in inbound[1:]],
        [line.length for line in inbound if line.kind == "audio"],
        [line.payload or b"" for line in inbound if line.kind == "dtmf"],
    )
    got = _audiosocket_shape(
        [type(m).__name__.removesuffix("Message").lower() for m in assistant.received],
        [len(m.pcm) for m in assistant.received if isinstance(m, AudioMessage)],
        [m.digit.encode() for m in assistant.received if isinstance(m, DtmfMessage)],
    )
    assert got == want
    assert (trace.end.how, trace.end.by) == ("fin", "asterisk")
    assert assistant.close_reason in (CloseReason.PEER_CLOSED, CloseReason.LOCAL_HANGUP)
    app_hangups = sum(1 for line in trace.outbound() if line.kind == "hangup")
    assert assistant.hangups_sent == app_hangups


async def test_events_carry_the_recorded_headers_in_the_recorded_order() -> None:
    sent: Sent = []
    resynced = asyncio.Event()

    async def script(a: Assistant, conn: AudioSocketConnection) -> None:
        await resynced.wait()
        assert await a.transfer(conn, "waste", "2003") == "ANSWER"

    assistant = Assistant(script)
    async with pbx(assistant) as (sim, _ami, events):
        call = await sim.place_local_call("0470000103", "n'ont pas été")
        await assistant.directory.wait_channel(str(call.call_id), timeout=5)
        await sim.stop_ami()  # a restart: the client logs in again and lists the channels
        await sim.start_ami()
        await wait_for(
            lambda: any(f[0] == ("Event", "CoreShowChannelsComplete") for _, f in events)
        )
        resynced.set()
        await call.wait_ended(5)
        sent = list(events)
    orders: dict[str, list[str]] = {}
    for user, fields in sent:
        if user != contract.AMI_USERNAME or fields[0][0] != "Event":
            continue
        name = fields[0][1]
        headers = AmiHeaders(tuple(fields))
        kind = f"UserEvent {headers.get('UserEvent')}" if name == "UserEvent" else name
        orders.setdefault(kind, [key for key, _ in fields])
        assert "Timestamp" not in headers
        if headers.get("CallerIDName", "").startswith("n"):
            assert headers.get("CallerIDName") == "n\\'ont pas été"  # C-escaped, as recorded
    facts = traces.facts()["ami"]
    expected = {k: v for k, v in facts["event_header_order"].items() if k != "UserEvent E2EPhone"}
    listing = facts["coreshowchannels_with_a_live_call_harness_session_as_voicebot_user"]
    expected["CoreShowChannel"] = [line.split(":")[0] for line in listing[1].split("\r\n") if line]
    assert orders == expected


def test_every_recorded_call_with_a_voicebotcall_has_a_scenario() -> None:
    announced = {
        name
        for name, call in traces.calls().items()
        if call.get("scenario") != "ami-errors" and recorded(name).ordered
    }
    assert announced == set(SCENARIOS)
