"""Pure AMI (Asterisk Manager Interface) codec: banner, framed blocks, actions. No sockets.

Framing, from main/manager.c:

* On connect the server sends one line ``Asterisk Call Manager/<AMI_VERSION>\\r\\n``
  (session_do()); the observed master build says ``Asterisk Call Manager/12.0.0``.
* Every message is a block of ``Key: value\\r\\n`` lines closed by an empty line
  (astman_send_response_full(), manager_event()). Keys repeat: ``Variable`` in Originate,
  ``ChanVariable`` in channel events, ``Output`` in Command responses (Asterisk 14+), and
  a UserEvent carries the channel snapshot's ``Channel`` before the dialplan's own body.
* Events begin with ``Event:``; an OriginateResponse event also carries ``Response:`` and
  the Originate's ``ActionID`` (fast_originate()), so blocks are classified by ``Event``
  first and only then by ``Response``.
* Asterisk reads action lines into a 1024-byte buffer (get_input(): ``inbuf[1025]``);
  longer lines are discarded with "Failed to parse message: line too long".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, overload

CRLF: Final = b"\r\n"
MAX_ACTION_LINE: Final = 1024
"""Longest action line Asterisk accepts (manager.c get_input(), inbuf of 1025 bytes)."""
DEFAULT_MAX_BLOCK: Final = 1 << 20
"""Largest inbound block buffered before the stream is declared corrupt."""

_BANNER_RE: Final = re.compile(r"^Asterisk Call Manager/(?P<version>\d+(?:\.\d+)*)\s*$")


class AmiEventName(StrEnum):
    """Event names used by the assistant, spelled as Asterisk sends them."""

    NEWCHANNEL = "Newchannel"
    NEWSTATE = "Newstate"
    NEWEXTEN = "Newexten"
    HANGUP = "Hangup"
    HANGUP_REQUEST = "HangupRequest"
    SOFT_HANGUP_REQUEST = "SoftHangupRequest"
    USER_EVENT = "UserEvent"
    DIAL_BEGIN = "DialBegin"
    DIAL_END = "DialEnd"
    ORIGINATE_RESPONSE = "OriginateResponse"
    LOCAL_BRIDGE = "LocalBridge"
    BRIDGE_CREATE = "BridgeCreate"
    BRIDGE_ENTER = "BridgeEnter"
    BRIDGE_LEAVE = "BridgeLeave"
    BRIDGE_DESTROY = "BridgeDestroy"
    FULLY_BOOTED = "FullyBooted"
    SHUTDOWN = "Shutdown"
    DTMF_BEGIN = "DTMFBegin"
    DTMF_END = "DTMFEnd"
    VAR_SET = "VarSet"
    CDR = "Cdr"
    RENAME = "Rename"
    CORE_SHOW_CHANNEL = "CoreShowChannel"
    CORE_SHOW_CHANNELS_COMPLETE = "CoreShowChannelsComplete"
    STATUS = "Status"
    STATUS_COMPLETE = "StatusComplete"


class AmiResponseStatus(StrEnum):
    """Values of the ``Response:`` header."""

    SUCCESS = "Success"
    ERROR = "Error"
    FOLLOWS = "Follows"
    """Pre-14 Command responses; raw text follows, ending in ``--END COMMAND--``."""
    GOODBYE = "Goodbye"


class AmiProtocolError(ValueError):
    """The byte stream is not AMI; framing is lost and the connection must be dropped."""


class AmiEncodeError(ValueError):
    """An action cannot be written safely (for instance a CR or LF inside a value)."""


class AmiHeaders:
    """Ordered ``Key: value`` pairs; lookups ignore case like astman_get_header().

    Built from pairs, or from a block's text (``from_text``): then nothing is split until
    asked, and ``get`` finds one header by a search of the text instead of splitting all
    of them. An event has about 20 headers and the channel directory reads three to six,
    at up to tens of thousands of events a second.
    """

    __slots__ = ("_first", "_items", "_lowered", "_text")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: tuple[tuple[str, str], ...] | None = tuple(items)
        self._text: str | None = None
        self._lowered: str | None = None
        self._first: dict[str, str] | None = None

    @classmethod
    def from_text(cls, text: str) -> AmiHeaders:
        """Headers of a block's text, every line ending in LF or CRLF (parsed lazily)."""
        headers = cls()
        headers._items = None
        headers._text = text
        return headers

    @property
    def items(self) -> tuple[tuple[str, str], ...]:
        """Every header in order."""
        if self._items is None:
            assert self._text is not None
            self._items = split_headers(self._text)[0]
        return self._items

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str) -> str: ...
    @overload
    def get(self, key: str, default: str | None) -> str | None: ...

    def get(self, key: str, default: str | None = None) -> str | None:
        """Value of the first header named ``key``."""
        if self._first is None and self._text is not None:
            found = self._search(key)
            if found is None:
                return default
            if isinstance(found, str):
                return found
        return self._index().get(key.lower(), default)

    def _search(self, key: str) -> str | object | None:
        """The value of ``key`` in the text; None if absent; ``_UNDECIDED`` when a search
        cannot tell (the full split answers then)."""
        text = self._text
        assert text is not None
        lowered = self._lowered
        if lowered is None:
            lowered = self._lowered = text.lower()
        wanted = key.lower()
        if len(lowered) != len(text) or not wanted or _NOT_A_KEY.search(wanted):
            return _UNDECIDED  # positions would not match, or no header could be named so
        if lowered.startswith(wanted + ":"):
            start = len(wanted) + 1
        else:
            at = lowered.find("\n" + wanted + ":")
            if at < 0:
                return None
            start = at + len(wanted) + 2
        end = text.find("\n", start)
        value = text[start:end].rstrip("\r")
        return value[1:] if value.startswith(" ") else value

    def _index(self) -> dict[str, str]:
        if self._first is None:
            # Reversed, so that the first of repeated keys is the one kept.
            self._first = {name.lower(): value for name, value in reversed(self.items)}
        return self._first

    def get_all(self, key: str) -> list[str]:
        """Values of every header named ``key``, in order."""
        wanted = key.lower()
        return [value for name, value in self.items if name.lower() == wanted]

    def require(self, key: str) -> str:
        """Value of ``key``; ``KeyError`` naming the key when it is absent."""
        value = self.get(key)
        if value is None:
            raise KeyError(f"AMI message has no {key!r} header")
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AmiHeaders):
            return NotImplemented
        return self.items == other.items

    def __hash__(self) -> int:
        return hash(self.items)

    def __repr__(self) -> str:
        return f"AmiHeaders({self.items!r})"

    def as_dict(self) -> dict[str, str]:
        """First value of each key (for logging and quick inspection)."""
        out: dict[str, str] = {}
        for name, value in self.items:
            out.setdefault(name, value)
        return out


