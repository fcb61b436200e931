"""The callback queue: requests callers left for the operators."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Path, Query

from voicebot.api.deps import AUTH_RESPONSES, MAX_SQL_INT, OperatorKey, ServicesDep, not_found
from voicebot.api.models import CallbackPublic, CallbacksPublic
from voicebot.calllog.models import CallbackStatus
from voicebot.calllog.repository import MAX_PAGE_SIZE, CallbackNotFoundError

router = APIRouter(prefix="/callbacks", tags=["callbacks"], responses=AUTH_RESPONSES)


class CallbackFilter(StrEnum):
    """Which callback requests to list."""

    PENDING = "pending"
    DONE = "done"
    ALL = "all"


@router.get("", summary="List callback requests", response_model=CallbacksPublic)
def list_callbacks(
    services: ServicesDep,
    _key: OperatorKey,
    status: CallbackFilter = CallbackFilter.PENDING,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
) -> CallbacksPublic:
    """Oldest first; ``count`` is how many requests have this status in total."""
    wanted = None if status is CallbackFilter.ALL else CallbackStatus(status.value)
    items = services.repository.list_callbacks(wanted, limit=limit, offset=offset)
    return CallbacksPublic(
        data=[CallbackPublic.model_validate(item) for item in items],
        count=services.repository.count_callbacks(wanted),
    )


@router.post(
    "/{callback_id}/done",
    summary="Mark a callback request done",
    response_model=CallbackPublic,
    responses={404: {"description": "No callback request has this id."}},
)
def mark_done(
    services: ServicesDep,
    key: OperatorKey,
    callback_id: Annotated[int, Path(le=MAX_SQL_INT, ge=-MAX_SQL_INT)],
) -> CallbackPublic:
    """Idempotent: a request already done is returned unchanged."""
    try:
        view = services.repository.mark_callback_done(callback_id, done_by=key.name)
    except CallbackNotFoundError as error:
        not_found(str(error))
    return CallbackPublic.model_validate(view)
