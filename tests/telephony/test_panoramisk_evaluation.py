"""Evidence behind keeping voicebot's AMI connector over panoramisk (docs/decisions/ami.md).

Each test pins down one behaviour of panoramisk 1.4 (its latest release) beside what
``voicebot.telephony.ami`` does in the same situation, against raw AMI bytes, the
recorded Asterisk 22 sessions or the simulator. If a release changes one of them, the test
fails and the decision should be looked at again.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from voicebot.telephony.ami import AmiClient, AmiConnectionLost
from voicebot.telephony.ami_codec import (
    AmiEncodeError,
    AmiEvent,
    AmiStreamDecoder,
    encode_action,
    make_action,
)
from voicebot.telephony.ami_server_codec import AmiActionDecoder
from voicebot.telephony.simulator import AsteriskSimulator

from .conftest import SECRET, USERNAME, ami_settings
from .traces import load_ami

ami_protocol = pytest.importorskip("panoramisk.ami_protocol")
panoramisk_actions = pytest.importorskip("panoramisk.actions")
panoramisk_manager = pytest.importorskip("panoramisk.manager")

NAME = "Hélène Dupré"
USER_EVENT = (
    "Event: UserEvent\r\nPrivilege: user,all\r\nChannel: PJSIP/citizen-00000001\r\n"
    f"CallerIDName: {NAME}\r\nUserEvent: VoicebotCall\r\nUUID: 40325ec2\r\n"
    "Channel: PJSIP/citizen-00000001\r\n\r\n"
).encode()


class _Events:
    """What panoramisk's protocol hands its manager: every event it read."""

    save_stream = None

    def __init__(self) -> None:
        self.events: list[Any] = []

    def dispatch(self, message: Any) -> None:
        self.events.append(message)


class _Transport:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def _panoramisk_reads(chunks: list[bytes]) -> list[Any]:
    protocol = ami_protocol.AMIProtocol()
    protocol.connection_made(_Transport())
    protocol.encoding = "utf8"  # what its Manager sets by default
    sink = _Events()
    protocol.factory = sink
    for chunk in chunks:
        protocol.data_received(chunk)
    return sink.events


def _ours_reads(chunks: list[bytes]) -> list[AmiEvent]:
    decoder = AmiStreamDecoder(expect_banner=False)
    return [
        block for chunk in chunks for block in decoder.feed(chunk) if isinstance(block, AmiEvent)
    ]


def test_a_recorded_session_reads_the_same_events_in_both() -> None:
    # Fair first: on what a real Asterisk 22 sent, read in 4 KiB pieces, both see every
    # event, and panoramisk keeps repeated headers (Channel twice in a UserEvent) as a list.
    data = b"".join(block.wire for block in load_ami("session-1") if block.from_asterisk)
    chunks = [data[i : i + 4096] for i in range(0, len(data), 4096)]
    theirs = _panoramisk_reads(chunks)
    ours = _ours_reads(chunks)
    assert [event["Event"] for event in theirs] == [event.name for event in ours]
    user_event = next(event for event in theirs if event["Event"] == "UserEvent")
    assert isinstance(user_event["Channel"], list) and len(user_event["Channel"]) == 2


def test_a_character_split_between_two_reads_is_lost() -> None:
    # data_received() decodes each TCP read on its own with errors="ignore": a name whose
    # "é" straddles two reads arrives without it. The codec decodes whole blocks.
    cut = USER_EVENT.index("é".encode()) + 1
    chunks = [USER_EVENT[:cut], USER_EVENT[cut:]]
    (theirs,) = _panoramisk_reads(chunks)
    (ours,) = _ours_reads(chunks)
    assert theirs["CallerIDName"] == "Hlène Dupré"
    assert ours.get("CallerIDName") == NAME


async def test_a_line_break_in_a_value_sends_a_second_action() -> None:
    # Values are written as they are: a caller's words with a CRLF in them become an
    # action of their own on the PBX (here a Hangup of another channel). The encoder
    # refuses every control character before anything is sent.
    summary = "permis\r\n\r\nAction: Hangup\r\nChannel: PJSIP/operator-00000002"
    fields = {"Channel": "PJSIP/citizen-00000001", "Variable": "VB_SUMMARY", "Value": summary}
    wire = str(panoramisk_actions.Action({"Action": "Setvar", **fields})).encode()
    received = AmiActionDecoder().feed(wire)
    assert [block.headers.get("Action") for block in received] == ["Setvar", "Hangup"]
    assert received[1].headers.get("Channel") == "PJSIP/operator-00000002"
    with pytest.raises(AmiEncodeError, match="control character"):
        encode_action(make_action("Setvar", fields), "1")


async def _until(condition: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_an_action_in_flight_on_a_drop_waits_for_an_event_the_voicebot_user_never_gets(
    simulator: AsteriskSimulator,
) -> None:
    # On a lost connection panoramisk parks unanswered actions and resends them when
    # FullyBooted arrives; manager.conf's voicebot user (read = call,user) never receives
    # FullyBooted, so after the reconnect the Redirect's future is still pending, with no
    # error and no timeout of its own. voicebot's connector fails it with AmiConnectionLost
    # and the session leaves the call to the dialplan's operator fallback.
    manager = panoramisk_manager.Manager(
        loop=asyncio.get_running_loop(),
        host="127.0.0.1",
        port=simulator.ami_port,
        username=USERNAME,
        secret=SECRET,
        ping_delay=60,
        reconnect_timeout=0,
    )
    manager.connect()
    try:
        await _until(lambda: manager.authenticated)
        first = manager.protocol
        simulator.ami.frozen = True
        redirect = manager.send_action(
            {"Action": "Redirect", "Channel": "PJSIP/citizen-00000001", "Context": "x"}
        )
        await _until(lambda: simulator.ami.ignored_actions == 1)
        simulator.ami.drop_connections()
        simulator.ami.frozen = False
        await _until(lambda: manager.protocol is not first and manager.authenticated)
        pong = await asyncio.wait_for(manager.send_action({"Action": "Ping"}), 10)
        assert pong["Response"] == "Success"  # the new connection works
        assert not redirect.done()
        assert [action["Action"] for action in manager.awaiting_actions] == ["Redirect"]
    finally:
        manager.close()

    client = AmiClient(ami_settings(simulator, action_timeout=30.0))
    await client.connect(timeout=10.0)
    try:
        simulator.ami.frozen = True
        pending = asyncio.ensure_future(client.redirect("PJSIP/citizen-00000001", "x", "s"))
        await _until(lambda: simulator.ami.ignored_actions == 2)
        simulator.ami.drop_connections()
        with pytest.raises(AmiConnectionLost):
            await asyncio.wait_for(pending, 10)
    finally:
        simulator.ami.frozen = False
        await client.close()
