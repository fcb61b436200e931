"""Pure AudioSocket codec: message kinds, typed messages, incremental decoder, encoder.

Wire format (docs.asterisk.org "Configuration/Channel-Drivers/AudioSocket", section
"Protocol definition"; include/asterisk/res_audiosocket.h): every message is a 3-byte
header -- kind (1 byte) and payload length (unsigned 16-bit, big endian) -- followed by
exactly ``length`` payload bytes. Nothing here touches a socket.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Final

HEADER_SIZE: Final = 3
"""Bytes in a message header: kind + 16-bit big-endian payload length."""

UUID_PAYLOAD_SIZE: Final = 16
"""ast_audiosocket_init() sends the 16-byte binary UUID (res/res_audiosocket.c)."""

MAX_WIRE_PAYLOAD: Final = 0xFFFF
"""The length field is 16 bits, so no message can carry more than this."""

DEFAULT_MAX_PAYLOAD: Final = 8192
"""Largest payload the decoder accepts by default.

A 20 ms frame is 320 bytes at 8 kHz and 7680 bytes at 192 kHz, the highest rate the
protocol defines; anything larger is treated as a corrupt stream rather than buffered.
"""

SAMPLE_RATE: Final = 8000
"""The AudioSocket application always speaks slin 8 kHz (apps/app_audiosocket.c sets
the channel read and write formats to ast_format_slin)."""

FRAME_MS: Final = 20
FRAME_BYTES: Final = SAMPLE_RATE * 2 * FRAME_MS // 1000
"""320: one 20 ms frame of 16-bit mono PCM at 8 kHz."""

DTMF_DIGITS: Final = frozenset("0123456789*#ABCD")
"""Digits Asterisk can carry in a DTMF frame (its DTMFBegin/DTMFEnd docs list 0-9, A-D,
* and #; 'E' is an obsolete alias of '*' that Asterisk never emits on AudioSocket)."""


class MessageKind(IntEnum):
    """AudioSocket message kinds (enum ast_audiosocket_msg_kind, res_audiosocket.h)."""

    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    AUDIO = 0x10
    AUDIO_SLIN12 = 0x11
    AUDIO_SLIN16 = 0x12
    AUDIO_SLIN24 = 0x13
    AUDIO_SLIN32 = 0x14
    AUDIO_SLIN44 = 0x15
    AUDIO_SLIN48 = 0x16
    AUDIO_SLIN96 = 0x17
    AUDIO_SLIN192 = 0x18
    ERROR = 0xFF


# Kind -> sample rate as listed in the protocol definition on docs.asterisk.org and in
# the AudioSocket repository README (0x11 = 12 kHz ... 0x18 = 192 kHz). An intermediate
# revision of asterisk PR #1492 briefly used 0x11 for slin16; the merged code in
# res/res_audiosocket.c maps each slinNN format to its own kind as below.
AUDIO_SAMPLE_RATES: Final[dict[MessageKind, int]] = {
    MessageKind.AUDIO: 8000,
    MessageKind.AUDIO_SLIN12: 12000,
    MessageKind.AUDIO_SLIN16: 16000,
    MessageKind.AUDIO_SLIN24: 24000,
    MessageKind.AUDIO_SLIN32: 32000,
    MessageKind.AUDIO_SLIN44: 44100,
    MessageKind.AUDIO_SLIN48: 48000,
    MessageKind.AUDIO_SLIN96: 96000,
    MessageKind.AUDIO_SLIN192: 192000,
}
_KIND_FOR_RATE: Final = {rate: kind for kind, rate in AUDIO_SAMPLE_RATES.items()}


class AsteriskErrorCode(IntFlag):
    """Bit-packed single-byte error codes Asterisk puts in a 0xff payload.

    From the protocol definition, section "Asterisk error codes".
    """

    HANGUP = 0x01
    """Hangup of the calling party."""
    FRAME_FORWARDING = 0x02
    """Frame forwarding error."""
    MEMORY = 0x04
    """Memory (allocation) error."""


class AudioSocketProtocolError(ValueError):
    """Malformed AudioSocket input; ``offset`` is the stream position of the bad message."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        where = f" (message starting at stream byte {offset})" if offset is not None else ""
        super().__init__(message + where)
        self.offset = offset


class UnknownMessageKindError(AudioSocketProtocolError):
    """The header names a message kind the protocol does not define."""


class PayloadTooLargeError(AudioSocketProtocolError):
    """The header announces a payload longer than the configured maximum."""


class InvalidPayloadError(AudioSocketProtocolError):
    """The payload does not fit its kind (UUID length, DTMF digit, PCM length...)."""


class TruncatedStreamError(AudioSocketProtocolError):
    """The stream ended in the middle of a message."""


@dataclass(frozen=True, slots=True)
class HangupMessage:
    """0x00: terminate the call (socket closure is also sufficient)."""

    @property
    def kind(self) -> MessageKind:
        """The wire kind of this message."""
        return MessageKind.HANGUP


@dataclass(frozen=True, slots=True)
class UuidMessage:
    """0x01: the call's UUID, always the first message Asterisk sends."""

    call_id: uuid.UUID
    """The UUID given to AudioSocket() in the dialplan."""

    @property
    def kind(self) -> MessageKind:
        """The wire kind of this message."""
        return MessageKind.UUID


@dataclass(frozen=True, slots=True)
class DtmfMessage:
    """0x03: one DTMF digit as a single ASCII byte."""

    digit: str
    """One of 0-9, *, #, A-D."""

    def __post_init__(self) -> None:
        if self.digit not in DTMF_DIGITS:
            raise InvalidPayloadError(f"DTMF digit {self.digit!r} is not one of 0-9 * # A-D")

    @property
    def kind(self) -> MessageKind:
        """The wire kind of this message."""
        return MessageKind.DTMF


@dataclass(frozen=True, slots=True)
class AudioMessage:
    """0x10-0x18: signed 16-bit little-endian mono PCM at ``sample_rate``."""

    pcm: bytes
    """Raw samples; any even, non-zero length (Asterisk sends 320 bytes but not always)."""
    sample_rate: int = SAMPLE_RATE
    """Samples per second, implied by the message kind."""

    def __post_init__(self) -> None:
        if self.sample_rate not in _KIND_FOR_RATE:
            raise InvalidPayloadError(f"no AudioSocket audio kind for {self.sample_rate} Hz")
        _check_pcm(self.pcm)

    @property
    def kind(self) -> MessageKind:
        """The wire kind of this message."""
        return _KIND_FOR_RATE[self.sample_rate]

    @property
    def duration(self) -> float:
        """Seconds of audio carried."""
        return len(self.pcm) / (2 * self.sample_rate)


@dataclass(frozen=True, slots=True)
class ErrorMessage:
    """0xff: an error on the far side; the payload is an optional error code."""

    payload: bytes = b""

    @property
    def kind(self) -> MessageKind:
        """The wire kind of this message."""
        return MessageKind.ERROR

    @property
    def asterisk_code(self) -> AsteriskErrorCode | None:
        """The payload read as Asterisk's single-byte error flags, if it is one byte."""
        if len(self.payload) != 1:
            return None
        return AsteriskErrorCode(self.payload[0])


AudioSocketMessage = HangupMessage | UuidMessage | DtmfMessage | AudioMessage | ErrorMessage
"""Any decoded AudioSocket message."""


def _check_pcm(pcm: bytes) -> None:
    # res_audiosocket.c rejects a zero-length audio message ("Invalid message length"),
    # and 16-bit samples cannot have an odd byte count.
    if not pcm:
        raise InvalidPayloadError("audio payload is empty; Asterisk rejects zero-length audio")
    if len(pcm) % 2:
        raise InvalidPayloadError(
            f"audio payload has odd length {len(pcm)}: 16-bit PCM needs an even byte count"
        )


def encode(message: AudioSocketMessage) -> bytes:
    """Serialise one message to its wire bytes."""
    match message:
        case HangupMessage():
            payload = b""
        case UuidMessage(call_id=call_id):
            payload = call_id.bytes
        case DtmfMessage(digit=digit):
            payload = digit.encode("ascii")
        case AudioMessage(pcm=pcm):
            payload = pcm
        case ErrorMessage(payload=raw):
            payload = raw
    if len(payload) > MAX_WIRE_PAYLOAD:
        raise PayloadTooLargeError(
            f"{message.kind.name} payload of {len(payload)} bytes exceeds the 16-bit length field"
        )
    return struct.pack(">BH", message.kind, len(payload)) + payload


def encode_audio(pcm: bytes) -> bytes:
    """Wire bytes of one 8 kHz slin audio message."""
    _check_pcm(pcm)
    if len(pcm) > MAX_WIRE_PAYLOAD:
        raise PayloadTooLargeError(f"audio payload of {len(pcm)} bytes exceeds 65535")
    return struct.pack(">BH", MessageKind.AUDIO, len(pcm)) + pcm


HANGUP_BYTES: Final = encode(HangupMessage())
"""The three bytes 00 00 00."""


def _decode_payload(kind: MessageKind, payload: bytes, offset: int) -> AudioSocketMessage:
    if kind is MessageKind.HANGUP:
        if payload:
            raise InvalidPayloadError(
                f"hangup message carries {len(payload)} payload bytes, expected none", offset
            )
        return HangupMessage()
    if kind is MessageKind.UUID:
        if len(payload) != UUID_PAYLOAD_SIZE:
            raise InvalidPayloadError(
                f"UUID payload is {len(payload)} bytes, expected {UUID_PAYLOAD_SIZE}", offset
            )
        return UuidMessage(uuid.UUID(bytes=payload))
    if kind is MessageKind.DTMF:
        if len(payload) != 1:
            raise InvalidPayloadError(
                f"DTMF payload is {len(payload)} bytes, expected 1 ASCII digit", offset
            )
        digit = chr(payload[0])
        if digit not in DTMF_DIGITS:
            raise InvalidPayloadError(
                f"DTMF byte 0x{payload[0]:02x} is not one of 0-9 * # A-D", offset
            )
        return DtmfMessage(digit)
    if kind is MessageKind.ERROR:
        return ErrorMessage(payload)
    try:
        return AudioMessage(payload, AUDIO_SAMPLE_RATES[kind])
    except InvalidPayloadError as exc:
        raise InvalidPayloadError(f"{kind.name}: {exc}", offset) from None


class AudioSocketDecoder:
    """Incremental decoder: feed arbitrary byte chunks, get whole typed messages.

    Partial reads are kept until the rest arrives; several messages in one chunk are all
    returned. The header is checked as soon as it is complete, so an oversized length is
    rejected before any of its payload is buffered: after each ``feed`` at most
    ``HEADER_SIZE + max_payload - 1`` bytes remain buffered. Once an error is raised the
    stream has lost framing and every later ``feed`` raises the same error.
    """

    def __init__(self, max_payload: int = DEFAULT_MAX_PAYLOAD) -> None:
        if not 0 < max_payload <= MAX_WIRE_PAYLOAD:
            raise ValueError(f"max_payload must be in 1..{MAX_WIRE_PAYLOAD}, got {max_payload}")
        self.max_payload = max_payload
        self._buffer = bytearray()
        self._consumed = 0
        self._error: AudioSocketProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Bytes held for an incomplete message."""
        return len(self._buffer)

    @property
    def stream_offset(self) -> int:
        """Bytes of the stream consumed as complete messages so far."""
        return self._consumed

    def feed(self, data: bytes) -> list[AudioSocketMessage]:
        """Add bytes from the stream; return every message they complete, in order."""
        if self._error is not None:
            raise self._error
        self._buffer += data
        messages: list[AudioSocketMessage] = []
        view = memoryview(self._buffer)
        pos = 0
        try:
            while len(view) - pos >= HEADER_SIZE:
                offset = self._consumed + pos
                raw_kind, length = struct.unpack_from(">BH", view, pos)
                try:
                    kind = MessageKind(raw_kind)
                except ValueError:
                    raise UnknownMessageKindError(
                        f"unknown AudioSocket message kind 0x{raw_kind:02x}", offset
                    ) from None
                if length > self.max_payload:
                    raise PayloadTooLargeError(
                        f"{kind.name} message announces {length} payload bytes, "
                        f"maximum is {self.max_payload}",
                        offset,
                    )
                end = pos + HEADER_SIZE + length
                if end > len(view):
                    break
                payload = bytes(view[pos + HEADER_SIZE : end])
                messages.append(_decode_payload(kind, payload, offset))
                pos = end
        except AudioSocketProtocolError as exc:
            self._error = exc
            view.release()
            self._buffer.clear()
            raise
        view.release()
        del self._buffer[:pos]
        self._consumed += pos
        return messages

    def finish(self) -> None:
        """Declare end of stream; raise if it stopped in the middle of a message."""
        if self._buffer:
            raise TruncatedStreamError(
                f"stream ended with {len(self._buffer)} bytes of an incomplete message",
                self._consumed,
            )
