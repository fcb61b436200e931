"""The simulator reproduces what a real Asterisk does, in order, on the wire."""

from __future__ import annotations

import asyncio
import io
import socket
import time
import wave

import pytest

from voicebot.telephony.ami import AmiClient
from voicebot.telephony.ami_codec import AmiResponse, AmiStreamDecoder
from voicebot.telephony.audiosocket import AudioSocketServer, CloseReason
from voicebot.telephony.audiosocket_codec import (
    AudioMessage,
    AudioSocketMessage,
    DtmfMessage,
    encode,
)
from voicebot.telephony.contract import (
    DEFAULT_OPERATOR_EXTEN,
    DEPARTMENTS_CONTEXT,
    DONE_VALUE,
    INCOMING_CONTEXT,
    VAR_DONE,
)
from voicebot.telephony.simulator import (
    AsteriskSimulator,
    AudioSocketMode,
    DepartmentBehaviour,
    SimulatedCall,
    SimulatorTiming,
)

from .conftest import SECRET, USERNAME, ConnectionCollector


async def test_originate_emits_the_observed_event_order(
    harness_ami: AmiClient, simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    await harness_ami.originate("Local/s@citizen", context=INCOMING_CONTEXT, exten="s", priority=1)
    call = await simulator.next_call(timeout=20)
    await collector.next()
    names = [event.name for event in call.events]
    assert names[:9] == [
        "Newchannel",
        "Newchannel",
        "LocalBridge",
        "DialBegin",
        "OriginateResponse",
        "Newstate",
        "Newstate",
        "DialEnd",
        "Newexten",
    ]
    first, second = call.events[0].headers, call.events[1].headers
    assert first.get("Channel", "").endswith(";1") and first.get("ChannelStateDesc") == "Down"
    assert second.get("Channel", "").endswith(";2") and second.get("ChannelStateDesc") == "Ring"
    assert call.events[7].headers.get("DialStatus") == "ANSWER"
    # Context=voicebot-incoming in the Originate: the ;1 half runs the dialplan.
    assert call.channel.name.endswith(";1")
    assert "UserEvent" in names[9:]
    await call.hangup()


async def test_redirect_closes_audiosocket_without_hangup_frame_then_dials(
    ami: AmiClient, simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    call = await simulator.place_call()
    conn = await collector.next()
    await ami.redirect(call.channel.name, DEPARTMENTS_CONTEXT, "2001")
    async with asyncio.timeout(20):
        await conn.wait_closed()
    assert conn.close_reason is CloseReason.PEER_CLOSED  # EOF, not 0x00
    await call.wait_ended(timeout=20)
    names = [event.name for event in call.events]
    after = names[names.index("Newexten", names.index("Newexten", 7)) :]
    redirect_exten = next(
        e.headers
        for e in call.events
        if e.name == "Newexten" and e.headers.get("Context") == DEPARTMENTS_CONTEXT
    )
    assert (redirect_exten.get("Exten"), redirect_exten.get("Priority")) == ("2001", "1")
    # Hangup() runs the h extension too (recorded), and no Cdr without cdr_manager.
    assert names[-5:] == ["Newexten", "Newexten", "SoftHangupRequest", "HangupRequest", "Hangup"]
    assert call.events[-5].headers.get("Exten") == "h"
    hangup = call.events[-1].headers
    assert (hangup.get("Cause"), hangup.get("Cause-txt")) == ("16", "Normal Clearing")
    assert "UserEvent" in after


async def test_channel_mode_bridges_an_audiosocket_channel(
    audiosocket_server: AudioSocketServer, collector: ConnectionCollector
) -> None:
    sim = AsteriskSimulator(
        audiosocket_port=audiosocket_server.port,
        mode=AudioSocketMode.CHANNEL,
        timing=SimulatorTiming(fallback_wait=0.1),
    )
    await sim.start()
    try:
        call = await sim.place_call()
        conn = await collector.next()
        assert conn.call_id == call.call_id
        await call.hangup()
        names = [event.name for event in call.events]
        start = names.index("BridgeCreate")
        assert names[start : start + 3] == ["BridgeCreate", "BridgeEnter", "BridgeEnter"]
        peer = next(e for e in call.events if e.name == "Newchannel" and e is not call.events[0])
        assert peer.headers.get("Channel") == (
            f"AudioSocket/127.0.0.1:{audiosocket_server.port}-{call.call_id}"
        )
        end = names.index("BridgeLeave")
        assert names[end : end + 4] == [
            "BridgeLeave",
            "BridgeLeave",
            "Hangup",
            "BridgeDestroy",
        ]
    finally:
        await sim.stop()


async def test_caller_audio_keeps_odd_sizes_and_silent_gaps_have_no_frames(
    simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    call = await simulator.place_call()
    conn = await collector.next()
    await call.send_frames([bytes(320), bytes(96), bytes(108), bytes(320)])
    sizes = [
        len(m.pcm)
        for m in [await conn.receive(timeout=1) for _ in range(4)]
        if isinstance(m, AudioMessage)
    ]
    assert sizes == [320, 96, 108, 320]
    gap = asyncio.ensure_future(call.silence(0.3))
    with pytest.raises(TimeoutError):
        await conn.receive(timeout=0.2)
    await gap
    await call.send_dtmf("3")
    assert await conn.receive(timeout=1) == DtmfMessage("3")
    dtmf_events = [e.name for e in call.events if e.name.startswith("DTMF")]
    assert dtmf_events == ["DTMFBegin", "DTMFEnd"]
    await call.hangup()


async def test_caller_streams_in_real_time(
    simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    call = await simulator.place_call()
    conn = await collector.next()
    started = time.monotonic()
    sent = await call.send_audio(bytes(320 * 25))  # 0.5 s
    elapsed = time.monotonic() - started
    assert sent == 25
    # Never faster than the audio lasts; a loaded machine can only make it slower, so
    # there is no upper bound to flake on.
    assert elapsed >= 0.47
    got = 0
    async with asyncio.timeout(20):
        while got < 25:
            if isinstance(await conn.receive(), AudioMessage):
                got += 1
    await call.hangup()


async def test_assistant_audio_is_recorded_with_arrival_times(
    simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    call = await simulator.place_call()
    conn = await collector.next()
    conn.play(b"\x01\x00" * 1600)  # 10 frames, after and before keep-alive silence
    await call.wait_heard(3200, timeout=20)
    voiced = [frame for frame in call.heard if frame.voiced]
    assert b"".join(frame.payload for frame in voiced) == b"\x01\x00" * 1600
    assert call.voiced_bytes == 3200
    times = [frame.at for frame in voiced]
    assert 0.16 <= times[-1] - times[0] <= 0.2
    await call.hangup()


async def test_assistant_sending_a_non_audio_kind_ends_audiosocket_and_the_operator_takes_over(
    simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    call = await simulator.place_call()
    conn = await collector.next()
    conn._writer.write(encode(DtmfMessage("1")))  # Asterisk accepts only audio and hangup
    await call.wait_ended(timeout=20)
    assert call.protocol_errors == [
        "Received AudioSocket message other than hangup or audio (DTMF)"
    ]
    async with asyncio.timeout(20):
        await conn.wait_closed()
    assert _dialled(call) == [DEFAULT_OPERATOR_EXTEN]


async def test_assistant_hangup_frame_after_vb_done_ends_the_channel(
    ami: AmiClient, simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    call = await simulator.place_call()
    conn = await collector.next()
    await ami.setvar(call.channel.name, VAR_DONE, DONE_VALUE)
    await conn.send_hangup(grace=0.5)
    await call.wait_ended(timeout=20)
    assert call.hangup_from_assistant
    assert _dialled(call) == []
    assert [e.name for e in call.events][-3:] == ["SoftHangupRequest", "HangupRequest", "Hangup"]


async def test_assistant_leaving_without_vb_done_sends_the_caller_to_the_operator(
    simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    call = await simulator.place_call()
    conn = await collector.next()
    await conn.send_hangup(grace=0.5)
    await call.wait_ended(timeout=20)
    assert _dialled(call) == [DEFAULT_OPERATOR_EXTEN]
    result = [e.headers for e in call.events if e.name == "UserEvent"][-1]
    assert (result.get("DialStatus"), result.get("Target")) == ("ANSWER", DEFAULT_OPERATOR_EXTEN)


async def test_unreachable_assistant_sends_the_caller_to_the_operator(
    collector: ConnectionCollector,
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sim = AsteriskSimulator(audiosocket_port=port, timing=SimulatorTiming(talk_time=0.05))
    await sim.start()
    try:
        call = await sim.place_call()
        await call.wait_ended(timeout=20)
        assert call.protocol_errors and "cannot connect" in call.protocol_errors[0]
        assert _dialled(call) == [DEFAULT_OPERATOR_EXTEN]
    finally:
        await sim.stop()


async def test_failed_transfer_without_a_redirect_reaches_the_operator_by_itself(
    ami: AmiClient, simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    simulator.set_department("2004", DepartmentBehaviour.BUSY)
    call = await simulator.place_call()
    await collector.next()
    await ami.redirect(call.channel.name, DEPARTMENTS_CONTEXT, "2004")
    await call.wait_ended(timeout=20)  # fallback_wait is 0.3 s in these tests
    assert _dialled(call) == ["2004", DEFAULT_OPERATOR_EXTEN]
    statuses = [e.headers.get("DialStatus") for e in call.events if e.name == "UserEvent"]
    assert statuses[1:] == ["BUSY", "ANSWER"]


async def test_failing_operator_is_not_dialled_again(
    ami: AmiClient, simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    simulator.set_department(DEFAULT_OPERATOR_EXTEN, DepartmentBehaviour.NO_ANSWER)
    call = await simulator.place_call()
    await collector.next()
    await ami.redirect(call.channel.name, DEPARTMENTS_CONTEXT, DEFAULT_OPERATOR_EXTEN)
    await call.wait_ended(timeout=20)
    assert _dialled(call) == [DEFAULT_OPERATOR_EXTEN]


async def test_caller_hanging_up_while_a_department_rings_reports_cancel(
    ami: AmiClient, simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    simulator.set_department("2005", DepartmentBehaviour.NO_ANSWER)
    call = await simulator.place_call()
    await collector.next()
    await ami.redirect(call.channel.name, DEPARTMENTS_CONTEXT, "2005")
    async with asyncio.timeout(20):
        while not any(e.name == "DialBegin" for e in call.events):
            await asyncio.sleep(0.005)
    await call.hangup()
    names = [e.name for e in call.events]
    result = [e.headers for e in call.events if e.name == "UserEvent"][-1]
    assert (result.get("DialStatus"), result.get("Target")) == ("CANCEL", "2005")
    assert names.index("HangupRequest") < names.index("UserEvent", names.index("DialBegin"))
    assert names[-1] == "Hangup"


def _dialled(call: SimulatedCall) -> list[str]:
    """Extensions the departments context dialled, in order."""
    return [
        e.headers.get("Exten") or ""
        for e in call.events
        if e.name == "Newexten" and e.headers.get("Application") == "Dial"
    ]


async def _raw_ami(port: int, *actions: bytes) -> list[object]:
    async with asyncio.timeout(20):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    decoder = AmiStreamDecoder()
    for action in actions:
        writer.write(action)
    blocks: list[object] = []
    async with asyncio.timeout(20):
        while data := await reader.read(65536):
            blocks.extend(decoder.feed(data))
            if len(blocks) >= len(actions):
                break
    writer.close()
    return blocks


async def test_actions_before_login_are_refused(simulator: AsteriskSimulator) -> None:
    (response,) = await _raw_ami(simulator.ami_port, b"Action: Ping\r\nActionID: 1\r\n\r\n")
    assert isinstance(response, AmiResponse)
    assert (response.status, response.message) == ("Error", "Permission denied")


async def test_wrong_secret_gets_authentication_failed_then_the_session_closes(
    simulator: AsteriskSimulator,
) -> None:
    async with asyncio.timeout(20):
        reader, writer = await asyncio.open_connection("127.0.0.1", simulator.ami_port)
    writer.write(f"Action: Login\r\nUsername: {USERNAME}\r\nSecret: nope\r\n\r\n".encode())
    async with asyncio.timeout(20):
        raw = await reader.read(-1)  # until Asterisk closes
    decoder = AmiStreamDecoder()
    (response,) = decoder.feed(raw)
    assert isinstance(response, AmiResponse)
    assert (response.status, response.message) == ("Error", "Authentication failed")
    writer.close()


async def test_ping_reply_has_pong_and_timestamp(simulator: AsteriskSimulator) -> None:
    login = f"Action: Login\r\nUsername: {USERNAME}\r\nSecret: {SECRET}\r\n\r\n".encode()
    blocks = await _raw_ami(simulator.ami_port, login, b"Action: Ping\r\nActionID: p1\r\n\r\n")
    pong = next(b for b in blocks if isinstance(b, AmiResponse) and b.action_id == "p1")
    assert pong.get("Ping") == "Pong"
    assert float(pong.get("Timestamp") or "0") > 1e9


async def test_department_that_answers_bridges_then_reports_answer(
    ami: AmiClient, simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    simulator.set_department("2002", DepartmentBehaviour.ANSWER)
    call = await simulator.place_call()
    await collector.next()
    await ami.redirect(call.channel.name, DEPARTMENTS_CONTEXT, "2002")
    await call.wait_ended(timeout=20)
    names = [event.name for event in call.events]
    dial_end = next(e for e in call.events if e.name == "DialEnd")
    assert dial_end.headers.get("DialStatus") == "ANSWER"
    assert dial_end.headers.get("DestChannel", "").startswith("PJSIP/2002-")
    assert names.index("BridgeEnter") < names.index("UserEvent", names.index("DialEnd"))


def _wav(rate: int, frames: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(b"\x10\x00" * frames)
    return buffer.getvalue()


async def test_caller_can_stream_a_wav_file_but_only_at_8khz(
    simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    call = await simulator.place_call()
    conn = await collector.next()
    assert await call.send_wav(_wav(8000, 480), realtime=False) == 3
    first = await conn.receive(timeout=1)
    assert isinstance(first, AudioMessage) and first.pcm[:2] == b"\x10\x00"
    with pytest.raises(ValueError, match="16000 Hz, 1 channel"):
        await call.send_wav(_wav(16000, 10))
    await call.hangup()


async def test_ami_hangup_ends_the_call_and_its_audiosocket(
    ami: AmiClient, simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    call = await simulator.place_call()
    conn = await collector.next()
    await ami.hangup(call.channel.name, cause=16)
    await call.wait_ended(timeout=20)
    async with asyncio.timeout(20):
        await conn.wait_closed()
    assert conn.close_reason is CloseReason.PEER_CLOSED
    assert [e.name for e in call.events][-2:] == ["SoftHangupRequest", "Hangup"]


async def test_cdr_events_come_only_with_cdr_manager(
    audiosocket_server: AudioSocketServer, collector: ConnectionCollector
) -> None:
    sim = AsteriskSimulator(audiosocket_port=audiosocket_server.port, cdr_manager=True)
    await sim.start()
    try:
        call = await sim.place_call()
        await collector.next()
        await call.hangup()
        assert [e.name for e in call.events][-2:] == ["Hangup", "Cdr"]
    finally:
        await sim.stop()


async def test_with_no_frame_either_way_audiosocket_ends_after_the_timeout() -> None:
    # A recorded Asterisk 22.10.1 ended AudioSocket 2.003 s after the last frame when the
    # caller leg sent none and the app sent none; the dialplan then went to the operator.
    silent: list[asyncio.StreamWriter] = []

    async def accept_and_say_nothing(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        silent.append(w)

    server = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sim = AsteriskSimulator(
        audiosocket_port=port,
        timing=SimulatorTiming(talk_time=0.05, audiosocket_inactivity=0.3),
    )
    await sim.start()
    try:
        call = await sim.place_call()
        await call.wait_socket_closed(timeout=20)
        assert call.ended_by_inactivity
        await call.wait_ended(timeout=20)
        assert _dialled(call) == [DEFAULT_OPERATOR_EXTEN]
    finally:
        await sim.stop()
        for writer in silent:
            writer.close()
        server.close()


async def test_the_assistants_keepalive_holds_a_silent_caller_past_the_timeout(
    audiosocket_server: AudioSocketServer, collector: ConnectionCollector
) -> None:
    sim = AsteriskSimulator(
        audiosocket_port=audiosocket_server.port,
        timing=SimulatorTiming(audiosocket_inactivity=0.3),
    )
    await sim.start()
    try:
        call = await sim.place_call()
        conn = await collector.next()
        with pytest.raises(TimeoutError):  # ten times the timeout, the caller silent
            await call.wait_socket_closed(timeout=3.0)
        assert not call.ended_by_inactivity and not conn.closed
        assert call.heard and not any(frame.voiced for frame in call.heard)
        await call.hangup()
    finally:
        await sim.stop()


async def test_a_live_caller_leg_streams_silence_and_pauses_around_a_key(
    simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    # Recorded: a live caller's silence arrives as all-zero frames every 20 ms, and the
    # frames stop for about 140 ms around a key, whose 0x03 comes when the key ends.
    call = await simulator.place_call()
    conn = await collector.next()
    call.start_media()
    arrivals: list[tuple[float, AudioSocketMessage]] = []
    async with asyncio.timeout(30):
        while len(arrivals) < 25:
            message = await conn.receive()
            assert message is not None
            arrivals.append((time.monotonic(), message))
        pressed = asyncio.ensure_future(call.send_dtmf("5"))
        while not any(isinstance(m, DtmfMessage) for _, m in arrivals):
            message = await conn.receive()
            assert message is not None
            arrivals.append((time.monotonic(), message))
        await pressed
    assert all(m == AudioMessage(bytes(320)) for _, m in arrivals[:25])
    key_at = next(at for at, m in arrivals if isinstance(m, DtmfMessage))
    before = [at for at, m in arrivals if isinstance(m, AudioMessage) and at < key_at]
    # No caller frame while the key was down (a lower bound: load only widens the gap).
    assert key_at - before[-1] >= 0.1
    call.stop_media()
    await call.hangup()


async def test_the_screen_pop_is_set_with_newcallerid_and_shown_to_the_department(
    ami: AmiClient, simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    call = await simulator.place_call()
    await collector.next()
    await ami.setvar(call.channel.name, "VB_SCREEN_POP", "Propreté publique: mes poubelles")
    await ami.redirect(call.channel.name, DEPARTMENTS_CONTEXT, "2003")
    await call.wait_ended(timeout=20)
    pop = next(e.headers for e in call.events if e.name == "NewCallerid")
    assert pop.get("Channel") == call.channel.name
    assert pop.get("CallerIDName") == "Propreté publique: mes poubelles"
    ringing = next(e.headers for e in call.events if e.name == "DialBegin")
    assert ringing.get("DestCallerIDName") == "Propreté publique: mes poubelles"
    assert any(e.name == "NewConnectedLine" for e in call.events)
