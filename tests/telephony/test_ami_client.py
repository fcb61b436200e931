"""AMI connector against the simulator: login, events, keep-alive, timeouts, reconnect."""

from __future__ import annotations

import asyncio
import socket

import pytest

from voicebot.telephony.ami import (
    AmiActionFailed,
    AmiActionTimeout,
    AmiClient,
    AmiConnectionLost,
    AmiLoginError,
    AmiNotConnected,
    AmiSettings,
)
from voicebot.telephony.ami_codec import make_action
from voicebot.telephony.contract import DEPARTMENTS_CONTEXT, INCOMING_CONTEXT
from voicebot.telephony.simulator import AsteriskSimulator

from .conftest import ConnectionCollector, ami_settings


async def test_login_succeeds_and_reports_the_banner(
    ami: AmiClient, simulator: AsteriskSimulator
) -> None:
    assert ami.connected
    # The recorded Asterisk 22.10.1 says 11.0.0 (tests/data/asterisk-22).
    assert ami.banner is not None and ami.banner.version == (11, 0, 0)
    assert simulator.ami.logins == 1
    assert simulator.ami.action_counts["login"] == 1


async def test_wrong_secret_raises_login_error_with_asterisk_message(
    simulator: AsteriskSimulator,
) -> None:
    client = AmiClient(ami_settings(simulator, secret="wrong"))
    with pytest.raises(AmiLoginError, match="Authentication failed"):
        await client.connect(timeout=3.0)
    assert not client.connected
    assert simulator.ami.logins == 0
    await asyncio.sleep(0.3)
    assert simulator.ami.action_counts["login"] == 1  # no hammering with bad credentials


