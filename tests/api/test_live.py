"""Live events: in-process and Redis buses, the transfers board, and the SSE stream."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from tests.api.conftest import Api
from tests.api.server import serve
from tests.support import live_events
from tests.support.live_events import ended, started, turn
from voicebot.api.board import LiveCallBoard
from voicebot.api.live import InProcessLiveEventBus, RedisLiveEventBus
from voicebot.app import create_app
from voicebot.calllog.rows import utc_now
from voicebot.live.events import (
    CallEndedEvent,
    CallStartedEvent,
    LiveEventError,
    TransferDecidedEvent,
    TransferEvent,
    TurnEvent,
    call_key,
    decode_event,
    encode_event,
    public_event,
)
from voicebot.records import TransferReason

REDIS_URL = os.environ.get("VOICEBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _transfer(call_id: str = "call-1") -> TransferEvent | TransferDecidedEvent:
    return live_events.transfer(call_id)


async def test_in_process_bus_delivers_to_every_subscriber_from_any_thread() -> None:
    bus = InProcessLiveEventBus()
    async with bus.subscribe() as first, bus.subscribe() as second:
        thread = threading.Thread(target=bus.publish, args=(_transfer(),))
        thread.start()
        thread.join(timeout=5.0)
        for subscription in (first, second):
            event = await subscription.get(timeout=5.0)
            assert isinstance(event, TransferEvent) and event.department == "population"
        assert await first.get(timeout=0.05) is None
    bus.publish(_transfer())  # nobody listens any more: nothing to do, nothing raised
    assert bus.dropped == 0


async def test_slow_subscriber_loses_the_oldest_events_only() -> None:
    bus = InProcessLiveEventBus()
    async with bus.subscribe() as subscription:
        for index in range(1005):
            bus.publish(turn("c", "", index=index))
        await asyncio.sleep(0.05)  # let the loop run the deliveries
        first = await subscription.get(timeout=1.0)
        assert isinstance(first, TurnEvent) and first.index == 5
    assert bus.dropped == 5


def test_bad_events_are_refused_with_a_clear_error() -> None:
    bus = InProcessLiveEventBus()
    with pytest.raises(LiveEventError, match="turn event without a call id"):
        bus.publish(turn("", "bonjour"))
    with pytest.raises(LiveEventError, match="not a call event: dict"):
        bus.publish({"type": "turn", "call_id": "c"})  # type: ignore[arg-type]
    with pytest.raises(LiveEventError, match="larger than"):
        bus.publish(turn("c", "x" * 70_000))


def test_events_read_back_as_they_were_sent_and_bad_text_says_what_is_wrong() -> None:
    sent = live_events.transfer(
        "rt-1", decided=True, target="operator", reason=TransferReason.BUSY, utterances=("a",)
    )
    assert decode_event(encode_event(sent)) == sent
    timed = TurnEvent("rt-2", utc_now(), 3, "fr", "population", "transfer", "carte", None, 0.8)
    assert decode_event(encode_event(timed)) == timed
    with pytest.raises(LiveEventError, match="type 'mystery' is not one of call_started"):
        decode_event('{"type": "mystery", "call_id": "z"}')
    with pytest.raises(LiveEventError, match="'call_started', field 'language'"):
        decode_event('{"type": "call_started", "call_id": "z", "at": "2026-12-06T10:00:00Z"}')
    with pytest.raises(LiveEventError, match="field 'reason'"):
        decode_event(encode_event(sent).replace('"busy"', '"bored"'))
    with pytest.raises(LiveEventError, match="not JSON"):
        decode_event("{")


def test_what_staff_get_carries_the_call_key_never_the_uuid() -> None:
    uuid_text = "0b7c6a0e-8a59-4c8e-9a4f-2f0c3d8e1f11"
    public = public_event(CallStartedEvent(uuid_text, utc_now(), "fr"))
    assert public["call_key"] == call_key(uuid_text) != uuid_text
    assert uuid_text not in json.dumps(public)


def test_board_keeps_transferred_calls_with_what_the_caller_said() -> None:
    now = [0.0]
    board = LiveCallBoard(transfer_ttl_s=600, clock=lambda: now[0])
    board.apply(started("a"))
    board.apply(turn("a", "bonjour"))
    board.apply(turn("a", "je dois renouveler ma carte d'identité"))
    board.apply(started("b", "en"))
    assert board.active_calls() == 2
    board.apply(_transfer("a"))
    board.apply(ended("a"))
    [transferred] = board.transfers()
    assert transferred.call_id == "a" and transferred.department == "population"
    assert transferred.utterances == ("bonjour", "je dois renouveler ma carte d'identité")
    assert transferred.ended and transferred.outcome == "transferred"
    assert board.active_calls() == 1
    now[0] = 601.0
    assert board.transfers() == []


def test_a_card_appears_at_the_decision_and_follows_a_busy_fallback() -> None:
    board = LiveCallBoard()
    board.apply(started("a"))
    board.apply(live_events.transfer("a", decided=True, utterances=("carte",)))
    [decided] = board.transfers()
    assert (decided.target, decided.reason, decided.sent) == ("population", "routed", False)
    board.apply(live_events.transfer("a", utterances=("carte",)))
    assert board.transfers() == [dataclasses.replace(decided, sent=True)]
    busy = live_events.transfer(
        "a", decided=True, target="operator", reason=TransferReason.BUSY, extension="1000"
    )
    board.apply(busy)
    [fallback] = board.transfers()
    assert (fallback.target, fallback.reason, fallback.department) == (
        "operator",
        TransferReason.BUSY,
        "population",
    )
    assert fallback.card_key == call_key("a") and not fallback.sent


def _redis_available() -> bool:
    address = urlparse(REDIS_URL)
    try:
        with socket.create_connection((address.hostname or "127.0.0.1", address.port or 6379), 1.0):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_buses() -> Iterator[tuple[RedisLiveEventBus, RedisLiveEventBus]]:
    if not _redis_available():
        pytest.skip(f"no Redis server at {REDIS_URL} (set VOICEBOT_TEST_REDIS_URL)")
    channel = f"voicebot-test:{uuid.uuid4().hex}"
    first, second = RedisLiveEventBus(REDIS_URL, channel), RedisLiveEventBus(REDIS_URL, channel)
    yield first, second
    first.close()
    second.close()


async def test_redis_bus_reaches_subscribers_of_another_worker(
    redis_buses: tuple[RedisLiveEventBus, RedisLiveEventBus],
) -> None:
    worker_a, worker_b = redis_buses
    async with worker_a.subscribe() as on_a, worker_b.subscribe() as on_b:
        worker_a.publish(_transfer("from-a"))
        assert worker_a.flush(5.0)
        for subscription in (on_a, on_b):
            event = await subscription.get(timeout=5.0)
            assert event is not None and event.call_id == "from-a"
        # Published from a thread without an event loop, as the call path may do.
        thread = threading.Thread(target=worker_b.publish, args=(ended("from-b"),))
        thread.start()
        thread.join(timeout=5.0)
        event = await on_a.get(timeout=5.0)
        assert isinstance(event, CallEndedEvent) and event.call_id == "from-b"
    assert worker_a.dropped == worker_b.dropped == 0


def test_redis_bus_drops_events_when_redis_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    bus = RedisLiveEventBus(f"redis://127.0.0.1:{port}/0")
    try:
        bus.publish(_transfer())
        assert bus.flush(10.0)
        assert bus.dropped == 1
    finally:
        bus.close()


# ---------------------------------------------------------------------- HTTP


def _sse_events(
    response: httpx.Response, count: int, deadline_s: float
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Parse ``count`` SSE messages (keep-alive comments skipped)."""
    deadline = time.monotonic() + deadline_s
    name, seen = "message", 0
    for line in response.iter_lines():
        assert time.monotonic() < deadline, "SSE events did not arrive in time"
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            yield name, json.loads(line[6:])
            seen += 1
            if seen == count:
                return


