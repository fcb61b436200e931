"""The AMI codec against the bytes a real Asterisk 22.10.1 sent and accepted.

Every AMI file of tests/data/asterisk-22 (two whole sessions and the per-call slices) is
fed through the project's decoders whole and in random chunks, and every action the app
sent is encoded again and compared byte for byte.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from tests.telephony import traces
from voicebot.telephony.ami_codec import (
    AmiAction,
    AmiEvent,
    AmiMalformedBlock,
    AmiResponse,
    AmiStreamDecoder,
    encode_action,
)
from voicebot.telephony.ami_server_codec import AmiActionDecoder

AMI_FILES = traces.ami_files()


def _decode(
    stream: bytes, chunks: list[int] | None, *, banner: bool = True
) -> tuple[AmiStreamDecoder, list[object]]:
    decoder = AmiStreamDecoder(expect_banner=banner)
    out: list[object] = []
    if chunks is None:
        out.extend(decoder.feed(stream))
        return decoder, out
    pos = 0
    for size in chunks:
        out.extend(decoder.feed(stream[pos : pos + size]))
        pos += size
    out.extend(decoder.feed(stream[pos:]))
    return decoder, out


def _random_chunks(total: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    sizes: list[int] = []
    while sum(sizes) < total:
        sizes.append(rng.choice((1, 2, 3, 7, 64, 500, 1500, 4096)))
    return sizes


def _expected_items(block: traces.AmiBlock) -> tuple[tuple[str, str], ...]:
    # The decoder reads bytes as UTF-8 with replacement: the lone 0xC3 of the 40-byte
    # screen pop becomes U+FFFD instead of failing the whole event.
    return tuple(
        (key, value.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
        for key, value in block.headers()
    )


@pytest.mark.parametrize("name", AMI_FILES)
@pytest.mark.parametrize("chunked", [False, True], ids=["whole", "chunked"])
def test_asterisk_side_decodes_to_the_recorded_blocks_in_order(name: str, chunked: bool) -> None:
    blocks = traces.load_ami(name)
    stream = traces.asterisk_stream(blocks)
    chunks = _random_chunks(len(stream), seed=len(name)) if chunked else None
    decoder, decoded = _decode(stream, chunks)

    assert decoder.banner is not None
    assert decoder.banner.version == (11, 0, 0)
    assert decoder.banner.raw == "Asterisk Call Manager/11.0.0"
    recorded = [b for b in blocks if b.from_asterisk and not b.is_banner]
    assert len(decoded) == len(recorded)
    for block, message in zip(recorded, decoded, strict=True):
        assert not isinstance(message, AmiMalformedBlock), block
        assert isinstance(message, AmiEvent | AmiResponse)
        assert message.headers.items == _expected_items(block)
        kind, value = block.first
        if kind == "Event":
            assert isinstance(message, AmiEvent) and message.name == value
        else:
            assert kind == "Response"
            assert isinstance(message, AmiResponse) and message.status == value
    assert decoder.buffered == 0


def test_both_sessions_hold_the_events_the_readme_counts() -> None:
    names: Counter[str] = Counter()
    for session in ("session-1", "session-2"):
        _, decoded = _decode(traces.asterisk_stream(traces.load_ami(session)), None)
        for message in decoded:
            if isinstance(message, AmiEvent):
                user_event = message.get("UserEvent")
                names[f"UserEvent {user_event}" if user_event else message.name] += 1
    assert dict(names) == traces.facts()["ami"]["events_received_by_app"]


def test_a_voicebotcall_event_keeps_both_channel_headers_snapshot_first() -> None:
    _, decoded = _decode(traces.asterisk_stream(traces.load_ami("transfer")), None)
    call = next(
        m for m in decoded if isinstance(m, AmiEvent) and m.get("UserEvent") == "VoicebotCall"
    )
    assert call.headers.get_all("Channel") == [
        "Local/s@voicebot-incoming-00000002;2",
        "Local/s@voicebot-incoming-00000002;2",
    ]
    assert call.get("UUID") == traces.calls()["transfer"]["audiosocket"]["uuid"]
    assert call.get("Privilege") == "user,all"
    assert call.get("AccountCode") == ""  # "AccountCode: " with its trailing space


def test_events_with_a_byte_cut_inside_a_character_still_parse() -> None:
    non_utf8 = traces.facts()["ami"]["non_utf8_blocks"]
    blocks = [b for b in traces.load_ami("session-1") if b.from_asterisk]
    cut = [b for b in blocks if any(b"\xc3\r" in line + b"\r" for line in b.lines)]
    assert len(cut) == len(non_utf8) == 5
    for block in cut:
        _, decoded = _decode(block.wire, None, banner=False)
        (event,) = decoded
        assert isinstance(event, AmiEvent)
        assert event.name == block.first[1]
        assert event.get("Channel") == block.get("Channel")
        assert event.get("Uniqueid") == block.get("Uniqueid")


@pytest.mark.parametrize("name", ["session-1", "session-2"])
def test_every_response_echoes_an_actionid_the_app_sent(name: str) -> None:
    blocks = traces.load_ami(name)
    sent = {b.get("ActionID") for b in blocks if not b.from_asterisk}
    _, decoded = _decode(traces.asterisk_stream(blocks), None)
    responses = [m for m in decoded if isinstance(m, AmiResponse)]
    assert responses
    for response in responses:
        assert response.headers.items[1][0] == "ActionID"
        assert response.action_id in sent
        assert response.is_success


@pytest.mark.parametrize("name", ["session-1", "session-2"])
def test_app_side_decodes_as_the_recorded_actions(name: str) -> None:
    blocks = [b for b in traces.load_ami(name) if not b.from_asterisk]
    decoder = AmiActionDecoder()
    actions = decoder.feed(traces.app_stream(traces.load_ami(name)))
    assert len(actions) == len(blocks)
    for block, action in zip(blocks, actions, strict=True):
        assert not action.line_too_long
        assert action.headers.items == tuple(block.headers())


@pytest.mark.parametrize("name", ["session-1", "session-2"])
def test_encoder_writes_the_recorded_action_bytes(name: str) -> None:
    blocks = [b for b in traces.load_ami(name) if not b.from_asterisk]
    assert blocks
    for block in blocks:
        headers = block.headers()
        (_, action_name), (id_key, action_id) = headers[0], headers[1]
        assert id_key == "ActionID"
        action = AmiAction(action_name, tuple(headers[2:]))
        assert encode_action(action, action_id) == block.wire
