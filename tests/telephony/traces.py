"""Load the wire traces a real Asterisk 22.10.1 exchanged with voicebot (tests/data/asterisk-22).

The files, their format and the facts drawn from them are described in
``tests/data/asterisk-22/README.md``. This module only reads them back as bytes: AMI
blocks in capture order with their direction and time, AudioSocket messages as the
wire bytes Asterisk sent, and the per-call index.
"""

from __future__ import annotations

import json
import math
import re
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

TRACE_DIR: Final = Path(__file__).resolve().parents[1] / "data" / "asterisk-22"

_HEAD: Final = re.compile(rb"^(>>>|<<<) t=(\d+\.\d+)$")
_BANNER_PREFIX: Final = b"Asterisk Call Manager/"

FROM_ASTERISK: Final = "<<<"
FROM_APP: Final = ">>>"


@dataclass(frozen=True, slots=True)
class AmiBlock:
    """One AMI message as captured."""

    direction: str
    """``<<<`` Asterisk to the app, ``>>>`` the app to Asterisk."""
    t: float
    """Seconds since the connection's SYN."""
    lines: tuple[bytes, ...]
    """Wire lines without their CRLF."""

    @property
    def wire(self) -> bytes:
        """The bytes on the wire (CRLF lines, the closing empty line except for the banner)."""
        data = b"\r\n".join(self.lines) + b"\r\n"
        return data if self.is_banner else data + b"\r\n"

    @property
    def is_banner(self) -> bool:
        """True for the ``Asterisk Call Manager/x.y.z`` greeting."""
        return self.lines[0].startswith(_BANNER_PREFIX)

    @property
    def from_asterisk(self) -> bool:
        """True for what Asterisk sent."""
        return self.direction == FROM_ASTERISK

    def headers(self) -> list[tuple[str, str]]:
        """``Key: value`` pairs as text (non-UTF-8 bytes kept as surrogate escapes)."""
        out: list[tuple[str, str]] = []
        for raw in self.lines:
            key, _, value = raw.decode("utf-8", errors="surrogateescape").partition(":")
            out.append((key, value[1:] if value.startswith(" ") else value))
        return out

    def get(self, key: str) -> str | None:
        """First value of header ``key`` (case-insensitive), or None."""
        wanted = key.lower()
        return next((v for k, v in self.headers() if k.lower() == wanted), None)

    @property
    def first(self) -> tuple[str, str]:
        """The first header: ``("Event", name)``, ``("Response", status)``, ``("Action", name)``."""
        return self.headers()[0]


def load_ami(name: str) -> list[AmiBlock]:
    """Blocks of ``ami/<name>.txt`` in capture order (``session-1``, ``transfer``...)."""
    return list(_load_ami(name))


@cache
def _load_ami(name: str) -> tuple[AmiBlock, ...]:
    out: list[AmiBlock] = []
    current: tuple[str, float, list[bytes]] | None = None
    for line in (TRACE_DIR / "ami" / f"{name}.txt").read_bytes().split(b"\n"):
        match = _HEAD.match(line)
        if match and current is None:
            current = (match.group(1).decode(), float(match.group(2)), [])
        elif current is not None and line == b"":
            direction, t, lines = current
            out.append(AmiBlock(direction, t, tuple(lines)))
            current = None
        elif current is not None:
            current[2].append(line)
    return tuple(out)


def asterisk_stream(blocks: list[AmiBlock]) -> bytes:
    """Everything Asterisk sent on the connection, in order."""
    return b"".join(block.wire for block in blocks if block.from_asterisk)


def app_stream(blocks: list[AmiBlock]) -> bytes:
    """Everything the app sent on the connection, in order."""
    return b"".join(block.wire for block in blocks if not block.from_asterisk)


@dataclass(frozen=True, slots=True)
class AudioSocketLine:
    """One AudioSocket message of a ``audiosocket/<call>.jsonl`` file."""

    t: float
    inbound: bool
    """True for Asterisk -> app."""
    kind: str
    """``uuid``, ``audio``, ``dtmf``, ``hangup``, ``error`` or ``0x..``."""
    length: int
    payload: bytes | None
    """The payload for every kind except audio."""
    rms_dbfs: float | None
    """Audio level; None for all-zero frames (and for non-audio messages)."""


