"""AudioSocket codec: round trips, chunking, and malformed input as raw bytes."""

from __future__ import annotations

import struct
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicebot.telephony.audiosocket_codec import (
    FRAME_BYTES,
    HANGUP_BYTES,
    HEADER_SIZE,
    AsteriskErrorCode,
    AudioMessage,
    AudioSocketDecoder,
    AudioSocketMessage,
    AudioSocketProtocolError,
    DtmfMessage,
    ErrorMessage,
    HangupMessage,
    InvalidPayloadError,
    MessageKind,
    PayloadTooLargeError,
    TruncatedStreamError,
    UnknownMessageKindError,
    UuidMessage,
    encode,
    encode_audio,
)

CALL_ID = uuid.UUID("40325ec2-5efd-4bd3-805f-53576e581d13")


def test_uuid_message_is_kind_0x01_with_16_raw_bytes() -> None:
    raw = encode(UuidMessage(CALL_ID))
    assert raw == b"\x01\x00\x10" + CALL_ID.bytes
    assert AudioSocketDecoder().feed(raw) == [UuidMessage(CALL_ID)]


def test_hangup_is_three_zero_bytes() -> None:
    assert HANGUP_BYTES == b"\x00\x00\x00"
    assert AudioSocketDecoder().feed(HANGUP_BYTES) == [HangupMessage()]


def test_audio_frame_uses_big_endian_length_and_raw_little_endian_pcm() -> None:
    pcm = struct.pack("<160h", *range(160))
    raw = encode_audio(pcm)
    assert raw[:3] == b"\x10\x01\x40"  # 320 = 0x0140
    assert raw[3:] == pcm
    assert AudioSocketDecoder().feed(raw) == [AudioMessage(pcm)]


@pytest.mark.parametrize(
    ("kind", "rate"),
    [(0x10, 8000), (0x11, 12000), (0x12, 16000), (0x15, 44100), (0x18, 192000)],
)
def test_higher_rate_kinds_decode_with_their_sample_rate(kind: int, rate: int) -> None:
    pcm = bytes(64)
    (message,) = AudioSocketDecoder().feed(bytes([kind]) + struct.pack(">H", 64) + pcm)
    assert isinstance(message, AudioMessage)
    assert message.sample_rate == rate
    assert message.kind == kind
    assert encode(message) == bytes([kind]) + struct.pack(">H", 64) + pcm


def test_dtmf_is_one_ascii_digit() -> None:
    assert encode(DtmfMessage("#")) == b"\x03\x00\x01#"
    assert AudioSocketDecoder().feed(b"\x03\x00\x015") == [DtmfMessage("5")]


def test_error_message_exposes_asterisk_bit_flags() -> None:
    (message,) = AudioSocketDecoder().feed(b"\xff\x00\x01\x03")
    assert isinstance(message, ErrorMessage)
    assert message.asterisk_code == AsteriskErrorCode.HANGUP | AsteriskErrorCode.FRAME_FORWARDING
    assert ErrorMessage(b"").asterisk_code is None


def test_odd_sized_frames_seen_at_prompt_joins_are_decoded_by_their_length() -> None:
    stream = encode_audio(bytes(320)) + encode_audio(bytes(96)) + encode_audio(bytes(108))
    messages = AudioSocketDecoder().feed(stream)
    assert [len(m.pcm) for m in messages if isinstance(m, AudioMessage)] == [320, 96, 108]


def test_stream_fed_one_byte_at_a_time_yields_the_same_messages() -> None:
    expected: list[AudioSocketMessage] = [
        UuidMessage(CALL_ID),
        AudioMessage(bytes(range(200)) * 1 + bytes(120)),
        DtmfMessage("9"),
        AudioMessage(bytes(96)),
        HangupMessage(),
    ]
    stream = b"".join(encode(m) for m in expected)
    decoder = AudioSocketDecoder()
    got: list[AudioSocketMessage] = []
    for i in range(len(stream)):
        got.extend(decoder.feed(stream[i : i + 1]))
    assert got == expected
    assert decoder.buffered == 0
    assert decoder.stream_offset == len(stream)


def test_several_messages_in_one_chunk_with_a_partial_tail_are_kept_in_order() -> None:
    stream = encode_audio(bytes(320)) * 3 + encode_audio(bytes(320))[:100]
    decoder = AudioSocketDecoder()
    assert len(decoder.feed(stream)) == 3
    assert decoder.buffered == 100
    assert decoder.feed(encode_audio(bytes(320))[100:]) == [AudioMessage(bytes(320))]