_UNDECIDED: Final = object()
_NOT_A_KEY: Final = re.compile(r"[:\s]")


@dataclass(frozen=True, slots=True)
class AmiBanner:
    """The greeting line a manager session starts with."""

    version: tuple[int, ...]
    """AMI_VERSION as integers, e.g. (12, 0, 0)."""
    raw: str


@dataclass(frozen=True, slots=True)
class AmiEvent:
    """A block with an ``Event:`` header."""

    name: str
    headers: AmiHeaders

    def get(self, key: str, default: str | None = None) -> str | None:
        """First value of header ``key``."""
        return self.headers.get(key, default)

    @property
    def action_id(self) -> str | None:
        """ActionID when the event answers an action (list items, OriginateResponse)."""
        return self.headers.get("ActionID")

    @property
    def event_list(self) -> str | None:
        """``EventList`` header: ``Complete`` on the last event of a list reply."""
        return self.headers.get("EventList")

    @property
    def completes_list(self) -> bool:
        """True for the closing event of a list reply (EventList: Complete/Cancelled)."""
        flag = (self.event_list or "").lower()
        return flag in ("complete", "cancelled")

    def is_named(self, name: str) -> bool:
        """Case-insensitive event name comparison."""
        return self.name.lower() == name.lower()


@dataclass(frozen=True, slots=True)
class AmiResponse:
    """A block answering an action: ``Response: Success|Error|Follows|Goodbye``."""

    status: str
    headers: AmiHeaders
    text_lines: tuple[str, ...] = ()
    """Lines without a colon (the body of a legacy ``Response: Follows``)."""

    def get(self, key: str, default: str | None = None) -> str | None:
        """First value of header ``key``."""
        return self.headers.get(key, default)

    @property
    def action_id(self) -> str | None:
        """The ActionID echoed from the action."""
        return self.headers.get("ActionID")

    @property
    def message(self) -> str:
        """The ``Message:`` header, or an empty string."""
        return self.headers.get("Message", "") or ""

    @property
    def is_success(self) -> bool:
        """True unless the status is Error."""
        return self.status.lower() != AmiResponseStatus.ERROR.lower()

    @property
    def starts_list(self) -> bool:
        """True when events follow (astman_send_listack(): ``EventList: start``)."""
        return (self.headers.get("EventList") or "").lower() == "start"

    @property
    def output(self) -> list[str]:
        """Command output: ``Output:`` lines (14+) or the legacy Follows body."""
        lines = self.headers.get_all("Output")
        if lines:
            return lines
        return [line for line in self.text_lines if line != "--END COMMAND--"]


