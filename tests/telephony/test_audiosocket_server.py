"""AudioSocket server over real TCP on 127.0.0.1: handshake, framing, pacing, endings."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid

import pytest

from voicebot.telephony.audiosocket import (
    AudioSocketConnection,
    AudioSocketServer,
    CloseReason,
)
from voicebot.telephony.audiosocket_codec import (
    FRAME_BYTES,
    HANGUP_BYTES,
    AudioMessage,
    AudioSocketDecoder,
    DtmfMessage,
    UuidMessage,
    encode,
    encode_audio,
)

from .conftest import ConnectionCollector

VOICED = b"\x10\x00" * (FRAME_BYTES // 2)
"""One frame of a faint tone: unlike keep-alive silence, it is not all zeros."""


class RawAsterisk:
    """A bare TCP client speaking AudioSocket like Asterisk, recording what it hears."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = AudioSocketDecoder()
        self.heard: list[tuple[float, bytes]] = []
        """Every audio frame with its arrival time, keep-alive silence included."""
        self.hangup = False
        self.eof = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def connect(cls, port: int, call_id: uuid.UUID | None = None) -> RawAsterisk:
        async with asyncio.timeout(20):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        if call_id is not None:
            writer.write(encode(UuidMessage(call_id)))
        return client

    async def _read(self) -> None:
        try:
            while data := await self.reader.read(65536):
                now = time.monotonic()
                for message in self.decoder.feed(data):
                    if isinstance(message, AudioMessage):
                        self.heard.append((now, message.pcm))
                    else:
                        self.hangup = True
        except ConnectionError:
            pass
        finally:
            self.eof.set()

    @property
    def voiced(self) -> list[tuple[float, bytes]]:
        """The frames that carry sound (not all-zero keep-alive silence)."""
        return [(at, pcm) for at, pcm in self.heard if any(pcm)]

    async def close(self) -> None:
        self.writer.close()
        async with asyncio.timeout(20):
            await self.eof.wait()


async def test_uuid_handshake_hands_the_call_id_and_following_frames_to_the_handler(
    audiosocket_server: AudioSocketServer, collector: ConnectionCollector
) -> None:
    call_id = uuid.uuid4()
    client = await RawAsterisk.connect(audiosocket_server.port)
    # UUID and first audio in one TCP write, as a fast Asterisk may produce.
    client.writer.write(encode(UuidMessage(call_id)) + encode_audio(bytes(320)))
    conn = await collector.next()
    assert conn.call_id == call_id
    assert await conn.receive(timeout=2) == AudioMessage(bytes(320))
    await client.close()


async def test_odd_sized_frames_and_dtmf_arrive_with_their_own_lengths(
    audiosocket_server: AudioSocketServer, collector: ConnectionCollector
) -> None:
    client = await RawAsterisk.connect(audiosocket_server.port, uuid.uuid4())
    client.writer.write(
        encode_audio(bytes(320))
        + encode_audio(bytes(96))
        + encode(DtmfMessage("7"))
        + encode_audio(bytes(108))
    )
    conn = await collector.next()
    got = [await conn.receive(timeout=2) for _ in range(4)]
    assert got == [
        AudioMessage(bytes(320)),
        AudioMessage(bytes(96)),
        DtmfMessage("7"),
        AudioMessage(bytes(108)),
    ]
    assert conn.frames_received == 3
    await client.close()


async def test_stream_written_one_byte_at_a_time_is_reassembled(
    audiosocket_server: AudioSocketServer, collector: ConnectionCollector
) -> None:
    call_id = uuid.uuid4()
    pcm = bytes(range(256)) + bytes(64)
    stream = encode(UuidMessage(call_id)) + encode_audio(pcm) + encode(DtmfMessage("*"))
    client = await RawAsterisk.connect(audiosocket_server.port)
    for i in range(len(stream)):
        client.writer.write(stream[i : i + 1])
        await client.writer.drain()
        await asyncio.sleep(0)
    conn = await collector.next()
    assert conn.call_id == call_id
    assert await conn.receive(timeout=2) == AudioMessage(pcm)
    assert await conn.receive(timeout=2) == DtmfMessage("*")
    await client.close()