def test_unknown_kind_is_rejected_with_its_value_and_stream_offset() -> None:
    decoder = AudioSocketDecoder()
    with pytest.raises(UnknownMessageKindError, match=r"0x02.*stream byte 19"):
        decoder.feed(encode(UuidMessage(CALL_ID)) + b"\x02\x00\x00")


def test_uuid_of_wrong_length_is_rejected() -> None:
    with pytest.raises(InvalidPayloadError, match="UUID payload is 15 bytes, expected 16"):
        AudioSocketDecoder().feed(b"\x01\x00\x0f" + bytes(15))


def test_oversized_length_is_rejected_from_the_header_alone() -> None:
    decoder = AudioSocketDecoder(max_payload=1000)
    with pytest.raises(PayloadTooLargeError, match="announces 1001 payload bytes, maximum is 1000"):
        decoder.feed(b"\x10\x03\xe9")  # no payload sent yet
    assert decoder.buffered == 0


def test_decoder_stays_failed_after_an_error() -> None:
    decoder = AudioSocketDecoder()
    with pytest.raises(UnknownMessageKindError):
        decoder.feed(b"\x42\x00\x00")
    with pytest.raises(UnknownMessageKindError):
        decoder.feed(encode_audio(bytes(320)))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\x10\x00\x00", "empty"),
        (b"\x10\x00\x03abc", "odd length 3"),
        (b"\x03\x00\x01x", "0x78 is not one of"),
        (b"\x03\x00\x0212", "DTMF payload is 2 bytes"),
        (b"\x00\x00\x01\x00", "hangup message carries 1 payload bytes"),
    ],
)
def test_payload_that_does_not_fit_its_kind_is_named(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidPayloadError, match=reason):
        AudioSocketDecoder().feed(raw)


def test_stream_ending_inside_a_message_is_reported_by_finish() -> None:
    decoder = AudioSocketDecoder()
    decoder.feed(encode_audio(bytes(320))[:50])
    with pytest.raises(TruncatedStreamError, match="50 bytes of an incomplete message"):
        decoder.finish()


def test_encoder_refuses_what_the_length_field_cannot_carry() -> None:
    with pytest.raises(PayloadTooLargeError):
        encode(AudioMessage(bytes(70_000)))
    with pytest.raises(InvalidPayloadError):
        DtmfMessage("x")
    with pytest.raises(InvalidPayloadError):
        AudioMessage(bytes(3))


def test_frame_constants_describe_20_ms_of_8khz_slin() -> None:
    assert FRAME_BYTES == 320
    assert MessageKind.AUDIO == 0x10


_messages = st.one_of(
    st.just(HangupMessage()),
    st.uuids().map(UuidMessage),
    st.sampled_from("0123456789*#ABCD").map(DtmfMessage),
    st.binary(min_size=1, max_size=400).filter(lambda b: len(b) % 2 == 0).map(AudioMessage),
    st.binary(max_size=4).map(ErrorMessage),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_messages, max_size=12), st.data())
def test_any_message_sequence_round_trips_through_any_chunking(
    messages: list[AudioSocketMessage], data: st.DataObject
) -> None:
    stream = b"".join(encode(m) for m in messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    decoder = AudioSocketDecoder()
    got: list[AudioSocketMessage] = []
    start = 0
    for cut in [*cuts, len(stream)]:
        got.extend(decoder.feed(stream[start:cut]))
        start = cut
    assert got == messages


_pieces = st.one_of(
    st.binary(max_size=40),
    _messages.map(encode),
    st.tuples(st.integers(0, 255), st.integers(0, 0xFFFF)).map(lambda kh: struct.pack(">BH", *kh)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_pieces, max_size=25), st.integers(min_value=1, max_value=2048), st.data())
def test_decoder_raises_only_its_own_errors_and_never_buffers_a_whole_frame(
    pieces: list[bytes], max_payload: int, data: st.DataObject
) -> None:
    stream = b"".join(pieces)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    decoder = AudioSocketDecoder(max_payload=max_payload)
    start = 0
    for cut in [*cuts, len(stream)]:
        try:
            decoder.feed(stream[start:cut])
        except AudioSocketProtocolError:
            return
        assert decoder.buffered < HEADER_SIZE + max_payload
        start = cut
