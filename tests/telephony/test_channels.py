"""ChannelDirectory: UUID -> channel from UserEvent, hangups, dial results, resync."""

from __future__ import annotations

import asyncio

import pytest

from voicebot.telephony.ami import AmiClient
from voicebot.telephony.ami_codec import AmiEvent, AmiHeaders
from voicebot.telephony.channels import ChannelDirectory, DialStatus
from voicebot.telephony.contract import DEFAULT_OPERATOR_EXTEN, DEPARTMENTS_CONTEXT
from voicebot.telephony.simulator import AsteriskSimulator, DepartmentBehaviour

from .conftest import ConnectionCollector

CALL_ID = "40325ec2-5efd-4bd3-805f-53576e581d13"


def _event(name: str, *fields: tuple[str, str]) -> AmiEvent:
    return AmiEvent(name, AmiHeaders((("Event", name), *fields)))


def _voicebot_call(channel: str, body_channel: str) -> AmiEvent:
    return _event(
        "UserEvent",
        ("Channel", channel),
        ("Uniqueid", "1700000000.7"),
        ("Linkedid", "1700000000.7"),
        ("CallerIDNum", "0470000000"),
        ("UserEvent", "VoicebotCall"),
        ("UUID", CALL_ID.upper()),
        ("Channel", body_channel),
    )


async def test_snapshot_channel_wins_over_the_dialplan_body_copy() -> None:
    directory = ChannelDirectory()
    directory.handle_event(_voicebot_call("PJSIP/citizen-00000007", "spoofed"))
    entry = directory.channel_for(CALL_ID)
    assert entry is not None
    assert entry.channel == "PJSIP/citizen-00000007"
    assert entry.uniqueid == "1700000000.7"


async def test_wait_channel_covers_audio_arriving_before_the_event() -> None:
    directory = ChannelDirectory()
    waiter = asyncio.ensure_future(directory.wait_channel(CALL_ID, timeout=2))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    directory.handle_event(_voicebot_call("PJSIP/citizen-00000008", "PJSIP/citizen-00000008"))
    async with asyncio.timeout(1):
        entry = await waiter
    assert entry.channel == "PJSIP/citizen-00000008"
    with pytest.raises(TimeoutError, match="no VoicebotCall UserEvent for call other"):
        await directory.wait_channel("other", timeout=0.05)


async def test_hangup_and_rename_are_tracked_by_uniqueid() -> None:
    directory = ChannelDirectory()
    directory.handle_event(_voicebot_call("Local/s@bot-00000001;1", "Local/s@bot-00000001;1"))
    directory.handle_event(
        _event(
            "Rename",
            ("Channel", "Local/s@bot-00000001;1"),
            ("Newname", "PJSIP/citizen-00000009"),
            ("Uniqueid", "1700000000.7"),
        )
    )
    entry = directory.channel_for(CALL_ID)
    assert entry is not None and entry.channel == "PJSIP/citizen-00000009"
    directory.handle_event(
        _event(
            "Hangup",
            ("Channel", "PJSIP/citizen-00000009"),
            ("Uniqueid", "1700000000.7"),
            ("Cause", "16"),
            ("Cause-txt", "Normal Clearing"),
        )
    )
    async with asyncio.timeout(1):
        hangup = await directory.wait_hangup(CALL_ID, timeout=1)
    assert (hangup.cause, hangup.cause_txt) == (16, "Normal Clearing")


async def test_simulated_call_is_correlated_from_its_user_event(
    ami: AmiClient, simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    directory = ChannelDirectory()
    directory.attach(ami)
    call = await simulator.place_call(caller_id="0479999999")
    conn = await collector.next()
    entry = await directory.wait_channel(str(conn.call_id), timeout=2)
    assert entry.channel == call.channel.name
    assert entry.caller_id_num == "0479999999"
    await call.hangup()
    hangup = await directory.wait_hangup(str(conn.call_id), timeout=2)
    assert hangup.cause == 16


@pytest.mark.parametrize(
    ("behaviour", "status"),
    [
        (DepartmentBehaviour.BUSY, DialStatus.BUSY),
        (DepartmentBehaviour.NO_ANSWER, DialStatus.NOANSWER),
        (DepartmentBehaviour.UNAVAILABLE, DialStatus.CHANUNAVAIL),
    ],
)
async def test_failed_transfer_reports_fallback_then_operator_takes_the_call(
    ami: AmiClient,
    simulator: AsteriskSimulator,
    collector: ConnectionCollector,
    behaviour: DepartmentBehaviour,
    status: DialStatus,
) -> None:
    directory = ChannelDirectory()
    directory.attach(ami)
    simulator.set_department("2001", behaviour)
    call = await simulator.place_call()
    conn = await collector.next()
    entry = await directory.wait_channel(str(conn.call_id), timeout=2)
    await ami.setvar(entry.channel, "VB_TARGET", "2001")
    await ami.redirect(entry.channel, DEPARTMENTS_CONTEXT, "2001")
    result = await directory.wait_dial_result(entry.call_id, timeout=2)
    assert (result.status, result.target, result.needs_fallback) == (status, "2001", True)
    # Fallback: the channel is still waiting in the dialplan; send it to the operator.
    directory.clear_dial_result(entry.call_id)
    await ami.redirect(entry.channel, DEPARTMENTS_CONTEXT, DEFAULT_OPERATOR_EXTEN)
    operator = await directory.wait_dial_result(entry.call_id, timeout=2)
    assert (operator.status, operator.needs_fallback) == (DialStatus.ANSWER, False)
    await directory.wait_hangup(entry.call_id, timeout=2)
    assert call.transfers == [
        f"{DEPARTMENTS_CONTEXT},2001,1",
        f"{DEPARTMENTS_CONTEXT},{DEFAULT_OPERATOR_EXTEN},1",
    ]


async def test_resync_marks_channels_that_vanished_while_disconnected(
    ami: AmiClient, simulator: AsteriskSimulator, collector: ConnectionCollector
) -> None:
    directory = ChannelDirectory()
    directory.attach(ami)
    call = await simulator.place_call()
    conn = await collector.next()
    await directory.wait_channel(str(conn.call_id), timeout=2)
    await simulator.stop_ami()
    await call.hangup()  # the Hangup event is lost: nobody is connected
    await simulator.start_ami()
    await ami.wait_connected(timeout=3)
    hangup = await directory.wait_hangup(str(conn.call_id), timeout=2)
    assert hangup.cause_txt == "hangup missed while AMI was disconnected"
