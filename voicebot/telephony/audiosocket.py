"""Asyncio AudioSocket server: one ``AudioSocketConnection`` per call, handed to a handler.

Behaviour of a real Asterisk that shapes this module (apps/app_audiosocket.c,
res/res_audiosocket.c, and observation of Asterisk built from master):

* The first message is always 0x01 with the 16-byte UUID (ast_audiosocket_init()); audio
  follows as 0x10 frames whose size is usually 320 bytes but not always, so only the
  length field is trusted.
* Asterisk sends nothing while the far end is silent on some paths, so every timeout the
  call layer needs must run on a clock (``receive(timeout=...)``), never on frame counts.
* Asterisk 22 ends AudioSocket after 2000 ms without a frame in either direction (a
  recorded 22.10.1 did, 2.003 s after the last frame): every connection therefore sends
  one frame every 20 ms from its start, silence when nothing is queued (``keepalive``).
* On hangup or Redirect Asterisk does not send 0x00: it closes the TCP connection. EOF is
  therefore the normal end of a call, reported as ``CloseReason.PEER_CLOSED``, and our half
  is closed at once: Asterisk reads nothing more, and a session that goes on (following a
  transfer to its dial result over AMI) must not hold the socket in CLOSE-WAIT meanwhile.
* Asterisk treats 0x00 from us, or our closing the socket, as a request to hang up
  (ast_audiosocket_receive_frame_with_hangup()).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from enum import StrEnum

from voicebot.telephony.admission import (
    FRAMES_PER_SECOND,
    LOOPBACK,
    SECURITY_LOGGER,
    InboundRateBound,
    PeerAllowList,
    RefusalLog,
    RefusalReason,
)
from voicebot.telephony.audiosocket_codec import (
    DEFAULT_MAX_PAYLOAD,
    HANGUP_BYTES,
    AudioMessage,
    AudioSocketDecoder,
    AudioSocketMessage,
    AudioSocketProtocolError,
    HangupMessage,
    UuidMessage,
    encode_audio,
)
from voicebot.telephony.playout import SILENCE_FRAME, PacedPlayer, PlayoutStats

_LOGGER = logging.getLogger(__name__)

_READ_CHUNK = 65536
_SILENCE_MESSAGE = encode_audio(SILENCE_FRAME)
_MAX_UNSENT = 64 * 1024
"""Outbound bytes a peer may leave unread (about 4 s of audio) before frames are dropped."""

ConnectionHandler = Callable[["AudioSocketConnection"], Awaitable[None]]
"""Coroutine function run once per call with its connection; the call ends when it returns."""

AdmissionCheck = Callable[["AudioSocketConnection"], Awaitable[bool]]
"""Decides, once the UUID is known and the connection runs, whether the call may proceed
(False: the connection is closed without running the handler; the check logs why)."""


class CloseReason(StrEnum):
    """Why a connection ended."""

    PEER_CLOSED = "peer_closed"
    """Asterisk closed TCP: the normal end of a call (hangup, Redirect)."""
    PEER_HANGUP = "peer_hangup"
    """Asterisk sent a 0x00 hangup message."""
    LOCAL_HANGUP = "local_hangup"
    """We sent 0x00 and closed."""
    LOCAL_CLOSE = "local_close"
    """We closed the connection (handler finished or ``close()``)."""
    PROTOCOL_ERROR = "protocol_error"
    """A malformed or oversized frame arrived; only this connection was closed."""
    CONNECTION_ERROR = "connection_error"
    """The socket failed (reset, broken pipe)."""
    SERVER_STOP = "server_stop"
    """The server was stopped and the handler did not finish in time."""
    FLOOD = "flood"
    """The peer kept sending faster than real time (``InboundRateBound``)."""


class AudioSocketConnection:
    """One call's AudioSocket stream: inbound messages, paced outbound audio, hangup."""

    def __init__(
        self,
        call_id: uuid.UUID,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        decoder: AudioSocketDecoder,
        *,
        peer: str = "",
        inbound_limit: int = 3000,
        keepalive: bool = True,
        rate_bound: InboundRateBound | None = None,
        refusals: RefusalLog | None = None,
    ) -> None:
        self.call_id = call_id
        """The UUID Asterisk sent in the 0x01 message."""
        self.peer = peer
        """Remote address as host:port."""
        self._reader = reader
        self._writer = writer
        self._decoder = decoder
        self._inbound: asyncio.Queue[AudioSocketMessage | None] = asyncio.Queue()
        self._inbound_limit = inbound_limit
        self._rate_bound = rate_bound
        self._refusals = refusals or RefusalLog()
        self._close_reason: CloseReason | None = None
        self._closed_event = asyncio.Event()
        self._read_task: asyncio.Task[None] | None = None
        self._player = PacedPlayer(self._write_frame, label=str(call_id), keepalive=keepalive)
        self.frames_received = 0
        """Audio messages received from Asterisk."""
        self.inbound_dropped = 0
        """Inbound messages discarded because the handler fell more than the limit behind."""
        self.outbound_dropped = 0
        """Frames not written because the peer had not read ``_MAX_UNSENT`` bytes."""
        self.excess_dropped = 0
        """Inbound messages dropped because the peer sent faster than real time."""

    def __repr__(self) -> str:
        return f"AudioSocketConnection({self.call_id}, peer={self.peer!r}, closed={self.closed})"

    @property
    def closed(self) -> bool:
        """True once the call's stream has ended, for whatever reason."""
        return self._close_reason is not None

    @property
    def close_reason(self) -> CloseReason | None:
        """Why the connection ended, or None while it is open."""
        return self._close_reason

    @property
    def playout_stats(self) -> PlayoutStats:
        """Per-frame send lateness of outbound audio."""
        return self._player.stats

    @property
    def playing(self) -> bool:
        """True while queued outbound audio remains."""
        return self._player.playing

    def start(self, already_decoded: list[AudioSocketMessage]) -> None:
        """Begin reading; ``already_decoded`` are messages that arrived with the UUID."""
        for message in already_decoded:
            self._deliver(message)
        self._read_task = asyncio.get_running_loop().create_task(
            self._read_loop(), name=f"audiosocket read {self.call_id}"
        )
        # The 20 ms clock starts with the call: silence until there is something to say.
        self._player.start()

    # Inbound ---------------------------------------------------------------------------

    async def receive(self, timeout: float | None = None) -> AudioSocketMessage | None:
        """Next inbound message; None once the stream has ended.

        Raises ``TimeoutError`` when nothing arrives within ``timeout`` seconds (Asterisk may
        send no frames at all during silence, so this is the way to time out a caller).
        """
        if self._inbound.empty() and self.closed:
            return None
        async with asyncio.timeout(timeout):
            message = await self._inbound.get()
        if message is None:
            # Leave the end marker in place for any later receive() call.
            self._inbound.put_nowait(None)
        return message

    async def __aiter__(self) -> AsyncIterator[AudioSocketMessage]:
        """Inbound audio, DTMF, hangup and error messages until the stream ends."""
        while (message := await self.receive()) is not None:
            yield message

    def _deliver(self, message: AudioSocketMessage | None) -> None:
        if isinstance(message, AudioMessage):
            self.frames_received += 1
        if message is not None and self._inbound.qsize() >= self._inbound_limit:
            self._inbound.get_nowait()
            self.inbound_dropped += 1
            if self.inbound_dropped == 1:
                _LOGGER.warning(
                    "AudioSocket call %s: handler is %d messages behind, dropping oldest",
                    self.call_id,
                    self._inbound_limit,
                )
        self._inbound.put_nowait(message)

    async def _read_loop(self) -> None:
        try:
            while True:
                data = await self._reader.read(_READ_CHUNK)
                if not data:
                    try:
                        self._decoder.finish()
                    except AudioSocketProtocolError as exc:
                        _LOGGER.warning("AudioSocket call %s: %s", self.call_id, exc)
                    self._mark_closed(CloseReason.PEER_CLOSED)
                    self._writer.close()
                    return
                for message in self._decoder.feed(data):
                    if isinstance(message, UuidMessage):
                        raise AudioSocketProtocolError(
                            f"second UUID message {message.call_id} on an established call"
                        )
                    if isinstance(message, HangupMessage):
                        self._mark_closed(CloseReason.PEER_HANGUP)
                        self._writer.close()
                        return
                    if self._rate_bound is not None and not self._within_rate(message):
                        if self.closed:
                            return
                        continue
                    self._deliver(message)
        except AudioSocketProtocolError as exc:
            _LOGGER.warning("AudioSocket call %s: closing, %s", self.call_id, exc)
            self._mark_closed(CloseReason.PROTOCOL_ERROR)
            self._writer.close()
        except ConnectionResetError:
            # Asterisk closing while our last frames are still unread makes its kernel
            # answer with a reset instead of a FIN: the same normal end of the call.
            self._mark_closed(CloseReason.PEER_CLOSED)
            self._writer.close()
        except OSError as exc:
            _LOGGER.info("AudioSocket call %s: connection failed: %s", self.call_id, exc)
            self._mark_closed(CloseReason.CONNECTION_ERROR)
            self._writer.close()

    def _within_rate(self, message: AudioSocketMessage) -> bool:
        """Whether ``message`` fits the rate bound; closes the connection on a flood."""
        assert self._rate_bound is not None
        size = len(message.pcm) if isinstance(message, AudioMessage) else 1
        verdict = self._rate_bound.take(size)
        if verdict:
            return True
        self.excess_dropped += 1
        if verdict is None:
            self._refusals.refused(
                RefusalReason.FLOOD,
                "AudioSocket call %s from %s: still sending faster than real time after "
                "%.1f s of excess audio, closing",
                self.call_id,
                self.peer,
                self._rate_bound.excess_frames / FRAMES_PER_SECOND,
            )
            self._mark_closed(CloseReason.FLOOD)
            self._writer.close()
        elif self.excess_dropped == 1:
            _LOGGER.warning(
                "AudioSocket call %s from %s: sending faster than real time, dropping the excess",
                self.call_id,
                self.peer,
            )
        return False

    def _mark_closed(self, reason: CloseReason) -> None:
        if self._close_reason is not None:
            return
        self._close_reason = reason
        self._player.stop()
        self._deliver(None)
        self._closed_event.set()
        _LOGGER.info("AudioSocket call %s: ended (%s)", self.call_id, reason)

    async def wait_closed(self) -> None:
        """Wait until the stream has ended."""
        await self._closed_event.wait()

    # Outbound --------------------------------------------------------------------------

    def _write_frame(self, frame: bytes) -> None:
        if self.closed or self._writer.is_closing():
            return
        if self._writer.transport.get_write_buffer_size() > _MAX_UNSENT:
            # The peer reads nothing: drop frames rather than buffer without end.
            self.outbound_dropped += 1
            return
        # One write per frame: Asterisk re-reads the header from offset 0 when a read
        # returns short (res_audiosocket.c), so frames must not be split by us either.
        self._writer.write(_SILENCE_MESSAGE if frame is SILENCE_FRAME else encode_audio(frame))

    def play(self, pcm: bytes) -> None:
        """Queue 8 kHz 16-bit mono PCM; it is sent as paced 320-byte 0x10 frames."""
        if self.closed:
            _LOGGER.debug("AudioSocket call %s: play() after close ignored", self.call_id)
            return
        self._player.play(pcm)

    def stop_playback(self) -> int:
        """Barge-in: drop queued audio at once; returns the bytes dropped."""
        return self._player.stop()

    async def drain_playback(self) -> None:
        """Wait until queued audio has been sent (or stopped, or the call ended)."""
        drained = asyncio.ensure_future(self._player.drain())
        ended = asyncio.ensure_future(self._closed_event.wait())
        try:
            await asyncio.wait({drained, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            drained.cancel()
            ended.cancel()

    async def send_hangup(self, grace: float = 0.5) -> None:
        """Send 0x00, give Asterisk ``grace`` seconds to close its side, then close."""
        if self.closed:
            return
        self._player.stop()
        self._writer.write(HANGUP_BYTES)
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(grace):
                await self._writer.drain()
                # Closing while Asterisk's frames are still unread would send a RST that
                # can discard the 0x00 before Asterisk reads it: wait for its EOF first.
                await self._closed_event.wait()
        await self._close(CloseReason.LOCAL_HANGUP)

    async def close(self) -> None:
        """Close the connection; Asterisk hangs up the channel when it sees the EOF."""
        await self._close(CloseReason.LOCAL_CLOSE)

    async def _close(self, reason: CloseReason) -> None:
        self._mark_closed(reason)
        await self._player.close()
        if self._read_task is not None and not self._read_task.done():
            self._read_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._read_task
        self._writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()


class AudioSocketServer:
    """TCP server accepting Asterisk AudioSocket connections.

    A connection from an address not on ``allow`` (default: loopback only) is closed at
    once. Each must then send the UUID message within ``uuid_timeout`` seconds; a UUID
    whose call is already being handled is refused (a second connection must not take
    over a live call). The connection then runs (keep-alive frames flow) while ``admit``
    decides; the handler runs only if it agrees and fewer than ``max_sessions`` handlers
    run, and the call ends when it returns. Connections still deciding count too, up to
    ``2 * max_sessions + 16`` in all, so junk cannot keep genuine calls out for long nor
    use up file descriptors. Inbound traffic is held to ``rate_bound`` (set
    ``None`` to turn the bound off). A malformed stream closes only its own connection.
    """

    def __init__(
        self,
        handler: ConnectionHandler,
        host: str = "127.0.0.1",
        port: int = 9092,
        *,
        uuid_timeout: float = 5.0,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        reuse_port: bool = False,
        keepalive: bool = True,
        allow: PeerAllowList | None = None,
        max_sessions: int | None = None,
        admit: AdmissionCheck | None = None,
        rate_bound: Callable[[], InboundRateBound] | None = InboundRateBound,
        refusals: RefusalLog | None = None,
    ) -> None:
        self._handler = handler
        self._keepalive = keepalive
        """Send silence when nothing plays (off only to reproduce an assistant without it)."""
        self._reuse_port = reuse_port
        self._host = host
        self._port = port
        self._uuid_timeout = uuid_timeout
        self._max_payload = max_payload
        self._allow = allow if allow is not None else PeerAllowList(LOOPBACK)
        self._max_sessions = max_sessions
        self._sessions = 0
        """Handlers running."""
        self._admit = admit
        self._rate_bound = rate_bound
        self.refusals = refusals or RefusalLog()
        """Connections refused so far, by reason."""
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], AudioSocketConnection | None] = {}
        self._live: dict[uuid.UUID, AudioSocketConnection] = {}
        """Calls whose handler runs (or whose admission is being decided), by UUID."""
        self._takeover_attempts: dict[uuid.UUID, int] = {}

    @property
    def port(self) -> int:
        """The bound TCP port (useful with port 0)."""
        if self._server is None:
            raise RuntimeError("AudioSocket server is not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def connections(self) -> list[AudioSocketConnection]:
        """Calls currently being handled."""
        return [conn for conn in self._connections.values() if conn is not None]

    async def start(self) -> None:
        """Bind and start accepting connections."""
        # reuse_port: several worker processes bind the same port, the kernel spreads
        # Asterisk's connections across them.
        self._server = await asyncio.start_server(
            self._on_client, self._host, self._port, reuse_port=self._reuse_port or None
        )
        _LOGGER.info(
            "AudioSocket server listening on %s:%d (from %r)", self._host, self.port, self._allow
        )

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting; let running handlers finish for ``timeout`` s, then end them."""
        if self._server is not None:
            self._server.close()
        tasks = set(self._connections)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                conn = self._connections.get(task)
                if conn is not None:
                    await conn._close(CloseReason.SERVER_STOP)
            if pending:
                _, pending = await asyncio.wait(pending, timeout=1.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> AudioSocketServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peername = writer.get_extra_info("peername")
        peer = f"{peername[0]}:{peername[1]}" if peername else "?"
        if not peername or not await self._allow.allows(str(peername[0])):
            self.refusals.refused(
                RefusalReason.ADDRESS,
                "AudioSocket connection from %s refused: not a PBX address (%r)",
                peer,
                self._allow,
            )
            await _abort(writer)
            return
        limit = self._max_sessions
        if limit is not None and len(self._connections) >= 2 * limit + 16:
            self.refusals.refused(
                RefusalReason.CONNECTIONS,
                "AudioSocket connection from %s refused: %d connections open already",
                peer,
                len(self._connections),
            )
            await _abort(writer)
            return
        self._connections[task] = None
        try:
            await self._serve(reader, writer, task, peer)
        finally:
            del self._connections[task]

    async def _serve(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        task: asyncio.Task[None],
        peer: str,
    ) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # Small frames every 20 ms: Nagle would hold them back waiting for ACKs
            # (Asterisk sets TCP_NODELAY on its side too, res_audiosocket.c).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        decoder = AudioSocketDecoder(self._max_payload)
        try:
            async with asyncio.timeout(self._uuid_timeout):
                handshake = await _read_uuid(reader, decoder)
        except TimeoutError:
            _LOGGER.warning(
                "AudioSocket from %s: no UUID within %.1f s, closing", peer, self._uuid_timeout
            )
            await _abort(writer)
            return
        except AudioSocketProtocolError as exc:
            _LOGGER.warning("AudioSocket from %s: closing before UUID, %s", peer, exc)
            await _abort(writer)
            return
        except OSError as exc:
            _LOGGER.info("AudioSocket from %s: connection failed before UUID: %s", peer, exc)
            await _abort(writer)
            return
        if handshake is None:
            _LOGGER.info("AudioSocket from %s: closed before sending a UUID", peer)
            await _abort(writer)
            return
        call_id, rest = handshake
        live = self._live.get(call_id)
        if live is not None:
            self._refuse_takeover(call_id, peer, live)
            await _abort(writer)
            return
        conn = AudioSocketConnection(
            call_id,
            reader,
            writer,
            decoder,
            peer=peer,
            keepalive=self._keepalive,
            rate_bound=self._rate_bound() if self._rate_bound is not None else None,
            refusals=self.refusals,
        )
        self._connections[task] = conn
        self._live[call_id] = conn
        try:
            _LOGGER.info("AudioSocket call %s: connected from %s", call_id, peer)
            conn.start(rest)
            try:
                if await self._admitted(conn):
                    self._sessions += 1
                    try:
                        await self._handler(conn)
                    finally:
                        self._sessions -= 1
            except Exception:
                _LOGGER.exception("AudioSocket call %s: handler failed", call_id)
            finally:
                await conn.close()
        finally:
            del self._live[call_id]
            attempts = self._takeover_attempts.pop(call_id, 0)
            if attempts > 1:
                SECURITY_LOGGER.info(
                    "security: call %s ended; %d connections tried to take it over",
                    call_id,
                    attempts,
                )

    async def _admitted(self, conn: AudioSocketConnection) -> bool:
        if self._admit is not None and not await self._admit(conn):
            return False
        if self._max_sessions is not None and self._sessions >= self._max_sessions:
            self.refusals.refused(
                RefusalReason.CAPACITY,
                "AudioSocket call %s from %s refused: %d sessions already (the limit)",
                conn.call_id,
                conn.peer,
                self._sessions,
            )
            return False
        return True

    def _refuse_takeover(self, call_id: uuid.UUID, peer: str, live: AudioSocketConnection) -> None:
        """A second connection claims a live call's UUID: refused, logged once per call."""
        attempts = self._takeover_attempts.get(call_id, 0) + 1
        self._takeover_attempts[call_id] = attempts
        self.refusals.counts[RefusalReason.LIVE_UUID] += 1
        if attempts == 1:
            SECURITY_LOGGER.warning(
                "security: AudioSocket from %s refused: call %s is live (connected from %s); "
                "a second session would take it over",
                peer,
                call_id,
                live.peer,
            )


async def _read_uuid(
    reader: asyncio.StreamReader, decoder: AudioSocketDecoder
) -> tuple[uuid.UUID, list[AudioSocketMessage]] | None:
    while True:
        data = await reader.read(_READ_CHUNK)
        if not data:
            return None
        messages = decoder.feed(data)
        if not messages:
            continue
        first = messages[0]
        if not isinstance(first, UuidMessage):
            raise AudioSocketProtocolError(
                f"first message must be the UUID (0x01), got {first.kind.name} "
                f"(0x{first.kind:02x})",
                0,
            )
        return first.call_id, messages[1:]


async def _abort(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        async with asyncio.timeout(1.0):
            await writer.wait_closed()
