"""Server-Sent Events framing of live events, shared by the API and the console page."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi.responses import StreamingResponse

from voicebot.api.live import LiveEventBus
from voicebot.live.events import CallEvent, public_event

_LOGGER = logging.getLogger(__name__)

KEEPALIVE_S = 15.0
RECHECK_S = 5.0
"""How often an open stream checks that its session or key still works."""
RETRY_MS = 3000
_EVENT_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


def sse_message(name: str, data: dict[str, Any]) -> str:
    """One SSE message: ``event: name``, ``data:`` the JSON object on one line."""
    if not _EVENT_NAME.fullmatch(name):
        raise ValueError(f"SSE event name {name!r}: lowercase letters, digits and _")
    # json.dumps escapes newlines inside strings, so the data is a single line.
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def format_event(event: CallEvent) -> str:
    """A call event as staff get it: its type, and :func:`public_event` (no UUID)."""
    return sse_message(str(event.type), public_event(event))


EventFormatter = Callable[[CallEvent], str | None]
"""Turns a call event into SSE text, or None to send nothing for it."""


AccessProbe = Callable[[], Awaitable[str | None]]
"""Returns None while the stream's session or key still works, else why it ended."""


def ended_event(reason: str) -> str:
    """The last message of a stream whose session or key stopped working."""
    data = json.dumps({"type": "session_ended", "reason": reason})
    return f"event: session_ended\ndata: {data}\n\n"


async def event_stream(
    bus: LiveEventBus,
    *,
    keepalive_s: float = KEEPALIVE_S,
    probe: AccessProbe | None = None,
    recheck_s: float = RECHECK_S,
    formatter: EventFormatter = format_event,
) -> AsyncIterator[str]:
    """Subscribe, send ``ready`` once listening, then every event and periodic keep-alives.

    With ``probe``, access is checked again every ``recheck_s``: a revoked key or an ended
    session gets a final ``session_ended`` message and the stream stops (already-open
    streams must not outlive the right to read them). ``formatter`` writes each event
    (the console sends its cards ready to insert).
    """
    async with bus.subscribe() as subscription:
        yield f"retry: {RETRY_MS}\nevent: ready\ndata: {{}}\n\n"
        wait = min(keepalive_s, recheck_s) if probe is not None else keepalive_s
        next_check = time.monotonic() + recheck_s
        while True:
            event = await subscription.get(timeout=wait)
            if probe is not None and time.monotonic() >= next_check:
                reason = await probe()
                if reason is not None:
                    yield ended_event(reason)
                    return
                next_check = time.monotonic() + recheck_s
            if event is None:
                # A comment line keeps proxies from closing an idle stream and reveals
                # a vanished client at the next write.
                yield ": keepalive\n\n"
                continue
            try:
                text = formatter(event)
            except Exception:
                # One event that cannot be shown must not end the reader's stream.
                _LOGGER.exception("live events: cannot format a %s event", event.type)
                continue
            if text is not None:
                yield text


def event_stream_response(
    bus: LiveEventBus,
    *,
    keepalive_s: float = KEEPALIVE_S,
    probe: AccessProbe | None = None,
    recheck_s: float = RECHECK_S,
    formatter: EventFormatter = format_event,
) -> StreamingResponse:
    """A ``text/event-stream`` response of the bus's events."""
    return StreamingResponse(
        event_stream(
            bus, keepalive_s=keepalive_s, probe=probe, recheck_s=recheck_s, formatter=formatter
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