@dataclass(frozen=True, slots=True)
class AmiMalformedBlock:
    """A complete block that is neither an event nor a response (kept, not fatal)."""

    raw: str
    reason: str


AmiMessage = AmiEvent | AmiResponse
"""A classified inbound block."""


def parse_banner(line: str) -> AmiBanner:
    """Parse ``Asterisk Call Manager/x.y.z``; ``AmiProtocolError`` if it is not one."""
    match = _BANNER_RE.match(line.strip("\r\n"))
    if match is None:
        raise AmiProtocolError(f"not an Asterisk manager banner: {line[:80]!r}")
    version = tuple(int(part) for part in match.group("version").split("."))
    return AmiBanner(version, line.strip("\r\n"))


_HEADER_LINE: Final = re.compile(r"^([^:\s]+): ?([^\r\n]*)\r?$", re.MULTILINE)
"""One ``Key: value`` line as manager.c writes it (no space in the key, one after ':')."""


def parse_block_text(text: str) -> AmiEvent | AmiResponse | AmiMalformedBlock:
    """Classify one block given as text, each line ending in LF or CRLF.

    Events keep the text and split it only when asked (most listeners read a few
    headers); responses, rare and small, are split at once.
    """
    headers = AmiHeaders.from_text(text)
    event = headers.get("Event")
    if event is not None:
        return AmiEvent(event, headers)
    items, lines = split_headers(text)
    return _classify(AmiHeaders(items), lines, text)


def split_headers(text: str) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """A block's text as (headers, lines that are not headers).

    A header line is ``Key:value`` with a key free of spaces and colons; the one space
    manager.c writes after the colon is dropped, the rest of the value is kept as sent
    (CLI table cells in Output lines end in spaces).
    """
    pairs = _HEADER_LINE.findall(text)
    if len(pairs) == text.count("\n"):
        return tuple(pairs), ()
    headers: list[tuple[str, str]] = []
    others: list[str] = []
    for line in text.split("\n")[:-1]:
        line = line.rstrip("\r")
        key, sep, value = line.partition(":")
        if not sep or not key or _NOT_A_KEY.search(key):
            others.append(line)
            continue
        headers.append((key, value[1:] if value.startswith(" ") else value))
    return tuple(headers), tuple(others)


def parse_block(lines: Sequence[str]) -> AmiEvent | AmiResponse | AmiMalformedBlock:
    """Classify one block's lines (without the closing empty line)."""
    return parse_block_text("".join(line + "\n" for line in lines))


def _classify(
    parsed: AmiHeaders, text: tuple[str, ...], raw: str
) -> AmiEvent | AmiResponse | AmiMalformedBlock:
    event = parsed.get("Event")
    if event is not None:
        return AmiEvent(event, parsed)
    status = parsed.get("Response")
    if status is not None:
        return AmiResponse(status, parsed, text)
    return AmiMalformedBlock(raw.rstrip("\r\n"), "block has neither Event nor Response header")


