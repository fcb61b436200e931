"""The live bus: call events from the call sessions to the console, in-process or via Redis.

The call path calls :meth:`LiveEventBus.publish` from any thread or event loop; it never
blocks and never raises for a slow or absent subscriber (events are dropped instead, and
counted). Subscribers are async: ``async with bus.subscribe() as events: ...``. Events are
the typed :data:`~voicebot.live.events.CallEvent` both ways; between processes they travel
as :func:`~voicebot.live.events.encode_event` JSON. Live events are best-effort: the call
log in the database is the record of what happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Protocol, Self

import redis
import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from voicebot.live.events import CallEvent, LiveEventError, decode_event, encode_event

_LOGGER = logging.getLogger(__name__)

DEFAULT_CHANNEL = "voicebot:live"
SUBSCRIBER_QUEUE_SIZE = 1000
PUBLISH_QUEUE_SIZE = 10_000


class LiveSubscription(Protocol):
    """A stream of events; use as ``async with`` and ``async for`` (or :meth:`get`)."""

    async def __aenter__(self) -> Self:
        """Start listening: events published after this returns are delivered."""
        ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop listening."""
        ...

    def __aiter__(self) -> AsyncIterator[CallEvent]:
        """Iterate over events as they come."""
        ...

    async def get(self, timeout: float | None = None) -> CallEvent | None:
        """The next event, or None after ``timeout`` seconds without one."""
        ...


class LiveEventBus(Protocol):
    """Publish from the call path, subscribe from the console."""

    @property
    def dropped(self) -> int:
        """Events dropped so far (full queues, unreachable broker)."""
        ...

    def publish(self, event: CallEvent) -> None:
        """Send an event to every subscriber; thread-safe and non-blocking."""
        ...

    def subscribe(self) -> LiveSubscription:
        """A new subscription (start it with ``async with``)."""
        ...

    def close(self) -> None:
        """Release threads and connections; publishing afterwards drops events."""
        ...


class _QueueSubscription:
    """Events handed over by the in-process bus through an asyncio queue."""

    def __init__(self, bus: InProcessLiveEventBus) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[str] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> Self:
        self._start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._bus._remove(self)

    def _start(self) -> None:
        if self._queue is None:
            self._loop = asyncio.get_running_loop()
            self._queue = asyncio.Queue(maxsize=SUBSCRIBER_QUEUE_SIZE)
            self._bus._add(self)

    def _offer(self, text: str) -> None:
        """Runs on the subscriber's loop: enqueue, dropping the oldest event when full."""
        assert self._queue is not None
        if self._queue.full():
            self._queue.get_nowait()
            self._bus._count_drop()
        self._queue.put_nowait(text)

    def _deliver(self, text: str) -> bool:
        """Called from any thread; False if the subscriber's loop is gone."""
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self._offer, text)
        except RuntimeError:
            return False
        return True

    async def get(self, timeout: float | None = None) -> CallEvent | None:
        self._start()
        assert self._queue is not None
        try:
            async with asyncio.timeout(timeout):
                text = await self._queue.get()
        except TimeoutError:
            return None
        return decode_event(text)

    async def __aiter__(self) -> AsyncIterator[CallEvent]:
        while True:
            event = await self.get()
            if event is not None:
                yield event


class InProcessLiveEventBus:
    """Delivers events to subscribers of this process only (one worker)."""

    def __init__(self) -> None:
        self._subscribers: set[_QueueSubscription] = set()
        self._lock = threading.Lock()
        self._dropped = 0
        self._closed = False

    @property
    def dropped(self) -> int:
        """Events dropped because a subscriber's queue was full."""
        return self._dropped

    def _count_drop(self) -> None:
        with self._lock:
            self._dropped += 1

    def _add(self, subscription: _QueueSubscription) -> None:
        with self._lock:
            self._subscribers.add(subscription)

    def _remove(self, subscription: _QueueSubscription) -> None:
        with self._lock:
            self._subscribers.discard(subscription)

    def publish(self, event: CallEvent) -> None:
        """Send ``event`` to every current subscriber (raises :class:`LiveEventError`)."""
        self.deliver(encode_event(event))

    def deliver(self, text: str) -> None:
        """Hand already-encoded event JSON to every subscriber."""
        if self._closed:
            self._count_drop()
            return
        with self._lock:
            subscribers = list(self._subscribers)
        for subscription in subscribers:
            if not subscription._deliver(text):
                self._remove(subscription)

    def subscribe(self) -> _QueueSubscription:
        """A subscription to this bus."""
        return _QueueSubscription(self)

    def close(self) -> None:
        """Stop delivering."""
        self._closed = True
        with self._lock:
            self._subscribers.clear()


