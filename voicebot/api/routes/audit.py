"""The audit trail (admins): sign-in failures, lockouts, accounts, keys, KB edits."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from voicebot.accounts.audit import MAX_PAGE, AuditKind
from voicebot.api.deps import (
    AUTH_RESPONSES,
    MAX_SQL_INT,
    AdminKey,
    ServicesDep,
    check_range,
    invalid,
    local_time,
)
from voicebot.api.models_staff import AuditEventPublic, AuditEventsPublic

router = APIRouter(prefix="/audit", tags=["audit"], responses=AUTH_RESPONSES)


@router.get("", summary="Audit events", response_model=AuditEventsPublic)
def audit_events(
    services: ServicesDep,
    _key: AdminKey,
    kind: Annotated[list[AuditKind] | None, Query(description="Only these kinds.")] = None,
    actor: Annotated[str | None, Query(max_length=128, description="e.g. account:marie")] = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
) -> AuditEventsPublic:
    """Newest first. Times without a zone are in the city's time zone."""
    if actor is not None and "\x00" in actor:
        invalid(("query", "actor"), "actor must not contain a NUL character")
    low = local_time(services, start, "start")
    high = local_time(services, end, "end")
    check_range(low, high)
    entries, total = services.staff.audit.entries(
        kinds=tuple(kind or ()), actor=actor, start=low, end=high, limit=limit, offset=offset
    )
    return AuditEventsPublic(
        data=[AuditEventPublic.model_validate(entry) for entry in entries], count=total
    )
