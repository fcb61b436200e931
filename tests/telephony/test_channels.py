"""ChannelDirectory: UUID -> channel from UserEvent, hangups, dial results, resync."""

from __future__ import annotations

import asyncio

import pytest

from tests.telephony import traces
from voicebot.telephony.ami import AmiClient
from voicebot.telephony.ami_codec import AmiEvent, AmiHeaders, AmiStreamDecoder
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
    waiter = asyncio.ensure_future(directory.wait_channel(CALL_ID, timeout=20))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    directory.handle_event(_voicebot_call("PJSIP/citizen-00000008", "PJSIP/citizen-00000008"))
    async with asyncio.timeout(20):
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
    async with asyncio.timeout(20):
        hangup = await directory.wait_hangup(CALL_ID, timeout=20)
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
    result = await directory.wait_dial_result(entry.call_id, timeout=20)
    assert (result.status, result.target, result.needs_fallback) == (status, "2001", True)
    # Fallback: the channel is still waiting in the dialplan; send it to the operator.
    directory.clear_dial_result(entry.call_id)
    await ami.redirect(entry.channel, DEPARTMENTS_CONTEXT, DEFAULT_OPERATOR_EXTEN)
    operator = await directory.wait_dial_result(entry.call_id, timeout=20)
    assert (operator.status, operator.needs_fallback) == (DialStatus.ANSWER, False)
    await directory.wait_hangup(entry.call_id, timeout=20)
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
    await ami.wait_connected(timeout=20)
    hangup = await directory.wait_hangup(str(conn.call_id), timeout=2)
    assert hangup.cause_txt == "hangup missed while AMI was disconnected"


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _announce(directory: ChannelDirectory, call_id: str, n: int) -> None:
    directory.handle_event(
        _event(
            "UserEvent",
            ("Channel", f"PJSIP/citizen-{n:08x}"),
            ("Uniqueid", f"1700000000.{n}"),
            ("Linkedid", f"1700000000.{n}"),
            ("UserEvent", "VoicebotCall"),
            ("UUID", call_id),
            ("Channel", f"PJSIP/citizen-{n:08x}"),
        )
    )


def test_announcements_no_session_serves_are_capped_and_expire() -> None:
    # Before: every VoicebotCall stayed until it was hung up and 600 s old, and each
    # registration swept all of them (issue 13 item 3).
    clock = _Clock()
    directory = ChannelDirectory(unclaimed_ttl=30.0, max_unclaimed=100, clock=clock)
    for n in range(1000):
        _announce(directory, f"00000000-0000-4000-8000-{n:012d}", n)
    assert len(directory) == 100
    assert directory.channel_for(f"00000000-0000-4000-8000-{999:012d}") is not None
    assert directory.channel_for(f"00000000-0000-4000-8000-{0:012d}") is None
    clock.now += 31.0
    _announce(directory, CALL_ID, 5000)
    assert len(directory) == 1


def test_a_claimed_call_stays_past_the_ttl_until_forgotten() -> None:
    clock = _Clock()
    directory = ChannelDirectory(unclaimed_ttl=30.0, clock=clock)
    assert directory.claim(CALL_ID)
    _announce(directory, CALL_ID, 1)
    clock.now += 3600.0
    _announce(directory, "11111111-0000-4000-8000-000000000000", 2)
    assert directory.channel_for(CALL_ID) is not None
    directory.forget(CALL_ID)
    assert directory.channel_for(CALL_ID) is None
    assert not directory.is_claimed(CALL_ID)


def test_a_uuid_can_be_claimed_by_one_session_only() -> None:
    directory = ChannelDirectory()
    _announce(directory, CALL_ID, 1)
    assert directory.claim(CALL_ID.upper())
    assert not directory.claim(CALL_ID)
    directory.forget(CALL_ID)
    assert directory.claim(CALL_ID)


def test_department_legs_sharing_the_linkedid_do_not_end_the_call() -> None:
    directory = ChannelDirectory()
    _announce(directory, CALL_ID, 7)
    directory.handle_event(
        _event(
            "Hangup",
            ("Channel", "PJSIP/2003-00000009"),
            ("Uniqueid", "1700000000.9"),
            ("Linkedid", "1700000000.7"),
            ("Cause", "16"),
        )
    )
    assert directory.hangup_for(CALL_ID) is None


class _ListingClient:
    """Answers CoreShowChannels with a listing Asterisk 22 gave during a live call."""

    def __init__(self) -> None:
        decoder = AmiStreamDecoder(expect_banner=False)
        facts = traces.facts()["ami"]
        listing = facts["coreshowchannels_with_a_live_call_harness_session_as_voicebot_user"]
        self.events = [
            block
            for block in decoder.feed("".join(listing).encode())
            if isinstance(block, AmiEvent) and block.is_named("CoreShowChannel")
        ]

    async def core_show_channels(self) -> list[AmiEvent]:
        return list(self.events)


ASSISTANT_CALL = "7f0db62c-4dda-4ba6-befc-1d2af08ac0ae"
"""The recorded faq call, whose AudioSocket goes to the assistant at 127.0.0.1:19092."""
OTHER_AUDIOSOCKET = "776c90fb-e500-4373-9f41-494c38419144"
"""The caller leg of that call, streaming to another AudioSocket application (:19095)."""


async def test_resync_adopts_only_audiosocket_channels_pointing_at_this_assistant() -> None:
    # Before: any channel running AudioSocket was taken for a voicebot call (issue 12 item 6).
    client = _ListingClient()
    directory = ChannelDirectory(own_addresses=["127.0.0.1:19092"])
    await directory.resync(client)  # type: ignore[arg-type]
    entry = directory.channel_for(ASSISTANT_CALL)
    assert entry is not None and entry.channel == "Local/027731000@voicebot-incoming-00000001;2"
    assert directory.channel_for(OTHER_AUDIOSOCKET) is None


async def test_without_a_known_address_resync_adopts_only_calls_a_session_waits_for() -> None:
    client = _ListingClient()
    directory = ChannelDirectory()
    waiting = asyncio.ensure_future(directory.wait_channel(ASSISTANT_CALL, timeout=20))
    await asyncio.sleep(0)
    await directory.resync(client)  # type: ignore[arg-type]
    async with asyncio.timeout(20):
        entry = await waiting
    assert entry.uniqueid == "1796353660.3"
    assert directory.channel_for(OTHER_AUDIOSOCKET) is None
