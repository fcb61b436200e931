"""The PBX's side of the AMI wire, for the simulator: reading actions, writing blocks.

Mirrors manager.c: actions are read a line at a time like get_input() (CRLF or bare LF,
1024-byte lines), and responses and events are written as ``Key: value`` blocks. The
client's side (banner, block classification, action encoding) is ``ami_codec``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from voicebot.telephony.ami_codec import CRLF, MAX_ACTION_LINE, AmiEncodeError, AmiHeaders


def encode_block(items: Iterable[tuple[str, str]]) -> bytes:
    """Serialise a server-side block (used by the simulator); same safety checks.

    Surrogate escapes become the raw bytes they stand for: Asterisk sends whatever bytes
    a channel variable holds, half a UTF-8 character included.
    """
    out = bytearray()
    for key, value in items:
        for text in (key, value):
            if "\r" in text or "\n" in text:
                raise AmiEncodeError(f"AMI header {key!r} contains a CR or LF")
        out += f"{key}: {value}\r\n".encode("utf-8", errors="surrogateescape")
    out += CRLF
    return bytes(out)


@dataclass(frozen=True, slots=True)
class AmiActionBlock:
    """One action as a server reads it."""

    headers: AmiHeaders
    line_too_long: bool = False
    """A line exceeded MAX_ACTION_LINE: Asterisk answers "Failed to parse message: line
    too long" (manager.c do_message(), MESSAGE_LINE_TOO_LONG)."""


class AmiActionDecoder:
    """Server-side parser of the client-to-server stream (used by the simulator).

    Like get_input() in manager.c it accepts CRLF or a bare LF, and ignores empty lines
    that do not close a block.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._items: list[tuple[str, str]] = []
        self._too_long = False

    def feed(self, data: bytes) -> list[AmiActionBlock]:
        """Add bytes; return the actions they complete."""
        self._buffer += data
        out: list[AmiActionBlock] = []
        while True:
            newline = self._buffer.find(b"\n")
            if newline < 0:
                if len(self._buffer) > MAX_ACTION_LINE:
                    self._buffer.clear()
                    self._too_long = True
                return out
            raw = bytes(self._buffer[:newline]).rstrip(b"\r")
            del self._buffer[: newline + 1]
            if len(raw) > MAX_ACTION_LINE:
                self._too_long = True
                continue
            line = raw.decode("utf-8", errors="replace")
            if line:
                key, sep, value = line.partition(":")
                if sep:
                    self._items.append((key.strip(), value.strip()))
                continue
            if self._items or self._too_long:
                out.append(AmiActionBlock(AmiHeaders(tuple(self._items)), self._too_long))
                self._items = []
                self._too_long = False
