"""A TCP manager interface that plays back what a real Asterisk sent, in recorded order.

``AmiTraceReplay`` serves one recorded session per client connection (the next script for
the next connection, as after a restart). For each script it sends the banner, then walks
the recorded blocks: a ``>>>`` block waits for the client's next action and compares it
with the recording field by field (ActionID and the Login secret aside); a ``<<<``
response or event is sent with the recorded ActionID replaced by the one the client
used. Pings are left out of the scripts and answered whenever they come, since their
timing is the client's own. Mismatches are collected, not raised, so a test can show
them all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tests.telephony.traces import AmiBlock
from voicebot.telephony.ami_codec import AmiHeaders
from voicebot.telephony.ami_server_codec import AmiActionDecoder

_IGNORED_FIELDS = frozenset({"actionid", "secret"})

Expected = Callable[[list[tuple[str, str]]], bool]


@dataclass(frozen=True, slots=True)
class Mismatch:
    """An action the client sent that differs from the recording."""

    expected: list[tuple[str, str]]
    got: list[tuple[str, str]]


def _fields(items: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in items if k.lower() not in _IGNORED_FIELDS]


def without_pings(blocks: Sequence[AmiBlock]) -> list[AmiBlock]:
    """The blocks of a trace minus the keep-alive Pings and their Pongs."""
    ping_ids = {b.get("ActionID") for b in blocks if b.first == ("Action", "Ping")}
    return [b for b in blocks if b.get("ActionID") not in ping_ids or b.first[0] == "Event"]


class AmiTraceReplay:
    """Replays recorded AMI sessions against a client; see the module docstring."""

    def __init__(self, scripts: Sequence[Sequence[AmiBlock]], *, close_at_end: bool = False):
        self._scripts = [without_pings(script) for script in scripts]
        self._close_at_end = close_at_end
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.mismatches: list[Mismatch] = []
        self.connections = 0
        self._finished = asyncio.Event()

    @property
    def port(self) -> int:
        """The bound port."""
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> AmiTraceReplay:
        self._server = await asyncio.start_server(self._on_client, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await self._server.wait_closed()

    async def wait_finished(self, timeout: float) -> None:
        """Wait until the last script has been played to its end."""
        async with asyncio.timeout(timeout):
            await self._finished.wait()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        index = self.connections
        self.connections += 1
        actions: asyncio.Queue[AmiHeaders] = asyncio.Queue()
        reading = asyncio.get_running_loop().create_task(self._read(reader, writer, actions))
        try:
            if index < len(self._scripts):
                await self._play(self._scripts[index], writer, actions)
                if index == len(self._scripts) - 1:
                    self._finished.set()
                if self._close_at_end or index < len(self._scripts) - 1:
                    return
            await reading
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            reading.cancel()
            writer.close()
            self._tasks.discard(task)

    async def _read(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        actions: asyncio.Queue[AmiHeaders],
    ) -> None:
        decoder = AmiActionDecoder()
        while data := await reader.read(65536):
            for block in decoder.feed(data):
                name = (block.headers.get("Action") or "").lower()
                action_id = block.headers.get("ActionID") or ""
                if name == "logoff":
                    # manager.c action_logoff(): not part of any recording.
                    writer.write(
                        f"Response: Goodbye\r\nActionID: {action_id}\r\n"
                        "Message: Thanks for all the fish.\r\n\r\n".encode()
                    )
                    writer.close()
                    return
                if name == "ping":
                    writer.write(
                        f"Response: Success\r\nActionID: {action_id}\r\nPing: Pong\r\n"
                        "Timestamp: 1796353631.080909\r\n\r\n".encode()
                    )
                    continue
                actions.put_nowait(block.headers)

    async def _play(
        self,
        script: Sequence[AmiBlock],
        writer: asyncio.StreamWriter,
        actions: asyncio.Queue[AmiHeaders],
    ) -> None:
        ids: dict[str, str] = {}
        for block in script:
            if block.is_banner:
                writer.write(block.wire)
            elif not block.from_asterisk:
                got = await actions.get()
                recorded_id = block.get("ActionID")
                if recorded_id is not None:
                    ids[recorded_id] = got.get("ActionID") or ""
                expected = _fields(block.headers())
                if _fields(got.items) != expected:
                    self.mismatches.append(Mismatch(expected, _fields(got.items)))
            else:
                writer.write(_rewrite_action_id(block, ids))
            await writer.drain()


def _rewrite_action_id(block: AmiBlock, ids: dict[str, str]) -> bytes:
    lines = []
    for line in block.lines:
        if line.startswith(b"ActionID: "):
            recorded = line[len(b"ActionID: ") :].decode()
            line = b"ActionID: " + ids.get(recorded, recorded).encode()
        lines.append(line)
    return AmiBlock(block.direction, block.t, tuple(lines)).wire