async def test_malformed_frame_closes_only_its_own_connection(
    audiosocket_server: AudioSocketServer, collector: ConnectionCollector
) -> None:
    good = await RawAsterisk.connect(audiosocket_server.port, uuid.uuid4())
    good_conn = await collector.next()
    bad = await RawAsterisk.connect(audiosocket_server.port, uuid.uuid4())
    bad_conn = await collector.next()
    bad.writer.write(b"\x02\x00\x00")  # kind 0x02 does not exist
    async with asyncio.timeout(20):
        await bad.eof.wait()
        await bad_conn.wait_closed()
    assert bad_conn.close_reason is CloseReason.PROTOCOL_ERROR
    # The other call is unaffected in both directions.
    good.writer.write(encode_audio(bytes(320)))
    assert await good_conn.receive(timeout=2) == AudioMessage(bytes(320))
    good_conn.play(bytes(FRAME_BYTES))
    async with asyncio.timeout(20):
        while not good.heard:
            await asyncio.sleep(0.01)
    assert not good_conn.closed
    await good.close()


async def test_oversized_frame_is_refused_without_waiting_for_its_payload(
    audiosocket_server: AudioSocketServer, collector: ConnectionCollector
) -> None:
    client = await RawAsterisk.connect(audiosocket_server.port, uuid.uuid4())
    conn = await collector.next()
    client.writer.write(b"\x10\xff\xff")  # announces 65535 bytes, sends none
    async with asyncio.timeout(20):
        await conn.wait_closed()
    assert conn.close_reason is CloseReason.PROTOCOL_ERROR


async def test_connection_not_starting_with_uuid_is_closed_before_the_handler(
    audiosocket_server: AudioSocketServer, collector: ConnectionCollector
) -> None:
    client = await RawAsterisk.connect(audiosocket_server.port)
    client.writer.write(encode_audio(bytes(320)))
    async with asyncio.timeout(20):
        await client.eof.wait()
    assert collector.connections.empty()


async def test_connection_without_uuid_times_out(
    audiosocket_server: AudioSocketServer, collector: ConnectionCollector
) -> None:
    client = await RawAsterisk.connect(audiosocket_server.port)
    started = time.monotonic()
    async with asyncio.timeout(20):
        await client.eof.wait()
    # It waited for the UUID (uuid_timeout=1.0 in the fixture) before closing; load can
    # only make that longer.
    assert time.monotonic() - started >= 0.9
    assert collector.connections.empty()


async def test_peer_closing_tcp_is_the_normal_end_of_a_call(
    audiosocket_server: AudioSocketServer, collector: ConnectionCollector
) -> None:
    client = await RawAsterisk.connect(audiosocket_server.port, uuid.uuid4())
    conn = await collector.next()
    client.writer.write(encode_audio(bytes(320)))
    await client.close()  # no 0x00, exactly like Asterisk on hangup or Redirect
    received = []
    async with asyncio.timeout(20):
        async for message in conn:
            received.append(message)
    assert received == [AudioMessage(bytes(320))]
    assert conn.close_reason is CloseReason.PEER_CLOSED
    assert await conn.receive() is None