async def test_events_reach_listeners_and_subscriptions(
    harness_ami: AmiClient, simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    ami = harness_ami  # every event, not only the voicebot user's filtered ones
    seen: list[str] = []
    ami.add_event_listener(lambda event: seen.append(event.name))
    subscription = ami.subscribe()
    call = await simulator.place_call(caller_id="0471111111")
    await collector.next()
    names: list[str] = []
    async with asyncio.timeout(20):
        while "UserEvent" not in names:
            names.append((await subscription.get()).name)
    assert names == [
        "Newchannel",
        "Newexten",
        "Newstate",
        "Newexten",
        "VarSet",
        "Newexten",
        "UserEvent",
    ]
    assert seen[: len(names)] == names
    await call.hangup()


async def test_keepalive_pings_again_and_again_and_keeps_the_connection(
    simulator: AsteriskSimulator,
) -> None:
    client = AmiClient(ami_settings(simulator, ping_interval=0.05))
    await client.connect(timeout=10.0)
    try:
        # How many pings fit in a wall-clock window depends on the machine's load; that
        # they keep coming, are answered and keep the one connection does not.
        async with asyncio.timeout(20):
            while simulator.ami.action_counts["ping"] < 3:
                await asyncio.sleep(0.01)
        assert client.connected
        assert client.connections_made == 1
    finally:
        await client.close()


async def test_unanswered_action_times_out_with_a_clear_error(
    ami: AmiClient, simulator: AsteriskSimulator
) -> None:
    simulator.ami.frozen = True  # Asterisk hung: reads actions, answers nothing
    with pytest.raises(AmiActionTimeout, match=r"Getvar \(ActionID vb-\w+-\d+\) .* 0\.3 s"):
        await ami.send_action(make_action("Getvar", {"Variable": "X"}), timeout=0.3)
    assert simulator.ami.ignored_actions == 1  # it was sent, and never answered
    assert ami.connected


async def test_action_in_flight_fails_fast_when_the_connection_drops(
    ami: AmiClient, simulator: AsteriskSimulator
) -> None:
    simulator.ami.frozen = True
    pending = asyncio.ensure_future(
        ami.send_action(make_action("Getvar", {"Variable": "X"}), timeout=120.0)
    )
    async with asyncio.timeout(20):
        while simulator.ami.ignored_actions < 1:
            await asyncio.sleep(0.01)
    simulator.drop_ami_connections()
    # Its own timeout is two minutes: AmiConnectionLost within the bound is the drop's doing.
    with pytest.raises(AmiConnectionLost, match="Getvar"):
        async with asyncio.timeout(20):
            await pending
    with pytest.raises(AmiNotConnected):
        await ami.send_action(make_action("Ping"))


async def test_dead_connection_is_detected_by_ping_and_reestablished(
    simulator: AsteriskSimulator,
) -> None:
    client = AmiClient(ami_settings(simulator, ping_interval=0.1, ping_timeout=0.2))
    await client.connect(timeout=20)
    try:
        simulator.ami.frozen = True
        async with asyncio.timeout(20):
            while client.connected:
                await asyncio.sleep(0.02)
        simulator.ami.frozen = False
        await client.wait_connected(timeout=20.0)
        assert client.connections_made == 2
    finally:
        await client.close()


async def test_reconnects_when_asterisk_comes_back_and_resyncs(
    simulator: AsteriskSimulator,
) -> None:
    # The delays between attempts (capped at reconnect_max_delay) are the Backoff policy's,
    # checked without a clock in tests/test_backoff.py; here: attempts go on while
    # Asterisk is away, and the first one after it is back logs in and resyncs.
    client = AmiClient(ami_settings(simulator, reconnect_max_delay=0.2))
    hook_calls: list[int] = []

    async def resync() -> None:
        hook_calls.append(client.connections_made)

    client.add_reconnect_hook(resync)
    await client.connect(timeout=10.0)
    try:
        port = simulator.ami_port
        await simulator.stop_ami()
        async with asyncio.timeout(20):
            while client.status().failed_attempts < 2:
                await asyncio.sleep(0.01)
        assert not client.connected
        await simulator.start_ami()
        assert simulator.ami_port == port
        await client.wait_connected(timeout=20.0)
        async with asyncio.timeout(20):
            while not hook_calls:
                await asyncio.sleep(0.01)
        assert hook_calls == [2]
        assert simulator.ami.logins == 2
    finally:
        await client.close()


async def test_setvar_and_redirect_reach_asterisk_with_the_right_fields(
    ami: AmiClient, simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    call = await simulator.place_call()
    conn = await collector.next()
    await ami.setvar(call.channel.name, "VB_TARGET", "2001")
    await ami.setvar(call.channel.name, "VB_SUMMARY", "permis de conduire")
    assert await ami.getvar(call.channel.name, "VB_TARGET") == "2001"
    await ami.redirect(call.channel.name, DEPARTMENTS_CONTEXT, "2001")
    assert call.action_names() == ["Setvar", "Setvar", "Getvar", "Redirect"]
    setvar = call.actions[0].headers
    assert (setvar.get("Variable"), setvar.get("Value")) == ("VB_TARGET", "2001")
    redirect = call.actions[-1].headers
    assert (redirect.get("Context"), redirect.get("Exten"), redirect.get("Priority")) == (
        DEPARTMENTS_CONTEXT,
        "2001",
        "1",
    )
    async with asyncio.timeout(20):
        await conn.wait_closed()  # Asterisk ends AudioSocket with an EOF, no 0x00


async def test_error_response_raises_action_failed_with_asterisk_message(
    ami: AmiClient,
) -> None:
    with pytest.raises(AmiActionFailed, match="No such channel"):
        await ami.setvar("PJSIP/nobody-00000000", "X", "1")
    with pytest.raises(AmiActionFailed, match="Channel does not exist"):
        await ami.redirect("PJSIP/nobody-00000000", DEPARTMENTS_CONTEXT, "2001")
    with pytest.raises(AmiActionFailed, match="Invalid/unknown command: Bogus"):
        await ami.send_action(make_action("Bogus"))


async def test_originate_response_is_delivered_as_an_event_not_a_response(
    harness_ami: AmiClient, simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    ami = harness_ami  # the voicebot user may not Originate
    subscription = ami.subscribe()
    result = await ami.originate("Local/s@citizen", context=INCOMING_CONTEXT, exten="s", priority=1)
    assert result.response.message == "Originate successfully queued"
    assert result.success
    assert result.event is not None and result.event.action_id == result.response.action_id
    assert result.channel is not None and result.channel.endswith(";1")
    async with asyncio.timeout(20):
        while (event := await subscription.get()).name != "OriginateResponse":
            pass
    assert event.get("Response") == "Success"
    call = await simulator.next_call(timeout=20)
    assert call.channel.name == result.channel
    await collector.next()
    await call.hangup()


async def test_core_show_channels_collects_the_list_reply(
    ami: AmiClient, simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    call = await simulator.place_call()
    await collector.next()
    channels = await ami.core_show_channels()
    assert [event.get("Channel") for event in channels] == [call.channel.name]
    assert channels[0].get("Application") == "AudioSocket"
    await call.hangup()
    assert await ami.core_show_channels() == []


async def test_an_outage_is_logged_at_warning_with_back_off_and_so_is_its_end(
    simulator: AsteriskSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    client = AmiClient(
        ami_settings(simulator, reconnect_initial_delay=0.005, reconnect_max_delay=0.02)
    )
    await client.connect(timeout=20)
    caplog.set_level("WARNING", logger="voicebot.telephony.ami")
    try:
        await simulator.stop_ami()
        async with asyncio.timeout(20):
            while client.status().failed_attempts < 40:
                await asyncio.sleep(0.01)
        status = client.status()
        unreachable = [r for r in caplog.records if "unreachable" in r.getMessage()]
        # One line for failures 1, 2, 4, 8, 16, 32...: visible, never one per attempt.
        assert len(unreachable) == status.failed_attempts.bit_length()
        assert all(r.levelname == "WARNING" for r in unreachable)
        assert "no transfer possible" in unreachable[0].getMessage()
        assert not status.connected and status.state == "connecting"
        assert status.down_for_s > 0 and status.last_error
        await simulator.start_ami()
        await client.wait_connected(timeout=5.0)
        back = [r for r in caplog.records if "AMI back" in r.getMessage()]
        assert len(back) == 1 and back[0].levelname == "WARNING"
        status = client.status()
        assert status.connected and status.down_for_s == 0 and status.failed_attempts == 0
        assert status.last_error is None and status.logins == 2
    finally:
        await client.close()


async def test_a_connector_that_never_reached_asterisk_says_so_at_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    client = AmiClient(AmiSettings(port=port, reconnect_initial_delay=0.01))
    caplog.set_level("WARNING", logger="voicebot.telephony.ami")
    with pytest.raises(TimeoutError, match="no login within"):
        await client.connect(timeout=0.3)
    try:
        assert any("unreachable" in r.getMessage() for r in caplog.records)
        status = client.status()
        assert not status.connected and status.logins == 0 and status.failed_attempts >= 1
    finally:
        await client.close()


async def test_the_voicebot_user_gets_only_its_filtered_events_and_may_not_originate(
    ami: AmiClient, simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    # As the recorded Asterisk 22.10.1 did with dialplans/manager.conf: no FullyBooted
    # (class system), only UserEvent, Hangup and Rename, and Originate refused.
    subscription = ami.subscribe()
    call = await simulator.place_call()
    await collector.next()
    await call.hangup()
    names: list[str] = []
    async with asyncio.timeout(20):
        while "Hangup" not in names:
            names.append((await subscription.get()).name)
    assert names == ["UserEvent", "Hangup"]
    with pytest.raises(AmiActionFailed, match="Permission denied"):
        await ami.originate("Local/s@citizen", context=INCOMING_CONTEXT, exten="s", wait=False)
