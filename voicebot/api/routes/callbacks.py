"""The callback queue: requests callers left for the operators, and what operators did."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status

from voicebot.accounts.principal import Principal
from voicebot.api.deps import AUTH_RESPONSES, MAX_SQL_INT, OperatorKey, ServicesDep, not_found
from voicebot.api.models import CallbackPublic, CallbacksPublic
from voicebot.api.models_staff import (
    CallbackChangePublic,
    CallbackHistoryPublic,
    CallbackStatePublic,
    CallbackStatusChange,
)
from voicebot.api.services import ApiServices
from voicebot.calllog.callbacks import (
    MAX_KEY_LENGTH,
    CallbackQueue,
    CallbackState,
    CallbackStateError,
    NothingToUndoError,
)
from voicebot.calllog.models import OPEN_CALLBACK_STATUSES, CallbackStatus
from voicebot.calllog.repository import MAX_PAGE_SIZE, CallbackNotFoundError

router = APIRouter(prefix="/callbacks", tags=["callbacks"], responses=AUTH_RESPONSES)

OPERATOR_DESK = "operator"
"""``department=operator``: requests for the operator desk (no department)."""
KEY_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No callback request has this key."},
    409: {"description": "The change does not apply (e.g. already closed: undo first)."},
}
CallbackKey = Annotated[
    str,
    Path(
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        description="`callback_key` of the request (from the list or the live event).",
    ),
]


class CallbackFilter(StrEnum):
    """Which callback requests to list."""

    OPEN = "open"
    """To do and no answer (to try again): what operators work on."""
    PENDING = "pending"
    NO_ANSWER = "no_answer"
    CALLED_BACK = "called_back"
    DONE = "done"
    CLOSED = "closed"
    """Called back or done."""
    ALL = "all"


def _statuses(wanted: CallbackFilter) -> list[CallbackStatus] | None:
    if wanted is CallbackFilter.ALL:
        return None
    if wanted is CallbackFilter.OPEN:
        return sorted(OPEN_CALLBACK_STATUSES)
    if wanted is CallbackFilter.CLOSED:
        return [CallbackStatus.CALLED_BACK, CallbackStatus.DONE]
    return [CallbackStatus(wanted.value)]


@router.get("", summary="List callback requests", response_model=CallbacksPublic)
def list_callbacks(
    services: ServicesDep,
    _key: OperatorKey,
    status: CallbackFilter = CallbackFilter.PENDING,
    department: Annotated[
        list[str] | None,
        Query(
            max_length=50,
            description=f"Only these departments (`{OPERATOR_DESK}`: the operator desk).",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
) -> CallbacksPublic:
    """Oldest first; ``count`` is how many requests match in total."""
    wanted = _statuses(status)
    departments = (
        None
        if department is None
        else [None if d == OPERATOR_DESK else d for d in department if "\x00" not in d]
    )
    items = services.repository.list_callbacks(
        wanted, departments=departments, limit=limit, offset=offset
    )
    return CallbacksPublic(
        data=[CallbackPublic.model_validate(item) for item in items],
        count=services.repository.count_callbacks(wanted, departments=departments),
    )


def _known(services: ApiServices, key: str) -> None:
    """404 unless the request was stored or announced live: no history for made-up keys."""
    if services.board.announced_callback(key) is None and (
        services.repository.get_callback(key) is None
    ):
        not_found(f"no callback request with key {key!r}")


def _state(state: CallbackState) -> CallbackStatePublic:
    return CallbackStatePublic.model_validate(state)


@router.post(
    "/{callback_key}/status",
    summary="Record the outcome of a call back",
    response_model=CallbackStatePublic,
    responses=KEY_RESPONSES,
)
def set_status(
    services: ServicesDep, key: OperatorKey, callback_key: CallbackKey, body: CallbackStatusChange
) -> CallbackStatePublic:
    """``no_answer`` (stays to do, one more attempt), ``called_back`` or ``done``; works
    while the call is still going on. Closing a closed request changes nothing."""
    _known(services, callback_key)
    try:
        state = CallbackQueue(services.engine).set_status(callback_key, body.status, _who(key))
    except CallbackStateError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(error)) from None
    return _state(state)


@router.post(
    "/{callback_key}/undo",
    summary="Take back the last change",
    response_model=CallbackStatePublic,
    responses=KEY_RESPONSES,
)
def undo(services: ServicesDep, key: OperatorKey, callback_key: CallbackKey) -> CallbackStatePublic:
    """The request goes back to where it was before its last change (kept in its history)."""
    _known(services, callback_key)
    try:
        state = CallbackQueue(services.engine).undo(callback_key, _who(key))
    except NothingToUndoError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(error)) from None
    return _state(state)


@router.get(
    "/{callback_key}/history",
    summary="Who did what on a request",
    response_model=CallbackHistoryPublic,
    responses={404: KEY_RESPONSES[404]},
)
def history(
    services: ServicesDep, _key: OperatorKey, callback_key: CallbackKey
) -> CallbackHistoryPublic:
    """Every status change, oldest first, with who made it; undone ones are marked."""
    _known(services, callback_key)
    changes = CallbackQueue(services.engine).history(callback_key)
    return CallbackHistoryPublic(
        data=[CallbackChangePublic.model_validate(change) for change in changes],
        count=len(changes),
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
    """By row id (the older form of ``POST /{callback_key}/status``); idempotent."""
    try:
        view = services.repository.mark_callback_done(callback_id, done_by=_who(key))
    except CallbackNotFoundError as error:
        not_found(str(error))
    return CallbackPublic.model_validate(view)


def _who(principal: Principal) -> str:
    """How the queue names who acted: the person's name, or the key's."""
    return principal.name
