"""Live call events for the operator console (Server-Sent Events) and recent transfers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from voicebot.api.deps import AUTH_RESPONSES, OperatorKey, ServicesDep
from voicebot.api.models import TransferredCallPublic, TransferredCallsPublic
from voicebot.api.sse import event_stream_response

router = APIRouter(prefix="/live", tags=["live"], responses=AUTH_RESPONSES)

SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "`text/event-stream`: first `event: ready` once subscribed, then one message per "
            "call event (`event:` call_started | turn | transfer | call_ended, `data:` the "
            "event as JSON with at least type, call_id and at), and `: keepalive` comments."
        ),
        "content": {
            "text/event-stream": {
                "example": 'event: transfer\ndata: {"type": "transfer", "call_id": "…", '
                '"department": "population", "summary": "renouveler sa carte d\'identité"}\n\n'
            }
        },
    }
}


@router.get(
    "",
    summary="Stream of live call events",
    response_class=StreamingResponse,
    responses=SSE_RESPONSE,
)
async def live_events(services: ServicesDep, _key: OperatorKey) -> StreamingResponse:
    """Server-Sent Events of every call handled by the assistant (all worker processes when
    Redis is configured)."""
    return event_stream_response(services.live_bus)


@router.get(
    "/transfers", summary="Calls transferred recently", response_model=TransferredCallsPublic
)
def transferred_calls(services: ServicesDep, _key: OperatorKey) -> TransferredCallsPublic:
    """Calls put through to a person in the last minutes (newest first), with the summary."""
    items = services.board.transfers()
    return TransferredCallsPublic(
        data=[TransferredCallPublic.model_validate(item) for item in items],
        count=len(items),
        active_calls=services.board.active_calls(),
    )
