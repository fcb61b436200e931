"""The AudioSocket codec and server against what a real Asterisk 22.10.1 sent.

Each recorded connection's inbound messages are rebuilt as wire bytes (audio at the
recorded level, the recorded UUID and DTMF payloads) and fed to the decoder whole and in
random chunks, then streamed to the real server over TCP and closed with a FIN, as
Asterisk ended every one of the 13 connections.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter

import pytest

from tests.telephony import traces
from voicebot.telephony.audiosocket import AudioSocketConnection, AudioSocketServer, CloseReason
from voicebot.telephony.audiosocket_codec import (
    AudioMessage,
    AudioSocketDecoder,
    AudioSocketMessage,
    DtmfMessage,
    UuidMessage,
)

CALLS = traces.audiosocket_calls()


def _inbound_wire(trace: traces.AudioSocketTrace) -> bytes:
    return b"".join(traces.wire_message(line) for line in trace.inbound())


def _decode_chunked(stream: bytes, seed: int) -> list[AudioSocketMessage]:
    rng = random.Random(seed)
    decoder = AudioSocketDecoder()
    out: list[AudioSocketMessage] = []
    pos = 0
    while pos < len(stream):
        size = rng.choice((1, 2, 3, 5, 160, 323, 1000, 65536))
        out.extend(decoder.feed(stream[pos : pos + size]))
        pos += size
    decoder.finish()
    return out


def test_the_capture_has_the_thirteen_connections_of_the_readme() -> None:
    assert len(CALLS) == traces.facts()["audiosocket"]["connections"] == 13


@pytest.mark.parametrize("name", CALLS)
def test_inbound_messages_decode_in_order_whole_and_chunked(name: str) -> None:
    trace = traces.load_audiosocket(name)
    stream = _inbound_wire(trace)
    whole = AudioSocketDecoder().feed(stream)
    chunked = _decode_chunked(stream, seed=len(name))
    assert whole == chunked
    recorded = trace.inbound()
    assert len(whole) == len(recorded)
    first = whole[0]
    assert isinstance(first, UuidMessage)
    assert str(first.call_id) == traces.calls()[name]["audiosocket"]["uuid"]
    for line, message in zip(recorded, whole, strict=True):
        assert message.kind.name.lower() == line.kind
        if isinstance(message, AudioMessage):
            assert len(message.pcm) == line.length
            assert (line.rms_dbfs is None) == (not any(message.pcm))
        elif isinstance(message, DtmfMessage):
            assert message.digit.encode() == line.payload


def test_frame_sizes_and_kinds_match_the_readme_facts() -> None:
    sizes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for name in CALLS:
        for message in AudioSocketDecoder().feed(_inbound_wire(traces.load_audiosocket(name))):
            kinds[message.kind.name.lower()] += 1
            if isinstance(message, AudioMessage):
                sizes[str(len(message.pcm))] += 1
    facts = traces.facts()["audiosocket"]
    assert dict(sizes) == facts["frame_sizes_in"]
    assert dict(kinds) == facts["messages_in"]


def test_every_connection_was_ended_by_a_fin_from_asterisk() -> None:
    for name in CALLS:
        end = traces.load_audiosocket(name).end
        assert (end.how, end.by) == ("fin", "asterisk"), name
        assert not any(m.kind == "hangup" for m in traces.load_audiosocket(name).inbound())


class _Recorder:
    def __init__(self) -> None:
        self.done: asyncio.Queue[tuple[AudioSocketConnection, list[AudioSocketMessage]]] = (
            asyncio.Queue()
        )

    async def __call__(self, conn: AudioSocketConnection) -> None:
        received = [message async for message in conn]
        await self.done.put((conn, received))


@pytest.mark.parametrize("name", ["greeting", "hangup", "dtmf3", "mute", "transfer"])
async def test_server_takes_a_recorded_stream_and_its_fin_as_the_end_of_the_call(
    name: str,
) -> None:
    trace = traces.load_audiosocket(name)
    recorder = _Recorder()
    # The inbound rate bound (which a replay at socket speed exceeds by design) is tested
    # in test_admission.py; here only the framing of what a real Asterisk sent matters.
    server = AudioSocketServer(recorder, "127.0.0.1", 0, uuid_timeout=2.0, rate_bound=None)
    await server.start()
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        # As fast as the socket takes it: the server must not depend on Asterisk's pacing.
        writer.write(_inbound_wire(trace))
        await writer.drain()
        writer.write_eof()
        async with asyncio.timeout(10.0):
            conn, received = await recorder.done.get()
        writer.close()
    finally:
        await server.stop(timeout=1.0)
    assert conn.call_id == uuid.UUID(traces.calls()[name]["audiosocket"]["uuid"])
    assert conn.close_reason is CloseReason.PEER_CLOSED
    inbound = trace.inbound()[1:]
    assert [m.kind.name.lower() for m in received] == [line.kind for line in inbound]
    assert [len(m.pcm) for m in received if isinstance(m, AudioMessage)] == [
        line.length for line in inbound if line.kind == "audio"
    ]