def test_sse_stream_sends_published_events(api: Api) -> None:
    # Its own app and board: the module's TestClient app feeds the shared board already.
    app = create_app(dataclasses.replace(api.services, board=LiveCallBoard()))
    with serve(app) as base, httpx.Client(base_url=base, timeout=5.0) as client:
        assert client.get("/api/live").status_code == 401
        with client.stream("GET", "/api/live", headers=api.as_role("operator")) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = _sse_events(response, 4, deadline_s=10.0)
            assert next(events) == ("ready", {})
            api.services.live_bus.publish(started("sse-1"))
            api.services.live_bus.publish(_transfer("sse-1"))
            api.services.live_bus.publish(ended("sse-1"))
            received = list(events)
    assert [name for name, _ in received] == ["call_started", "transfer", "call_ended"]
    assert received[1][1]["summary"] == "renouveler une carte d'identité"
    assert all(data["call_key"] == call_key("sse-1") for _, data in received)
    assert all("call_id" not in data for _, data in received)


def test_transfers_endpoint_shows_the_board_fed_by_the_bus(api: Api) -> None:
    api.services.live_bus.publish(started("board-1"))
    api.services.live_bus.publish(turn("board-1", "passeport"))
    api.services.live_bus.publish(_transfer("board-1"))
    key = call_key("board-1")
    deadline = time.monotonic() + 5.0
    while True:
        body = api.client.get("/api/live/transfers", headers=api.as_role("operator")).json()
        if any(item["card_key"] == key for item in body["data"]):
            break
        assert time.monotonic() < deadline, "the board did not receive the transfer"
        time.sleep(0.02)
    item = next(item for item in body["data"] if item["card_key"] == key)
    assert "call_id" not in item
    assert item["utterances"] == ["passeport"] and item["department"] == "population"
    assert item["ended"] is False and body["count"] == len(body["data"])


def test_an_open_stream_ends_when_its_key_is_revoked(api: Api) -> None:
    app = create_app(dataclasses.replace(api.services, board=LiveCallBoard()))
    created = api.client.post(
        "/api/keys", headers=api.as_role("admin"), json={"name": "wallboard", "role": "operator"}
    ).json()
    with serve(app) as base, httpx.Client(base_url=base, timeout=5.0) as client:
        headers = {"X-API-Key": created["key"]}
        with client.stream("GET", "/api/live", headers=headers) as response:
            events = _sse_events(response, 4, deadline_s=10.0)
            assert next(events) == ("ready", {})
            api.services.live_bus.publish(started("before-revoke"))
            assert next(events)[1]["call_key"] == call_key("before-revoke")
            api.client.post(f"/api/keys/{created['id']}/revoke", headers=api.as_role("admin"))
            # Within the recheck period (0.2 s here, 5 s by default) the stream says why it
            # ends, and the server closes it: nothing more reaches a revoked key.
            last = next(events)
            assert last == ("session_ended", {"type": "session_ended", "reason": "revoked"})
            api.services.live_bus.publish(started("after-revoke"))
            assert next(events, None) is None
