"""Hostile bytes into the AudioSocket and AMI codecs (hypothesis): only the codec's own
errors, and memory bounded by the configured limits whatever arrives.

tests/telephony/test_audiosocket_codec.py and test_ami_codec.py already fuzz the
AudioSocket decoder a little and check framing on recorded streams; here the counts are
large (100,000 inputs per property in the long run) and the AMI side is included:
the client's stream decoder, the action encoder (no header injection) and the simulator's
action decoder.
"""

from __future__ import annotations

import contextlib
import itertools
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicebot.telephony.ami_codec import (
    AmiEncodeError,
    AmiProtocolError,
    AmiStreamDecoder,
    encode_action,
    make_action,
)
from voicebot.telephony.ami_server_codec import AmiActionDecoder
from voicebot.telephony.audiosocket_codec import (
    HEADER_SIZE,
    AudioSocketDecoder,
    AudioSocketProtocolError,
    DtmfMessage,
    HangupMessage,
    UuidMessage,
    encode,
    encode_audio,
)

FAST_INPUTS = 2_000
LONG_INPUTS = 100_000
MAX_PAYLOAD = 1024
MAX_BLOCK = 2048

VALID_AUDIOSOCKET = [
    encode(UuidMessage(uuid.UUID(int=7))),
    encode_audio(bytes(320)),
    encode_audio(bytes(range(256)) * 2),
    encode(DtmfMessage("5")),
    encode(HangupMessage()),
]
VALID_AMI = [
    b"Asterisk Call Manager/12.0.0\r\n",
    b"Response: Success\r\nActionID: vb-1\r\nMessage: Authentication accepted\r\n\r\n",
    b"Event: UserEvent\r\nPrivilege: user,all\r\nChannel: PJSIP/a-1\r\nUserEvent: VoicebotCall"
    b"\r\nUUID: 00000000-0000-0000-0000-000000000007\r\n\r\n",
    b"Event: Hangup\r\nChannel: PJSIP/a-1\r\nCause: 16\r\n\r\n",
    b"\r\n",
]


@st.composite
def mutated(draw: st.DrawFn, pieces: list[bytes]) -> list[bytes]:
    """A valid stream with bytes flipped, dropped or inserted, cut into random chunks."""
    stream = bytearray(b"".join(draw(st.lists(st.sampled_from(pieces), max_size=12))))
    for _ in range(draw(st.integers(0, 6))):
        position = draw(st.integers(0, len(stream)))
        action = draw(st.sampled_from(["flip", "drop", "insert"]))
        if action == "insert" or not stream:
            stream[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif action == "flip":
            stream[min(position, len(stream) - 1)] = draw(st.integers(0, 255))
        else:
            del stream[position : position + draw(st.integers(1, 8))]
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    bounds = [0, *cuts, len(stream)]
    return [bytes(stream[a:b]) for a, b in itertools.pairwise(bounds)]


def chunks(pieces: list[bytes]) -> st.SearchStrategy[list[bytes]]:
    """Random bytes, or valid protocol text damaged and re-chunked."""
    return st.one_of(st.lists(st.binary(max_size=3000), max_size=6), mutated(pieces))


def audiosocket_holds_up(data: list[bytes]) -> None:
    decoder = AudioSocketDecoder(MAX_PAYLOAD)
    for chunk in data:
        try:
            decoder.feed(chunk)
        except AudioSocketProtocolError as error:
            # Framing is lost for good: every later feed reports the same error.
            with pytest.raises(AudioSocketProtocolError) as again:
                decoder.feed(b"\x10\x00\x02\x00\x00")
            assert again.value is error
            return
        assert decoder.buffered <= HEADER_SIZE + MAX_PAYLOAD - 1
    with contextlib.suppress(AudioSocketProtocolError):
        decoder.finish()


def ami_stream_holds_up(data: list[bytes], expect_banner: bool) -> None:
    decoder = AmiStreamDecoder(expect_banner=expect_banner, max_block=MAX_BLOCK)
    for chunk in data:
        try:
            decoder.feed(chunk)
        except AmiProtocolError:
            return
        assert decoder.buffered <= MAX_BLOCK


def action_encoding_holds_up(fields: dict[str, str], name: str) -> None:
    try:
        wire = encode_action(make_action(name, fields), "vb-1")
    except AmiEncodeError:
        return
    # What was encoded reads back as exactly the fields given: nothing injected.
    [block] = AmiActionDecoder().feed(wire)
    expected = [("Action", name.strip()), ("ActionID", "vb-1")]
    expected += [(k.strip(), v.strip()) for k, v in fields.items()]
    assert list(block.headers) == expected


def simulator_decoder_holds_up(data: list[bytes]) -> None:
    decoder = AmiActionDecoder()
    for chunk in data:
        decoder.feed(chunk)


def fuzz_settings(count: int) -> settings:
    return settings(
        max_examples=count,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


STREAMS_PER_EXAMPLE = 5
"""Independent inputs (each to a fresh decoder) per generated example: the per-example
cost of hypothesis dominates, so batching makes 100,000 inputs affordable."""


def run_all(inputs: int) -> dict[str, int]:
    """Every property with at least ``inputs`` generated inputs (a fifth of it for the
    simulator's decoder, which is test equipment); returns the inputs tried per codec."""
    tried = {"audiosocket": 0, "ami stream": 0, "ami actions": 0, "ami encoder": 0}
    examples = -(-inputs // STREAMS_PER_EXAMPLE)
    batch = STREAMS_PER_EXAMPLE

    def each(name: str, check: Callable[..., None]) -> Callable[..., None]:
        def run(streams: list[Any]) -> None:
            for stream in streams:
                tried[name] += 1
                check(*stream) if isinstance(stream, tuple) else check(stream)

        return run

    audio = st.lists(chunks(VALID_AUDIOSOCKET), min_size=batch, max_size=batch)
    given(audio)(fuzz_settings(examples)(each("audiosocket", audiosocket_holds_up)))()
    ami = st.lists(st.tuples(chunks(VALID_AMI), st.booleans()), min_size=batch, max_size=batch)
    given(ami)(fuzz_settings(examples)(each("ami stream", ami_stream_holds_up)))()
    actions = st.lists(chunks(VALID_AMI), min_size=batch, max_size=batch)
    given(actions)(fuzz_settings(examples // 5)(each("ami actions", simulator_decoder_holds_up)))()
    fields = st.tuples(
        st.dictionaries(st.text(max_size=20), st.text(max_size=60), max_size=5),
        st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=12),
    )
    encoder = st.lists(fields, min_size=batch, max_size=batch)
    given(encoder)(fuzz_settings(examples)(each("ami encoder", action_encoding_holds_up)))()
    return tried


def test_codecs_raise_only_their_own_errors_with_bounded_buffers() -> None:
    tried = run_all(FAST_INPUTS)
    assert tried["audiosocket"] >= FAST_INPUTS and tried["ami stream"] >= FAST_INPUTS


@pytest.mark.reliability
def test_codecs_survive_100000_hostile_inputs_each() -> None:
    started = time.monotonic()
    tried = run_all(LONG_INPUTS)
    assert tried["audiosocket"] >= LONG_INPUTS and tried["ami stream"] >= LONG_INPUTS
    assert tried["ami encoder"] >= LONG_INPUTS
    print(f"\ncodec fuzz: {tried} in {time.monotonic() - started:.0f} s")
