"""AudioSocket admission pieces on their own: allow-list, rate bound, refusal log, and the
server refusing a second connection for a live UUID (real TCP on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest

from voicebot.config import SettingsError, audiosocket_allow_list
from voicebot.telephony.admission import (
    InboundRateBound,
    PeerAllowList,
    RefusalLog,
    RefusalReason,
)
from voicebot.telephony.audiosocket import AudioSocketConnection, AudioSocketServer, CloseReason
from voicebot.telephony.audiosocket_codec import UuidMessage, encode, encode_audio


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_allow_list_matches_addresses_networks_and_host_names() -> None:
    allow = PeerAllowList(["10.0.0.5", "192.168.1.0/24", "localhost"])
    assert await allow.allows("10.0.0.5")
    assert await allow.allows("192.168.1.77")
    assert await allow.allows("::ffff:192.168.1.77")  # IPv4 on a dual-stack socket
    assert await allow.allows("127.0.0.1")  # localhost, resolved
    assert not await allow.allows("10.0.0.6")
    assert not await allow.allows("not an address")


def test_allow_list_defaults_to_loopback_and_the_pbx_the_assistant_talks_to() -> None:
    assert audiosocket_allow_list("", "asterisk") == ["127.0.0.0/8", "::1", "asterisk"]
    assert audiosocket_allow_list(" 10.0.0.5 , 10.0.1.0/24", "asterisk") == [
        "10.0.0.5",
        "10.0.1.0/24",
    ]
    with pytest.raises(SettingsError, match="audiosocket_allow_from: 'bad host!' is not"):
        audiosocket_allow_list("10.0.0.5, bad host!", "asterisk")
    with pytest.raises(ValueError, match="'bad host!' is not an address"):
        PeerAllowList(["bad host!"])


def test_rate_bound_lets_real_time_through_and_cuts_a_flood() -> None:
    clock = FakeClock()
    bound = InboundRateBound(slack=2.0, burst_s=2.0, close_after_s=5.0, clock=clock)
    for _ in range(3000):  # a minute of frames at Asterisk's pace, with jitter
        clock.now += 0.02
        assert bound.take(320) is True
    assert bound.excess_frames == 0
    verdicts = [bound.take(8192) for _ in range(30)]  # 8 KiB frames, all at once
    assert verdicts[:3] == [True, True, True]  # the burst allowance (2 s of audio)
    assert False in verdicts
    assert verdicts[-1] is None  # 5 s of excess: close


def test_refusal_log_writes_the_first_and_each_doubling(caplog: pytest.LogCaptureFixture) -> None:
    log = RefusalLog()
    with caplog.at_level(logging.WARNING, logger="voicebot.security"):
        for n in range(9):
            log.refused(RefusalReason.NOT_ANNOUNCED, "call %d refused", n)
    assert log.counts[RefusalReason.NOT_ANNOUNCED] == 9
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        f"security: call {n} refused" for n in (0, 1, 3, 7)
    ]


async def test_a_second_connection_with_a_live_uuid_gets_no_handler() -> None:
    handled: list[AudioSocketConnection] = []
    release = asyncio.Event()

    async def handler(conn: AudioSocketConnection) -> None:
        handled.append(conn)
        await release.wait()

    server = AudioSocketServer(handler, "127.0.0.1", 0)
    await server.start()
    call_id = uuid.uuid4()
    try:
        _, first = await asyncio.open_connection("127.0.0.1", server.port)
        first.write(encode(UuidMessage(call_id)))
        async with asyncio.timeout(5):
            while not handled:
                await asyncio.sleep(0.01)
        reader, second = await asyncio.open_connection("127.0.0.1", server.port)
        second.write(encode(UuidMessage(call_id)) + encode_audio(bytes(320)))
        async with asyncio.timeout(5):
            assert await reader.read() == b""  # closed without a frame
        assert len(handled) == 1 and not handled[0].closed
        assert server.refusals.counts[RefusalReason.LIVE_UUID] == 1
        release.set()
        second.close()
        first.close()
    finally:
        await server.stop(timeout=1.0)
    assert handled[0].close_reason in (CloseReason.LOCAL_CLOSE, CloseReason.PEER_CLOSED)