async def test_our_half_is_closed_as_soon_as_asterisk_closes_its_own(
    audiosocket_server: AudioSocketServer, collector: ConnectionCollector
) -> None:
    # Issue 12 item 5: after a Redirect the session goes on (waiting for the dial result
    # over AMI) while Asterisk has closed AudioSocket; the socket must not stay in
    # CLOSE-WAIT meanwhile (16.8 s and 36.8 s were recorded before).
    release = asyncio.Event()

    async def follow_the_transfer(conn: AudioSocketConnection) -> None:
        await conn.wait_closed()
        await release.wait()  # the dial result, over AMI, much later

    server = AudioSocketServer(follow_the_transfer, "127.0.0.1", 0, uuid_timeout=1.0)
    await server.start()
    try:
        client = await RawAsterisk.connect(server.port, uuid.uuid4())
        client.writer.write(encode_audio(bytes(320)))
        client.writer.write_eof()  # Asterisk's FIN; its socket still sees ours
        async with asyncio.timeout(5):
            await client.eof.wait()
        assert len(server.connections) == 1, "the handler is still following the call"
        release.set()
        client.writer.close()
    finally:
        await server.stop(timeout=1.0)


async def test_hangup_message_from_peer_ends_the_call(
    audiosocket_server: AudioSocketServer, collector: ConnectionCollector
) -> None:
    client = await RawAsterisk.connect(audiosocket_server.port, uuid.uuid4())
    conn = await collector.next()
    client.writer.write(HANGUP_BYTES)
    async with asyncio.timeout(20):
        await conn.wait_closed()
        await client.eof.wait()
    assert conn.close_reason is CloseReason.PEER_HANGUP


async def test_receive_times_out_on_the_clock_when_no_frames_arrive(
    audiosocket_server: AudioSocketServer, collector: ConnectionCollector
) -> None:
    client = await RawAsterisk.connect(audiosocket_server.port, uuid.uuid4())
    conn = await collector.next()
    with pytest.raises(TimeoutError):
        await conn.receive(timeout=0.3)
    assert not conn.closed  # a quiet caller is not a hung-up one
    await client.close()


async def test_send_hangup_writes_00_00_00_then_closes(
    audiosocket_server: AudioSocketServer, collector: ConnectionCollector
) -> None:
    client = await RawAsterisk.connect(audiosocket_server.port, uuid.uuid4())
    conn = await collector.next()
    conn.play(bytes(FRAME_BYTES * 50))
    async with asyncio.timeout(20):
        await conn.send_hangup(grace=0.2)
        await client.eof.wait()
    assert client.hangup
    assert conn.close_reason is CloseReason.LOCAL_HANGUP


async def test_paced_frames_follow_absolute_deadlines_without_drift(
    audiosocket_server: AudioSocketServer, collector: ConnectionCollector
) -> None:
    """Structure of the pacer, whatever else the machine runs.

    How close frames leave to their slot (within 5 ms) and that lateness does not
    accumulate depend on the machine's load, so they are measured by the benchmark
    (docs/benchmarks.md), not asserted here. What holds under any load: every frame is
    sent, whole, in order, and none ahead of its slot on the 20 ms grid, so the audio is
    never played faster than it lasts.
    """
    client = await RawAsterisk.connect(audiosocket_server.port, uuid.uuid4())
    conn = await collector.next()
    frames = 100  # 2 s of audio
    numbered = b"".join(bytes([k]) * FRAME_BYTES for k in range(1, frames + 1))
    conn.play(numbered)
    async with asyncio.timeout(30):
        await conn.drain_playback()
        while len(client.voiced) < frames:
            await asyncio.sleep(0.01)
    stats = conn.playout_stats
    assert stats.frames_sent - stats.silence_frames == frames
    assert all(len(pcm) == FRAME_BYTES for _, pcm in client.heard)
    assert [frame[0] for _, frame in client.voiced] == list(range(1, frames + 1))
    summary = stats.summary()
    assert summary.max_early <= 0.0015, summary  # early is never caused by load
    voiced = client.voiced
    assert voiced[-1][0] - voiced[0][0] >= (frames - 1) * 0.020 - 0.005
    await client.close()


