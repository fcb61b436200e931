"""Asyncio AMI connector: login, events to subscribers, keep-alive, reconnect, actions.

Why not the ``asterisk-ami`` package the project was first designed around (0.1.7,
``asterisk/ami/client.py``)? Checked by tests/telephony/test_asterisk_ami_evaluation.py
against the simulator:

* it is thread-based and blocking (``socket`` + ``threading``), with no asyncio API;
* its socket timeout (3 s by default) doubles as a read timeout, so the listener thread
  dies after a few quiet seconds on an idle but healthy connection;
* a response that never comes yields ``None`` after the timeout instead of an error, and
  actions in flight when the connection drops are not failed: they just time out;
* ``Event.read`` keeps only the last of repeated headers (ChanVariable excepted): in a
  UserEvent the dialplan body's ``Channel`` overwrites the channel snapshot's;
* ``AutoReconnect`` re-logs in by polling from another thread and offers no resync hook.

Its OriginateResponse classification is in fact right (``Response.match`` anchors at the
start of the block, and events start with ``Event:``), but the rest would need wrapping
in threads and re-implementing anyway, so this module is built on ``ami_codec`` instead.
The design follows panoramisk (ActionID -> Future, list replies collected until
``EventList: Complete``), except that actions in flight on a drop fail fast with
``AmiConnectionLost`` rather than being resent, so callers decide to retry or fall back.
Why panoramisk itself is not used: docs/decisions/ami.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from voicebot.backoff import Backoff, Outage
from voicebot.telephony.ami_codec import (
    AmiAction,
    AmiBanner,
    AmiEvent,
    AmiEventName,
    AmiMalformedBlock,
    AmiProtocolError,
    AmiResponse,
    AmiStreamDecoder,
    encode_action,
    make_action,
)
from voicebot.telephony.ami_types import (
    AmiActionFailed,
    AmiActionTimeout,
    AmiConnectionLost,
    AmiError,
    AmiListResult,
    AmiLoginError,
    AmiNotConnected,
    AmiSettings,
    AmiState,
    AmiStatus,
    OriginateResult,
)

__all__ = [
    "AmiActionFailed",
    "AmiActionTimeout",
    "AmiClient",
    "AmiConnectionLost",
    "AmiError",
    "AmiListResult",
    "AmiLoginError",
    "AmiNotConnected",
    "AmiSettings",
    "AmiState",
    "AmiStatus",
    "AmiSubscription",
    "OriginateResult",
]

_LOGGER = logging.getLogger(__name__)

_READ_CHUNK = 16384
"""Bytes parsed per read: about 35 events, well under a millisecond of work."""

EventListener = Callable[[AmiEvent], None]
"""Synchronous event callback, run on the dispatch task: keep it short and non-blocking."""
ReconnectHook = Callable[[], Awaitable[None]]
"""Coroutine run after every successful re-login, to resynchronise state."""


@dataclass(slots=True)
class _Pending:
    name: str
    future: asyncio.Future[AmiResponse | AmiListResult]
    collect_list: bool
    complete_event: str | None = None
    response: AmiResponse | None = None
    events: list[AmiEvent] = field(default_factory=list)


class AmiSubscription:
    """A queue of events for one async consumer; iterate it or call ``get()``."""

    def __init__(self, client: AmiClient, maxsize: int) -> None:
        self._client = client
        self._queue: asyncio.Queue[AmiEvent] = asyncio.Queue()
        self._maxsize = maxsize
        self.dropped = 0
        """Events discarded because the consumer fell ``maxsize`` behind."""

    def _push(self, event: AmiEvent) -> None:
        if self._queue.qsize() >= self._maxsize:
            self._queue.get_nowait()
            self.dropped += 1
            if self.dropped == 1:
                _LOGGER.warning("AMI subscriber is %d events behind, dropping", self._maxsize)
        self._queue.put_nowait(event)

    async def get(self, timeout: float | None = None) -> AmiEvent:
        """Next event; ``TimeoutError`` after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            return await self._queue.get()

    async def __aiter__(self) -> AsyncIterator[AmiEvent]:
        """Events in arrival order, until the subscription is closed."""
        while True:
            yield await self._queue.get()

    def close(self) -> None:
        """Stop receiving events."""
        self._client._subscriptions.discard(self)