@dataclass(frozen=True, slots=True)
class AudioSocketEnd:
    """How the connection ended: who closed first, with FIN or RST, and when."""

    how: str
    by: str
    t: float
    peer_how: str
    peer_t: float


@dataclass(frozen=True, slots=True)
class AudioSocketTrace:
    """One recorded AudioSocket connection."""

    name: str
    messages: tuple[AudioSocketLine, ...]
    end: AudioSocketEnd

    def inbound(self) -> list[AudioSocketLine]:
        """What Asterisk sent, in order."""
        return [m for m in self.messages if m.inbound]

    def outbound(self) -> list[AudioSocketLine]:
        """What the app sent, in order."""
        return [m for m in self.messages if not m.inbound]


_KIND_BYTES: Final = {"hangup": 0x00, "uuid": 0x01, "dtmf": 0x03, "audio": 0x10, "error": 0xFF}


def load_audiosocket(name: str) -> AudioSocketTrace:
    """``audiosocket/<name>.jsonl``."""
    return _load_audiosocket(name)


@cache
def _load_audiosocket(name: str) -> AudioSocketTrace:
    messages: list[AudioSocketLine] = []
    end: AudioSocketEnd | None = None
    for text in (TRACE_DIR / "audiosocket" / f"{name}.jsonl").read_text().splitlines():
        row = json.loads(text)
        if "end" in row:
            end = AudioSocketEnd(row["end"], row["by"], row["t"], row["peer_end"], row["peer_t"])
            continue
        payload_hex = row.get("payload_hex")
        messages.append(
            AudioSocketLine(
                t=row["t"],
                inbound=row["dir"] == "in",
                kind=row["kind"],
                length=row["len"],
                payload=bytes.fromhex(payload_hex) if payload_hex is not None else None,
                rms_dbfs=row.get("rms_dbfs"),
            )
        )
    if end is None:
        raise ValueError(f"audiosocket/{name}.jsonl has no end line")
    return AudioSocketTrace(name, tuple(messages), end)


def audio_payload(length: int, rms_dbfs: float | None) -> bytes:
    """``length`` bytes of 16-bit PCM: zeros for None, else a square wave at that RMS.

    The recorded audio itself is not stored; a square wave of amplitude A has RMS A, so
    the level survives exactly (rounded to whole samples, at least 1 when not silent).
    """
    samples = length // 2
    if rms_dbfs is None:
        return bytes(length)
    amplitude = max(1, min(32767, round(32768 * math.pow(10, rms_dbfs / 20))))
    return struct.pack(f"<{samples}h", *((amplitude, -amplitude) * samples)[:samples])


def wire_message(line: AudioSocketLine) -> bytes:
    """The wire bytes of one recorded message (header + payload)."""
    kind = _KIND_BYTES[line.kind] if line.kind in _KIND_BYTES else int(line.kind, 16)
    if line.kind == "audio":
        payload = audio_payload(line.length, line.rms_dbfs)
    else:
        payload = line.payload or b""
    return struct.pack(">BH", kind, len(payload)) + payload


@cache
def index() -> dict[str, Any]:
    """``index.json``: per call its scenario, AMI window, AudioSocket UUID and channel."""
    data: dict[str, Any] = json.loads((TRACE_DIR / "index.json").read_text())
    return data


@cache
def facts() -> dict[str, Any]:
    """``facts.json``: the README's facts in machine-readable form."""
    data: dict[str, Any] = json.loads((TRACE_DIR / "facts.json").read_text())
    return data


def calls() -> dict[str, dict[str, Any]]:
    """Call name -> its index entry."""
    found: dict[str, dict[str, Any]] = index()["calls"]
    return found


def audiosocket_calls() -> list[str]:
    """Calls that have an AudioSocket recording."""
    return sorted(name for name, call in calls().items() if call.get("audiosocket"))


def ami_files() -> list[str]:
    """Every AMI file name (the two whole sessions and the per-call slices)."""
    return sorted(path.stem for path in (TRACE_DIR / "ami").glob("*.txt"))
