"""Live call events for the operator console (Server-Sent Events) and recent transfers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from voicebot.api.deps import AUTH_RESPONSES, OperatorKey, ServicesDep, access_probe
from voicebot.api.models import TransferredCallPublic, TransferredCallsPublic
from voicebot.api.sse import event_stream_response
from voicebot.api.transfers import todays_transfers
from voicebot.calllog.models import ApiRole

router = APIRouter(prefix="/live", tags=["live"], responses=AUTH_RESPONSES)

SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "`text/event-stream`: first `event: ready` once subscribed, then one message per "
            "call event (`event:` call_started | turn | transfer_decided | transfer | "
            "callback_requested | call_ended, `data:` the event as JSON with at least type, "
            "call_key (the call's opaque key; its UUID is never sent) and at), `: keepalive` "
            "comments, and a last `event: session_ended` (data: reason) when the key or "
            "session stops working."
        ),
        "content": {
            "text/event-stream": {
                "example": 'event: transfer_decided\ndata: {"type": "transfer_decided", '
                '"call_key": "c_5d41402abc4b2a76b9719d91", "target": "operator", '
                '"reason": "busy", "department": "population", '
                '"summary": "renouveler sa carte d\'identité"}\n\n'
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
async def live_events(
    services: ServicesDep, key: OperatorKey, request: Request
) -> StreamingResponse:
    """Server-Sent Events of every call handled by the assistant (all worker processes when
    Redis is configured). The stream ends with ``event: session_ended`` once the key is
    revoked or the session ends."""
    probe = access_probe(services, request, key, (ApiRole.OPERATOR,))
    return event_stream_response(services.live_bus, probe=probe, recheck_s=services.live_recheck_s)


@router.get("/transfers", summary="Calls transferred today", response_model=TransferredCallsPublic)
def transferred_calls(services: ServicesDep, _key: OperatorKey) -> TransferredCallsPublic:
    """Calls put through to a person since midnight (city time), newest first, with why and
    the summary: those in progress from the live events, the others from the call log."""
    items = todays_transfers(services)
    return TransferredCallsPublic(
        data=[TransferredCallPublic.model_validate(item) for item in items],
        count=len(items),
        active_calls=services.board.active_calls(),
    )
