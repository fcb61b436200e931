"""The manager-interface half of the Asterisk simulator: sessions, login, framing, events.

Reproduces main/manager.c as seen from a client: the banner line on connect
(session_do()), one action at a time per session, ``Permission denied`` before login
(process_message()), a failed Login answered after a one-second sleep and followed by the
session closing (action_login() returns -1), ``Response``/``ActionID``/``Message`` header
order (astman_send_response_full()), events as ``Event:`` + ``Privilege:`` + body
(__ast_manager_event_multichan()), FullyBooted right after a successful login, and the
user's permissions (``rights``): events only of classes it reads and through its event
filters, actions only of classes it writes ("Permission denied" otherwise). The default
user is dialplans/manager.conf's voicebot user, so, as a recorded Asterisk 22.10.1 did,
it gets no FullyBooted (class system) and only UserEvent, Hangup and Rename events;
``extra_users`` may add a harness user with every right (Originate for test calls).
Channel actions (Setvar, Redirect, Originate...) are passed to the PBX model in
``asterisk.py`` through ``ActionHandler``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Final

from voicebot.telephony.ami_codec import AmiHeaders
from voicebot.telephony.ami_server_codec import AmiActionDecoder, encode_block
from voicebot.telephony.simulator.rights import VOICEBOT_RIGHTS, AmiUserRights

_LOGGER = logging.getLogger(__name__)

Fields = Sequence[tuple[str, str]]
ActionHandler = Callable[[str, AmiHeaders, "AmiSession"], Awaitable[bool]]
"""PBX hook: handle action ``name``; return False when the action is unknown."""

PRIV_CALL: Final = "call,all"
PRIV_DIALPLAN: Final = "dialplan,all"
PRIV_USER: Final = "user,all"
PRIV_DTMF: Final = "dtmf,all"
PRIV_CDR: Final = "cdr,all"
PRIV_SYSTEM: Final = "system,all"


class AmiSession:
    """One client connection to the simulated manager interface."""

    def __init__(
        self,
        writer: asyncio.StreamWriter,
        peer: str,
        sent_log: list[tuple[str, Fields]] | None = None,
    ) -> None:
        self.peer = peer
        self._sent_log = sent_log
        self.authenticated = False
        self.username = ""
        self.rights: AmiUserRights = VOICEBOT_RIGHTS
        """The logged-in user's permissions."""
        self.events_enabled = True
        self._writer = writer

    @property
    def closed(self) -> bool:
        """True once the connection is closing."""
        return self._writer.is_closing()

    def send(self, fields: Fields) -> None:
        """Write one block."""
        if not self._writer.is_closing():
            self._writer.write(encode_block(fields))
            if self._sent_log is not None:
                self._sent_log.append((self.username, list(fields)))

    def respond(
        self,
        action: AmiHeaders,
        status: str,
        message: str | None = None,
        extra: Fields = (),
        *,
        event_list: str | None = None,
    ) -> None:
        """Answer ``action`` like astman_send_response_full(): Response, ActionID,
        optional EventList, then Message or the extra fields."""
        fields: list[tuple[str, str]] = [("Response", status)]
        action_id = action.get("ActionID")
        if action_id:
            fields.append(("ActionID", action_id))
        if event_list is not None:
            fields.append(("EventList", event_list))
        if message is not None:
            fields.append(("Message", message))
        fields.extend(extra)
        self.send(fields)

    def send_event(self, name: str, privilege: str, fields: Fields) -> None:
        """Write an event block to this session if it asked for events and its user's
        read classes and event filters let it through."""
        if self.authenticated and self.events_enabled:
            block = [("Event", name), ("Privilege", privilege), *fields]
            if self.rights.receives(block):
                self.send(block)

    async def send_raw(self, data: bytes) -> None:
        """Write bytes as they are and wait for the transport to take them."""
        if not self._writer.is_closing():
            self._writer.write(data)
            with contextlib.suppress(OSError):
                await self._writer.drain()

    def close(self) -> None:
        """Close the TCP connection."""
        self._writer.close()

    def abort(self) -> None:
        """Drop the TCP connection at once."""
        self._writer.transport.abort()


