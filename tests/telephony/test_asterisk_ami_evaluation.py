"""Evidence behind replacing the ``asterisk-ami`` package (see voicebot/telephony/ami.py).

Each test pins down one behaviour of asterisk-ami 0.1.7 against the simulator or raw AMI
text. If a new release changes one of them, the test fails and the choice should be
re-evaluated.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest

from voicebot.telephony.simulator import AsteriskSimulator
from voicebot.telephony.simulator.ami import SimulatedAmiServer

from .conftest import SECRET, USERNAME

ami_lib = pytest.importorskip("asterisk.ami")

# asterisk-ami calls Condition.notifyAll(), deprecated since Python 3.10.
pytestmark = pytest.mark.filterwarnings("ignore:notifyAll:DeprecationWarning")

ORIGINATE_RESPONSE = (
    "Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: 7\r\nResponse: Success\r\n"
    "Channel: Local/s@citizen-00000001;1\r\nContext: bot\r\nExten: s\r\nReason: 4"
)


def test_it_classifies_originate_response_as_an_event() -> None:
    # Response.match anchors at the start of the block and events start with "Event:",
    # so this part of fire_recv_pack() is right.
    assert not ami_lib.Response.match(ORIGINATE_RESPONSE)
    assert ami_lib.Event.match(ORIGINATE_RESPONSE)
    event = ami_lib.Event.read(ORIGINATE_RESPONSE)
    assert event.name == "OriginateResponse"


def test_it_keeps_only_the_last_of_repeated_headers() -> None:
    # A UserEvent carries the channel snapshot, then the dialplan body
    # (manager_channels.c channel_user_event_cb()); the body's Channel wins here.
    pack = (
        "Event: UserEvent\r\nChannel: PJSIP/citizen-00000001\r\nUniqueid: 1700000000.1\r\n"
        "UserEvent: VoicebotCall\r\nUUID: 40325ec2\r\nChannel: whatever the dialplan said"
    )
    event = ami_lib.Event.read(pack)
    assert event.keys["Channel"] == "whatever the dialplan said"


def _blocking_session(server: SimulatedAmiServer, idle: float) -> dict[str, Any]:
    """Log in with asterisk-ami, stay idle, report what its listener thread did."""
    outcome: dict[str, Any] = {"disconnect_errors": []}
    client = ami_lib.AMIClient(address="127.0.0.1", port=server.port, timeout=0.5)
    client.add_listener(
        on_disconnect=lambda source, error=None: outcome["disconnect_errors"].append(error)
    )
    response = client.login(username=USERNAME, secret=SECRET).response
    outcome["login"] = None if response is None else response.status
    time.sleep(idle)
    outcome["listener_alive"] = client._thread.is_alive()
    outcome["server_sessions"] = len(server.sessions)
    client.disconnect()
    return outcome


async def test_its_socket_timeout_kills_the_listener_on_a_quiet_healthy_connection(
    simulator: AsteriskSimulator,
) -> None:
    async with asyncio.timeout(10):
        outcome = await asyncio.to_thread(_blocking_session, simulator.ami, 1.2)
    assert outcome["login"] == "Success"
    assert not outcome["listener_alive"]
    assert any(isinstance(e, socket.timeout | TimeoutError) for e in outcome["disconnect_errors"])
    assert outcome["server_sessions"] == 1  # the server side never went away


def _in_flight_on_drop(
    simulator: AsteriskSimulator, loop: asyncio.AbstractEventLoop
) -> tuple[object, float]:
    client = ami_lib.AMIClient(address="127.0.0.1", port=simulator.ami_port, timeout=1.5)
    login = client.login(username=USERNAME, secret=SECRET).response
    assert login is not None and login.status == "Success"
    simulator.ami.frozen = True
    future = client.send_action(ami_lib.SimpleAction("Getvar", Variable="X"))
    time.sleep(0.1)
    loop.call_soon_threadsafe(simulator.ami.drop_connections)
    started = time.monotonic()
    result = future.response
    return result, time.monotonic() - started


async def test_an_action_in_flight_on_a_drop_silently_yields_none_after_the_timeout(
    simulator: AsteriskSimulator,
) -> None:
    async with asyncio.timeout(10):
        result, waited = await asyncio.to_thread(
            _in_flight_on_drop, simulator, asyncio.get_running_loop()
        )
    assert result is None  # no error: the caller cannot tell a drop from a slow reply
    assert waited >= 1.0  # it waited out the timeout instead of failing fast