class _RedisSubscription:
    """One Redis pub/sub connection feeding one subscriber; reconnects after a failure."""

    def __init__(self, url: str, channel: str, retry_s: float) -> None:
        self._url = url
        self._channel = channel
        self._retry_s = retry_s
        self._client: aioredis.Redis | None = None
        self._pubsub: PubSub | None = None

    async def __aenter__(self) -> Self:
        await self._connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._disconnect()

    async def _connect(self) -> None:
        # No socket timeout: an idle channel is normal; only connecting is bounded.
        self._client = aioredis.Redis.from_url(self._url, socket_connect_timeout=5.0)
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=False)
        await self._pubsub.subscribe(self._channel)
        # Wait for the confirmation: from then on, every publish reaches this connection.
        while True:
            message = await self._pubsub.get_message(timeout=5.0)
            if message is None:
                raise redis.ConnectionError(f"no SUBSCRIBE confirmation on {self._channel!r}")
            if message["type"] == "subscribe":
                return

    async def _disconnect(self) -> None:
        pubsub, client = self._pubsub, self._client
        self._pubsub = self._client = None
        if pubsub is not None:
            with contextlib.suppress(redis.RedisError, OSError):
                await pubsub.aclose()
        if client is not None:
            with contextlib.suppress(redis.RedisError, OSError):
                await client.aclose()

    async def get(self, timeout: float | None = None) -> CallEvent | None:
        try:
            async with asyncio.timeout(timeout):
                while True:
                    try:
                        if self._pubsub is None:
                            await self._connect()
                        assert self._pubsub is not None
                        message = await self._pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=None
                        )
                    except (redis.RedisError, OSError) as error:
                        _LOGGER.warning(
                            "live events: Redis subscription lost (%s); retrying in %.1f s",
                            error,
                            self._retry_s,
                        )
                        await self._disconnect()
                        await asyncio.sleep(self._retry_s)
                        continue
                    if message is None or message.get("type") != "message":
                        continue
                    try:
                        return decode_event(message["data"])
                    except LiveEventError as error:
                        # Another version of voicebot, or something else on the channel.
                        _LOGGER.warning("live events: ignored a message on Redis: %s", error)
                        continue
        except TimeoutError:
            return None

    async def __aiter__(self) -> AsyncIterator[CallEvent]:
        while True:
            event = await self.get()
            if event is not None:
                yield event


class RedisLiveEventBus:
    """Events through Redis pub/sub, so every worker process sees every call's events.

    Publishing goes through a bounded queue to one background thread with a synchronous
    Redis client (``publish`` may be called from threads that have no event loop); each
    subscription holds its own ``redis.asyncio`` pub/sub connection.
    """

    def __init__(self, url: str, channel: str = DEFAULT_CHANNEL, *, retry_s: float = 1.0) -> None:
        if not url:
            raise ValueError("RedisLiveEventBus needs a Redis URL (redis://host:port/db)")
        self.url = url
        self.channel = channel
        self._retry_s = retry_s
        self._client = redis.Redis.from_url(url, socket_timeout=5.0, socket_connect_timeout=5.0)
        self._queue: queue.Queue[str | None] = queue.Queue(maxsize=PUBLISH_QUEUE_SIZE)
        self._dropped = 0
        self._drop_lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="live-events-redis", daemon=True)
        self._thread.start()

    @property
    def dropped(self) -> int:
        """Events dropped (publish queue full, Redis unreachable, or bus closed)."""
        return self._dropped

    def _count_drop(self) -> None:
        with self._drop_lock:
            self._dropped += 1

    def publish(self, event: CallEvent) -> None:
        """Queue ``event`` for Redis (raises :class:`LiveEventError` for a bad event)."""
        text = encode_event(event)
        if self._closed:
            self._count_drop()
            return
        try:
            self._queue.put_nowait(text)
        except queue.Full:
            self._count_drop()

    def _run(self) -> None:
        failing = False
        while True:
            text = self._queue.get()
            try:
                if text is None:
                    return
                self._client.publish(self.channel, text)
            except (redis.RedisError, OSError) as error:
                # A live event is worthless a few seconds later: drop it, do not retry.
                self._count_drop()
                if not failing:
                    _LOGGER.warning("live events: cannot publish to Redis (%s)", error)
                failing = True
            else:
                if failing:
                    _LOGGER.info("live events: Redis reachable again")
                failing = False
            finally:
                self._queue.task_done()

    def subscribe(self) -> _RedisSubscription:
        """A subscription with its own Redis connection."""
        return _RedisSubscription(self.url, self.channel, self._retry_s)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued event was handed to Redis (or dropped); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    def close(self) -> None:
        """Stop the publisher thread (after sending what is queued) and close the client."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=1.0)
        self._thread.join(timeout=5.0)
        self._client.close()


def create_live_bus(redis_url: str) -> LiveEventBus:
    """The Redis bus when a URL is configured, else the in-process bus."""
    if redis_url:
        return RedisLiveEventBus(redis_url)
    return InProcessLiveEventBus()
