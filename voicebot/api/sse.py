"""Server-Sent Events framing of live events, shared by the API and the console page."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse

from voicebot.api.live import Event, LiveEventBus

KEEPALIVE_S = 15.0
RETRY_MS = 3000
_EVENT_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


def format_event(event: Event) -> str:
    """One SSE message: ``event:`` is the event type, ``data:`` the JSON object."""
    kind = event.get("type")
    name = kind if isinstance(kind, str) and _EVENT_NAME.fullmatch(kind) else "message"
    # json.dumps escapes newlines inside strings, so the data is a single line.
    return f"event: {name}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


async def event_stream(
    bus: LiveEventBus, *, keepalive_s: float = KEEPALIVE_S
) -> AsyncIterator[str]:
    """Subscribe, send ``ready`` once listening, then every event and periodic keep-alives."""
    async with bus.subscribe() as subscription:
        yield f"retry: {RETRY_MS}\nevent: ready\ndata: {{}}\n\n"
        while True:
            event = await subscription.get(timeout=keepalive_s)
            # A comment line keeps proxies from closing an idle stream and reveals
            # a vanished client at the next write.
            yield ": keepalive\n\n" if event is None else format_event(event)


def event_stream_response(
    bus: LiveEventBus, *, keepalive_s: float = KEEPALIVE_S
) -> StreamingResponse:
    """A ``text/event-stream`` response of the bus's events."""
    return StreamingResponse(
        event_stream(bus, keepalive_s=keepalive_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