async def test_stop_playback_cuts_audio_within_two_frames(
    audiosocket_server: AudioSocketServer, collector: ConnectionCollector
) -> None:
    client = await RawAsterisk.connect(audiosocket_server.port, uuid.uuid4())
    conn = await collector.next()
    conn.play(VOICED * 100)
    async with asyncio.timeout(20):
        while len(client.voiced) < 3:
            await asyncio.sleep(0.01)
    stats = conn.playout_stats
    voiced_at_stop = stats.frames_sent - stats.silence_frames
    dropped = conn.stop_playback()
    # Counted in frames, not milliseconds: after the stop only keep-alive silence follows.
    heard_at_stop = len(client.heard)
    async with asyncio.timeout(20):
        while len(client.heard) < heard_at_stop + 5:
            await asyncio.sleep(0.01)
    voiced_after = stats.frames_sent - stats.silence_frames
    assert voiced_after <= voiced_at_stop + 1  # at most the frame already on its way
    assert len(client.voiced) == voiced_after
    assert dropped >= (100 - voiced_at_stop - 1) * FRAME_BYTES
    assert not conn.playing
    await client.close()


async def test_stop_lets_handlers_finish_then_closes_the_stragglers() -> None:
    finished: list[uuid.UUID] = []
    stuck: list[AudioSocketConnection] = []

    async def handler(conn: AudioSocketConnection) -> None:
        if not stuck:
            stuck.append(conn)
            await asyncio.sleep(3600)  # ignores everything until cancelled
        await conn.drain_playback()
        finished.append(conn.call_id)

    server = AudioSocketServer(handler, "127.0.0.1", 0)
    await server.start()
    first = await RawAsterisk.connect(server.port, uuid.uuid4())
    second_id = uuid.uuid4()
    second = await RawAsterisk.connect(server.port, second_id)
    async with asyncio.timeout(20):
        while len(server.connections) < 1 or not stuck:
            await asyncio.sleep(0.01)
    # The stuck handler would sleep an hour: within this bound, stop() cut it.
    async with asyncio.timeout(30):
        await server.stop(timeout=0.3)
        await first.eof.wait()
        await second.eof.wait()
    assert stuck[0].close_reason is CloseReason.SERVER_STOP
    assert finished == [second_id]


async def test_handler_crash_is_contained_to_its_call() -> None:
    calls = 0

    async def handler(conn: AudioSocketConnection) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("boom")
        await conn.wait_closed()

    server = AudioSocketServer(handler, "127.0.0.1", 0)
    await server.start()
    try:
        crashed = await RawAsterisk.connect(server.port, uuid.uuid4())
        async with asyncio.timeout(20):
            await crashed.eof.wait()  # its connection is closed, so Asterisk hangs up
        healthy = await RawAsterisk.connect(server.port, uuid.uuid4())
        async with asyncio.timeout(20):
            while calls < 2:
                await asyncio.sleep(0.01)
        assert not healthy.eof.is_set()
        await healthy.close()
    finally:
        await server.stop(timeout=1)


async def test_a_silent_assistant_still_sends_a_frame_every_20_ms(
    audiosocket_server: AudioSocketServer, collector: ConnectionCollector
) -> None:
    # Before: nothing was sent while nothing was queued, and a real Asterisk 22 ends
    # AudioSocket after 2000 ms with no frame in either direction (issue 12 item 1).
    client = await RawAsterisk.connect(audiosocket_server.port, uuid.uuid4())
    conn = await collector.next()
    async with asyncio.timeout(5):
        while len(client.heard) < 50:  # one second of the call, and nothing played
            await asyncio.sleep(0.02)
    assert all(pcm == bytes(FRAME_BYTES) for _, pcm in client.heard)
    times = [at for at, _ in client.heard]
    # The structure, not a latency: never near the 2 s after which Asterisk gives up.
    assert max(b - a for a, b in itertools.pairwise(times)) < 1.0
    assert conn.playout_stats.silence_frames >= 50
    conn.play(VOICED * 5)
    async with asyncio.timeout(5):
        while len(client.voiced) < 5:
            await asyncio.sleep(0.02)
    await client.close()