class AmiClient:
    """One AMI connection, kept alive and re-established, shared by the whole process."""

    def __init__(self, settings: AmiSettings) -> None:
        self.settings = settings
        self.state = AmiState.STOPPED
        self.banner: AmiBanner | None = None
        """The greeting of the current (or last) connection."""
        self.connections_made = 0
        """Successful logins so far (1 after the first connect)."""
        self._listeners: list[EventListener] = []
        self._subscriptions: set[AmiSubscription] = set()
        self._reconnect_hooks: list[ReconnectHook] = []
        self._pending: dict[str, _Pending] = {}
        self._event_waiters: dict[str, tuple[str, asyncio.Future[AmiEvent]]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._connected = asyncio.Event()
        self._first_outcome = asyncio.Event()
        self._last_error: BaseException | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._events: asyncio.Queue[AmiEvent] = asyncio.Queue(settings.event_queue_size)
        """Events read and not yet dispatched: full, it stops the reader (back-pressure)."""
        self._dispatcher: asyncio.Task[None] | None = None
        self.events_dispatched = 0
        """Events handed to listeners and subscribers so far."""
        self.dispatch_pauses = 0
        """Times the dispatcher paused because a flood used up its share of the loop."""
        self._hook_tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._ids = itertools.count(1)
        self._id_prefix = f"vb-{secrets.token_hex(3)}"
        self._backoff = Backoff(
            settings.reconnect_initial_delay, settings.reconnect_max_delay, jitter=0.2
        )
        self._outage = Outage()
        """Failed attempts since the connection was lost (or since start)."""

    # Life cycle ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while logged in."""
        return self._connected.is_set()

    @property
    def events_pending(self) -> int:
        """Events read and not yet dispatched (non-zero while a flood is worked through)."""
        return self._events.qsize()

    def status(self) -> AmiStatus:
        """State, how long the connection has been down, and why (for /health, metrics)."""
        connected = self.connected
        return AmiStatus(
            state=self.state,
            connected=connected,
            down_for_s=0.0 if connected else self._outage.down_for(time.monotonic()),
            failed_attempts=0 if connected else self._outage.failures,
            logins=self.connections_made,
            last_error=None if connected or self._last_error is None else str(self._last_error),
        )

    async def connect(self, timeout: float = 10.0) -> None:
        """Start the connector and wait for the first login.

        Raises ``AmiLoginError`` (and stops) when Asterisk refuses the credentials, and
        ``TimeoutError`` when no login succeeded in ``timeout`` seconds (the connector
        keeps retrying in the background in that case).
        """
        self.start()
        try:
            async with asyncio.timeout(timeout):
                await self._first_outcome.wait()
        except TimeoutError:
            raise TimeoutError(
                f"AMI at {self.settings.host}:{self.settings.port}: no login within "
                f"{timeout:.1f} s (last error: {self._last_error})"
            ) from None
        if isinstance(self._last_error, AmiLoginError) and not self.connected:
            await self.close()
            raise self._last_error

    def start(self) -> None:
        """Start connecting in the background (idempotent)."""
        if self._supervisor is None:
            self.state = AmiState.CONNECTING
            loop = asyncio.get_running_loop()
            self._dispatcher = loop.create_task(self._dispatch_events(), name="ami events")
            self._supervisor = loop.create_task(self._supervise(), name="ami supervisor")

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until logged in; ``TimeoutError`` after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    async def close(self) -> None:
        """Log off politely if connected, then stop reconnecting and fail pending actions."""
        if self.state is AmiState.CLOSED:
            return
        self._closing = True
        if self.connected:
            with contextlib.suppress(AmiError, TimeoutError):
                await self._request(make_action("Logoff"), timeout=1.0)
        self.state = AmiState.CLOSED
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        self._drop_transport()
        self._fail_pending(AmiConnectionLost("AMI client closed"))
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher
            self._dispatcher = None
        for task in list(self._hook_tasks):
            task.cancel()

    async def __aenter__(self) -> AmiClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def drop_connection(self) -> None:
        """Abort the current TCP connection (it is re-established like any drop)."""
        self._drop_transport()

    # Subscribers -----------------------------------------------------------------------

    def add_event_listener(self, listener: EventListener) -> Callable[[], None]:
        """Call ``listener`` for every event; returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def subscribe(self, maxsize: int = 10_000) -> AmiSubscription:
        """A queue receiving every event from now on."""
        subscription = AmiSubscription(self, maxsize)
        self._subscriptions.add(subscription)
        return subscription

    def add_reconnect_hook(self, hook: ReconnectHook) -> None:
        """Run ``hook`` after each re-login (not the first), e.g. to re-query channels."""
        self._reconnect_hooks.append(hook)

    # Actions ---------------------------------------------------------------------------

    async def send_action(
        self, action: AmiAction, *, timeout: float | None = None, check: bool = True
    ) -> AmiResponse:
        """Send an action and return its response.

        Raises ``AmiNotConnected``/``AmiConnectionLost`` when it cannot be answered,
        ``AmiActionTimeout`` when no answer comes in time, and (with ``check``)
        ``AmiActionFailed`` on ``Response: Error``.
        """
        response = await self._request(action, timeout=timeout)
        assert isinstance(response, AmiResponse)
        if check and not response.is_success:
            raise AmiActionFailed(action.name, response)
        return response

    async def send_list_action(
        self,
        action: AmiAction,
        *,
        complete_event: str | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> AmiListResult:
        """Send an action whose reply is a list of events closed by a Complete event."""
        result = await self._request(
            action, timeout=timeout, collect_list=True, complete_event=complete_event
        )
        assert isinstance(result, AmiListResult)
        if check and not result.response.is_success:
            raise AmiActionFailed(action.name, result.response)
        return result

    async def ping(self, timeout: float | None = None) -> float:
        """Round-trip time of a Ping, in seconds."""
        started = time.monotonic()
        await self.send_action(make_action("Ping"), timeout=timeout)
        return time.monotonic() - started

    async def setvar(self, channel: str, name: str, value: str) -> None:
        """Set a channel variable (Setvar: Channel, Variable, Value)."""
        await self.send_action(
            make_action("Setvar", {"Channel": channel, "Variable": name, "Value": value})
        )

    async def getvar(self, channel: str, name: str) -> str:
        """Read a channel variable or function; unset reads as "" (manager.c S_OR)."""
        response = await self.send_action(
            make_action("Getvar", {"Channel": channel, "Variable": name})
        )
        return response.get("Value") or ""

    async def redirect(self, channel: str, context: str, exten: str, priority: int = 1) -> None:
        """Send the channel to context,exten,priority (AudioSocket ends with an EOF)."""
        await self.send_action(
            make_action(
                "Redirect",
                {"Channel": channel, "Context": context, "Exten": exten, "Priority": priority},
            )
        )

    async def hangup(self, channel: str, cause: int | None = None) -> None:
        """Hang up a channel, optionally with a Q.850 cause code."""
        await self.send_action(make_action("Hangup", {"Channel": channel, "Cause": cause}))

    async def originate(
        self,
        channel: str,
        *,
        context: str | None = None,
        exten: str | None = None,
        priority: int | None = None,
        application: str | None = None,
        data: str | None = None,
        caller_id: str | None = None,
        timeout_ms: int = 30_000,
        variables: Mapping[str, str] | None = None,
        wait: bool = True,
    ) -> OriginateResult:
        """Asynchronous Originate; with ``wait`` also await its OriginateResponse event."""
        action = make_action(
            "Originate",
            {
                "Channel": channel,
                "Context": context,
                "Exten": exten,
                "Priority": priority,
                "Application": application,
                "Data": data,
                "CallerID": caller_id,
                "Timeout": timeout_ms,
                "Async": "true",
            },
            variables=variables,
        )
        action_id = self._next_id()
        waiter: asyncio.Future[AmiEvent] | None = None
        if wait:
            waiter = asyncio.get_running_loop().create_future()
            self._event_waiters[action_id] = (AmiEventName.ORIGINATE_RESPONSE, waiter)
        try:
            response = await self._request(action, action_id=action_id)
            assert isinstance(response, AmiResponse)
            if not response.is_success:
                raise AmiActionFailed("Originate", response)
            if waiter is None:
                return OriginateResult(response, None)
            limit = timeout_ms / 1000 + self.settings.action_timeout
            try:
                async with asyncio.timeout(limit):
                    event = await waiter
            except TimeoutError:
                raise AmiActionTimeout(
                    f"no OriginateResponse for ActionID {action_id} within {limit:.1f} s"
                ) from None
            return OriginateResult(response, event)
        finally:
            self._event_waiters.pop(action_id, None)
            if waiter is not None and waiter.done() and not waiter.cancelled():
                waiter.exception()  # mark a connection-loss error as seen

    async def core_show_channels(self) -> list[AmiEvent]:
        """Every live channel as a CoreShowChannel event."""
        result = await self.send_list_action(
            make_action("CoreShowChannels"),
            complete_event=AmiEventName.CORE_SHOW_CHANNELS_COMPLETE,
        )
        return list(result.events)

    # Internals -------------------------------------------------------------------------

    def _next_id(self) -> str:
        return f"{self._id_prefix}-{next(self._ids)}"

    async def _request(
        self,
        action: AmiAction,
        *,
        timeout: float | None = None,
        collect_list: bool = False,
        complete_event: str | None = None,
        action_id: str | None = None,
        before_login: bool = False,
    ) -> AmiResponse | AmiListResult:
        writer = self._writer
        if writer is None or (not before_login and not self.connected):
            raise AmiNotConnected(f"AMI not connected: {action.name} not sent")
        action_id = action_id or self._next_id()
        data = encode_action(action, action_id)
        future: asyncio.Future[AmiResponse | AmiListResult] = (
            asyncio.get_running_loop().create_future()
        )
        self._pending[action_id] = _Pending(action.name, future, collect_list, complete_event)
        limit = self.settings.action_timeout if timeout is None else timeout
        try:
            writer.write(data)
            async with asyncio.timeout(limit):
                return await future
        except TimeoutError:
            raise AmiActionTimeout(
                f"AMI action {action.name} (ActionID {action_id}) got no response "
                f"within {limit:.1f} s"
            ) from None
        finally:
            self._pending.pop(action_id, None)

    async def _supervise(self) -> None:
        self._outage.began(time.monotonic())
        while True:
            try:
                await self._connect_once()
            except AmiLoginError as exc:
                self._last_error = exc
                if self.connections_made == 0:
                    _LOGGER.error("AMI login refused: %s", exc)
                    self._first_outcome.set()
                    return
                self._outage.failed(time.monotonic())
                _LOGGER.error("AMI re-login refused: %s; retrying", exc)
            except (OSError, TimeoutError, AmiError, AmiProtocolError) as exc:
                self._last_error = exc
                self._log_failure(exc)
            else:
                # A session ended after a good login: the outage starts now.
                self._outage.began(time.monotonic())
            self.state = AmiState.CONNECTING
            await asyncio.sleep(self._backoff.delay(max(self._outage.failures, 1), random.random()))

    def _log_failure(self, error: BaseException) -> None:
        """WARNING on the 1st, 2nd, 4th… failed attempt: visible, never one per retry."""
        now = time.monotonic()
        if not self._outage.failed(now):
            return
        _LOGGER.warning(
            "AMI %s:%d unreachable (%s): no transfer possible, calls fall back to the "
            "dialplan; down %.0f s, attempt %d, retrying in %.1f s",
            self.settings.host,
            self.settings.port,
            error,
            self._outage.down_for(now),
            self._outage.failures,
            self._backoff.delay(self._outage.failures),
        )

    async def _connect_once(self) -> None:
        """Connect and log in (raising on failure), then serve until the connection ends."""
        settings = self.settings
        async with asyncio.timeout(settings.connect_timeout):
            reader, writer = await asyncio.open_connection(settings.host, settings.port)
            decoder = AmiStreamDecoder()
            while decoder.banner is None:
                chunk = await reader.read(4096)
                if not chunk:
                    writer.close()
                    raise AmiConnectionLost("AMI closed the connection before its banner")
                early = decoder.feed(chunk)
                if early:
                    writer.close()
                    raise AmiProtocolError("AMI sent blocks before its banner")
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self.banner = decoder.banner
        self._writer = writer
        reader_task = asyncio.get_running_loop().create_task(
            self._read_loop(reader, decoder), name="ami reader"
        )
        keepalive: asyncio.Task[None] | None = None
        try:
            await self._login()
            self.connections_made += 1
            reconnected = self.connections_made > 1
            self.state = AmiState.CONNECTED
            self._last_error = None
            self._connected.set()
            self._first_outcome.set()
            failed_attempts = self._outage.failures
            outage_s = self._outage.recovered(time.monotonic())
            if outage_s is not None and (reconnected or failed_attempts):
                _LOGGER.warning(
                    "AMI back at %s:%d after %.1f s without a connection",
                    settings.host,
                    settings.port,
                    outage_s,
                )
            else:
                _LOGGER.info(
                    "AMI logged in at %s:%d (%s)", settings.host, settings.port, self.banner.raw
                )
            if reconnected:
                self._run_reconnect_hooks()
            keepalive = asyncio.get_running_loop().create_task(self._keepalive(), name="ami ping")
            await asyncio.shield(reader_task)
        finally:
            self._connected.clear()
            if keepalive is not None:
                keepalive.cancel()
            if not reader_task.done():
                reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader_task
            self._writer = None
            writer.transport.abort()
            self._fail_pending(AmiConnectionLost("AMI connection lost"))

    async def _login(self) -> None:
        action = make_action(
            "Login",
            {
                "Username": self.settings.username,
                "Secret": self.settings.secret,
                "Events": self.settings.event_mask,
            },
        )
        response = await self._request(
            action, timeout=max(self.settings.action_timeout, 3.0), before_login=True
        )
        assert isinstance(response, AmiResponse)
        if not response.is_success:
            raise AmiLoginError(
                f"AMI login as {self.settings.username!r} refused: {response.message}"
            )

    def _run_reconnect_hooks(self) -> None:
        for hook in self._reconnect_hooks:
            task = asyncio.get_running_loop().create_task(self._run_hook(hook))
            self._hook_tasks.add(task)
            task.add_done_callback(self._hook_tasks.discard)

    async def _run_hook(self, hook: ReconnectHook) -> None:
        try:
            await hook()
        except Exception:
            _LOGGER.exception("AMI reconnect hook %r failed", hook)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self.settings.ping_interval)
            try:
                await self._request(make_action("Ping"), timeout=self.settings.ping_timeout)
            except AmiActionTimeout:
                _LOGGER.warning(
                    "AMI: no Pong within %.1f s, dropping the connection",
                    self.settings.ping_timeout,
                )
                self._drop_transport()
                return
            except AmiConnectionLost:
                return

    def _drop_transport(self) -> None:
        if self._writer is not None:
            self._writer.transport.abort()

    async def _read_loop(self, reader: asyncio.StreamReader, decoder: AmiStreamDecoder) -> None:
        try:
            await self._read_blocks(reader, decoder)
        finally:
            # Fail fast: nothing in flight can be answered on this connection any more.
            self._connected.clear()
            self._fail_pending(AmiConnectionLost("AMI connection lost"))

    async def _read_blocks(self, reader: asyncio.StreamReader, decoder: AmiStreamDecoder) -> None:
        while True:
            try:
                chunk = await reader.read(_READ_CHUNK)
            except OSError as exc:
                _LOGGER.warning("AMI read failed: %s", exc)
                return
            if not chunk:
                log = _LOGGER.info if self._closing else _LOGGER.warning
                log("AMI connection closed by Asterisk")
                return
            try:
                blocks = decoder.feed(chunk)
            except AmiProtocolError as exc:
                _LOGGER.error("AMI stream corrupt, reconnecting: %s", exc)
                return
            for block in blocks:
                if isinstance(block, AmiMalformedBlock):
                    _LOGGER.warning("AMI: skipping block (%s): %r", block.reason, block.raw[:200])
                elif isinstance(block, AmiResponse):
                    # Responses skip the event queue: a transfer's Setvar is answered at
                    # once even while thousands of events wait to be dispatched.
                    self._on_response(block)
                else:
                    # Waits while the queue is full: the socket is then not read, and TCP
                    # slows Asterisk down instead of this process buffering without end.
                    await self._events.put(block)
            # A flood keeps the socket readable, so read() would never suspend: yield
            # after every chunk so calls' audio keeps its 20 ms clock.
            await asyncio.sleep(0)

    async def _dispatch_events(self) -> None:
        """Hand queued events to listeners in order, within a share of the event loop.

        Events are dispatched in slices of at most ``event_slice_s`` of work; after a
        slice cut short by a backlog the task pauses long enough that the slices use at
        most ``event_cpu_share`` of the time. Light traffic is dispatched at once.
        """
        settings = self.settings
        rest = (1.0 - settings.event_cpu_share) / settings.event_cpu_share
        queue = self._events
        while True:
            event = await queue.get()
            started = time.perf_counter()
            self._on_event(event)
            handled = 1
            while not queue.empty() and time.perf_counter() - started < settings.event_slice_s:
                self._on_event(queue.get_nowait())
                handled += 1
            self.events_dispatched += handled
            if not queue.empty():
                self.dispatch_pauses += 1
                await asyncio.sleep((time.perf_counter() - started) * rest)

    def _on_response(self, response: AmiResponse) -> None:
        pending = self._pending.get(response.action_id or "")
        if pending is None or pending.future.done():
            _LOGGER.debug("AMI: response for unknown ActionID %s", response.action_id)
            return
        if pending.collect_list and response.is_success:
            pending.response = response
            return
        if pending.collect_list:
            pending.future.set_result(AmiListResult(response, (), None))
        else:
            pending.future.set_result(response)

    def _on_event(self, event: AmiEvent) -> None:
        action_id = event.action_id
        if action_id is not None:
            pending = self._pending.get(action_id)
            if pending is not None and pending.collect_list and pending.response is not None:
                done = event.completes_list or (
                    pending.complete_event is not None and event.is_named(pending.complete_event)
                )
                if done:
                    if not pending.future.done():
                        pending.future.set_result(
                            AmiListResult(pending.response, tuple(pending.events), event)
                        )
                else:
                    pending.events.append(event)
                return
            waiter = self._event_waiters.get(action_id)
            if waiter is not None and event.is_named(waiter[0]) and not waiter[1].done():
                waiter[1].set_result(event)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                _LOGGER.exception("AMI event listener failed on %s", event.name)
        for subscription in list(self._subscriptions):
            subscription._push(event)

    def _fail_pending(self, error: AmiConnectionLost) -> None:
        for action_id, pending in list(self._pending.items()):
            if not pending.future.done():
                pending.future.set_exception(
                    AmiConnectionLost(f"{error}: {pending.name} (ActionID {action_id}) unanswered")
                )
        for action_id, (name, waiter) in list(self._event_waiters.items()):
            if not waiter.done():
                waiter.set_exception(AmiConnectionLost(f"{error}: no {name} for {action_id}"))