class SimulatedAmiServer:
    """A TCP manager interface speaking Asterisk's framing, for tests and demos."""

    def __init__(
        self,
        handler: ActionHandler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = "voicebot",
        secret: str = "voicebot",
        rights: AmiUserRights = VOICEBOT_RIGHTS,
        extra_users: Mapping[str, tuple[str, AmiUserRights]] | None = None,
        ami_version: str = "11.0.0",
        auth_failure_delay: float = 1.0,
    ) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self.username = username
        self.secret = secret
        self.users: dict[str, tuple[str, AmiUserRights]] = {
            username: (secret, rights),
            **(extra_users or {}),
        }
        """User name -> (secret, rights)."""
        self.ami_version = ami_version
        self.auth_failure_delay = auth_failure_delay
        """Asterisk sleeps 1 s before answering a bad Login (manager.c action_login())."""
        self._server: asyncio.Server | None = None
        self._sessions: set[AmiSession] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._started_at = time.time()
        self.logins = 0
        """Successful logins since creation."""
        self.action_counts: Counter[str] = Counter()
        """Actions received per lower-cased name, including Login and Ping."""
        self.frozen = False
        """While True, actions are read but never answered (a hung Asterisk)."""
        self.ignored_actions = 0
        """Actions swallowed while frozen."""
        self.sent_log: list[tuple[str, Fields]] | None = None
        """When a list: every block written to a session, with its user (for tests that
        compare the simulator's output with recorded traces); None records nothing."""

    @property
    def port(self) -> int:
        """The bound port; stays the same across stop() and start()."""
        return self._port

    @property
    def running(self) -> bool:
        """True while accepting connections."""
        return self._server is not None

    @property
    def sessions(self) -> list[AmiSession]:
        """Open client sessions."""
        return list(self._sessions)

    async def start(self) -> None:
        """Listen (again) on the configured port; the first start picks it if it was 0."""
        self._server = await asyncio.start_server(self._on_client, self._host, self._port)
        self._port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening and drop every session, as when Asterisk goes down."""
        if self._server is not None:
            self._server.close()
        self.drop_connections()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self._server.wait_closed()
            self._server = None

    def drop_connections(self) -> None:
        """Abort every client connection (the server keeps listening)."""
        for session in list(self._sessions):
            session.abort()

    def broadcast(self, name: str, privilege: str, fields: Fields) -> None:
        """Send an event to every logged-in session that wants events."""
        for session in list(self._sessions):
            session.send_event(name, privilege, fields)

    async def broadcast_raw(self, data: bytes) -> None:
        """Write pre-encoded event blocks to every logged-in session and wait until each
        has taken them (TCP back-pressure), as a PBX flooding its manager sessions would."""
        for session in list(self._sessions):
            if session.authenticated and session.events_enabled:
                await session.send_raw(data)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        peername = writer.get_extra_info("peername")
        session = AmiSession(
            writer, f"{peername[0]}:{peername[1]}" if peername else "?", self.sent_log
        )
        self._sessions.add(session)
        try:
            writer.write(f"Asterisk Call Manager/{self.ami_version}\r\n".encode())
            decoder = AmiActionDecoder()
            while not session.closed:
                data = await reader.read(65536)
                if not data:
                    break
                for block in decoder.feed(data):
                    if block.line_too_long:
                        session.respond(
                            block.headers, "Error", "Failed to parse message: line too long"
                        )
                        continue
                    if not await self._process(block.headers, session):
                        session.close()
                        break
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._sessions.discard(session)
            self._tasks.discard(task)
            writer.close()

    async def _process(self, action: AmiHeaders, session: AmiSession) -> bool:
        """Handle one action; False when the session must end (process_message() -1)."""
        name = action.get("Action") or ""
        lowered = name.lower()
        self.action_counts[lowered] += 1
        if self.frozen:
            self.ignored_actions += 1
            return True
        if not name:
            session.respond(action, "Error", "Missing action in request")
            return True
        if not session.authenticated and lowered not in ("login", "logoff", "challenge"):
            session.respond(action, "Error", "Permission denied")
            return True
        if lowered == "login":
            return await self._login(action, session)
        if lowered == "logoff":
            session.respond(action, "Goodbye", "Thanks for all the fish.")
            return False
        if lowered == "ping":
            now = time.time()
            session.respond(
                action, "Success", extra=[("Ping", "Pong"), ("Timestamp", f"{now:.6f}")]
            )
            return True
        if not session.rights.may_run(name):
            session.respond(action, "Error", "Permission denied")
            return True
        if not await self._handler(name, action, session):
            session.respond(
                action,
                "Error",
                f"Invalid/unknown command: {name}. Use Action: ListCommands to show "
                "available commands.",
            )
        return True

    async def _login(self, action: AmiHeaders, session: AmiSession) -> bool:
        if session.authenticated:
            session.respond(action, "Success", "Already authenticated")
            return True
        user = self.users.get(action.get("Username") or "")
        if user is None or action.get("Secret") != user[0]:
            await asyncio.sleep(self.auth_failure_delay)
            session.respond(action, "Error", "Authentication failed")
            return False
        session.authenticated = True
        session.username = action.get("Username") or ""
        session.rights = user[1]
        session.events_enabled = (action.get("Events") or "on").lower() not in ("off", "no", "0")
        self.logins += 1
        session.respond(action, "Success", "Authentication accepted")
        uptime = int(time.time() - self._started_at)
        session.send_event(
            "FullyBooted",
            PRIV_SYSTEM,
            [("Uptime", str(uptime)), ("LastReload", str(uptime)), ("Status", "Fully Booted")],
        )
        return True