class AmiStreamDecoder:
    """Incremental parser of the server-to-client byte stream.

    Feed arbitrary chunks; get the banner once, then classified blocks. Accepts CRLF or
    bare LF line ends and skips extra empty lines between blocks. Works a block at a time
    (one regex search for its end, one UTF-8 decode) rather than a line at a time: a busy
    PBX can send tens of thousands of events a second and this runs on the event loop.
    """

    def __init__(self, *, expect_banner: bool = True, max_block: int = DEFAULT_MAX_BLOCK) -> None:
        self.banner: AmiBanner | None = None
        """The greeting, once received."""
        self._need_banner = expect_banner
        self._max_block = max_block
        self._buffer = bytearray()
        self._scan_from = 0

    @property
    def buffered(self) -> int:
        """Bytes held for the block being read (never more than ``max_block``)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[AmiEvent | AmiResponse | AmiMalformedBlock]:
        """Add bytes; return every block they complete, in order."""
        buffer = self._buffer
        buffer += data
        out: list[AmiEvent | AmiResponse | AmiMalformedBlock] = []
        pos = 0
        if self._need_banner:
            newline = buffer.find(b"\n")
            if newline < 0:
                self._check_pending(len(buffer))
                return out
            self.banner = parse_banner(bytes(buffer[:newline]).decode("utf-8", errors="replace"))
            self._need_banner = False
            pos = newline + 1
        while True:
            gap = _EMPTY_LINES.match(buffer, pos)
            if gap is not None:
                pos = gap.end()
            end = _BLOCK_END.search(buffer, max(pos, self._scan_from))
            if end is None:
                break
            if end.start() + 1 - pos > self._max_block:
                raise AmiProtocolError(f"AMI block exceeds {self._max_block} bytes")
            text = buffer[pos : end.start() + 1].decode("utf-8", errors="replace")
            out.append(parse_block_text(text))
            pos = end.end()
            self._scan_from = 0
        del buffer[:pos]
        self._check_pending(len(buffer))
        # Resume the search for this block's end where it stopped (a partial "\n\r" may
        # still complete), so a long block fed in small chunks is not rescanned each time.
        self._scan_from = max(0, len(buffer) - 2)
        return out

    def _check_pending(self, pending: int) -> None:
        if pending > self._max_block:
            raise AmiProtocolError(f"AMI block exceeds {self._max_block} bytes without ending")


_BLOCK_END: Final = re.compile(rb"\n\r*\n")
"""A line end followed by an empty line (CRLF or bare LF, stray CRs tolerated)."""
_EMPTY_LINES: Final = re.compile(rb"(?:\r*\n)+")


@dataclass(frozen=True, slots=True)
class AmiAction:
    """An action to send; ActionID is added when it is encoded."""

    name: str
    fields: tuple[tuple[str, str], ...] = field(default=())

    def get(self, key: str) -> str | None:
        """First value of ``key`` among the fields."""
        return AmiHeaders(self.fields).get(key)


FieldValue = str | int | float | Sequence[str]


def make_action(
    name: str,
    fields: Mapping[str, FieldValue | None] | None = None,
    *,
    variables: Mapping[str, str] | None = None,
) -> AmiAction:
    """Build an action; sequence values repeat the key, ``variables`` become ``Variable: k=v``.

    ``None`` values are left out, so optional fields can be passed unconditionally.
    """
    items: list[tuple[str, str]] = []
    for key, value in (fields or {}).items():
        if value is None:
            continue
        if isinstance(value, str | int | float):
            items.append((key, str(value)))
        else:
            items.extend((key, str(one)) for one in value)
    for var, val in (variables or {}).items():
        if "=" in var:
            raise AmiEncodeError(f"channel variable name {var!r} must not contain '='")
        items.append(("Variable", f"{var}={val}"))
    return AmiAction(name, tuple(items))


# C0 controls but tab, and DEL: CR or LF would end the header (an injected one follows),
# NUL ends the C string Asterisk copies it into, the rest would reach dialplan functions.
_CONTROL: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _check_line(key: str, value: str) -> None:
    for text, what in ((key, "key"), (value, "value")):
        control = _CONTROL.search(text)
        if control is not None:
            raise AmiEncodeError(
                f"AMI header {key!r}: {what} contains the control character {control.group()!r}"
            )
    if not key or ":" in key:
        raise AmiEncodeError(f"AMI header name {key!r} is empty or contains ':'")
    length = len(key) + 2 + len(value.encode("utf-8"))
    if length > MAX_ACTION_LINE:
        raise AmiEncodeError(
            f"AMI header {key!r} is {length} bytes; Asterisk discards lines over "
            f"{MAX_ACTION_LINE} bytes"
        )


def encode_action(action: AmiAction, action_id: str | None) -> bytes:
    """Serialise an action as Asterisk expects it: CRLF lines and an empty line."""
    lines: list[tuple[str, str]] = [("Action", action.name)]
    if action_id is not None:
        lines.append(("ActionID", action_id))
    lines.extend(action.fields)
    out = bytearray()
    for key, value in lines:
        _check_line(key, value)
        out += f"{key}: {value}\r\n".encode()
    out += CRLF
    return bytes(out)
