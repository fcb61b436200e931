"""Calls: filtered, sorted, paginated list; one call in full; CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse

from voicebot.api.deps import (
    AUTH_RESPONSES,
    MAX_SQL_INT,
    ManagerKey,
    ServicesDep,
    check_range,
    invalid,
    local_time,
    not_found,
)
from voicebot.api.display import call_display, request_labels
from voicebot.api.models import (
    CallbackPublic,
    CallDetailPublic,
    CallPublic,
    CallsPublic,
    TransferPublic,
    TurnPublic,
)
from voicebot.api.services import ApiServices
from voicebot.calllog.export import CsvFormat, export_calls_csv, export_turns_csv
from voicebot.calllog.filters import DEFAULT_SORT, MAX_TEXT_LENGTH, SORT_COLUMNS, CallFilter
from voicebot.calllog.models import ApiRole
from voicebot.calllog.repository import MAX_PAGE_SIZE
from voicebot.calllog.views import CallSummary
from voicebot.i18n.labels import Labels
from voicebot.records import CallOutcome

router = APIRouter(tags=["calls"], responses=AUTH_RESPONSES)

SORT_HELP = (
    "Sort key, `-` prefix for descending: "
    + ", ".join(sorted(SORT_COLUMNS))
    + f". Default `{DEFAULT_SORT}`."
)


def call_filter(
    services: ServicesDep,
    start: Annotated[
        datetime | None,
        Query(description="Calls started at or after (ISO 8601; no zone: the city's)."),
    ] = None,
    end: Annotated[datetime | None, Query(description="Calls started before.")] = None,
    outcome: CallOutcome | None = None,
    department: Annotated[str | None, Query(max_length=64)] = None,
    intent: Annotated[
        str | None, Query(max_length=128, description="Calls with a turn of this intent.")
    ] = None,
    language: Annotated[str | None, Query(max_length=16)] = None,
    min_confidence: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
    max_confidence: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_TEXT_LENGTH,
            description="Case-insensitive text searched in what callers said.",
        ),
    ] = None,
) -> CallFilter:
    """The list filters from the query string; 422 for contradictory values."""
    start, end = local_time(services, start, "start"), local_time(services, end, "end")
    check_range(start, end)
    if (
        min_confidence is not None
        and max_confidence is not None
        and min_confidence > max_confidence
    ):
        invalid(("query", "max_confidence"), "max_confidence must not be below min_confidence")
    try:
        return CallFilter(
            start=start,
            end=end,
            outcome=outcome,
            department=department,
            intent=intent,
            language=language,
            min_confidence=min_confidence,
            max_confidence=max_confidence,
            text=q,
        )
    except ValueError as error:
        invalid(("query",), str(error))


def sort_key(sort: Annotated[str, Query(description=SORT_HELP)] = DEFAULT_SORT) -> str:
    """A whitelisted sort key; 422 otherwise."""
    if sort.removeprefix("-") not in SORT_COLUMNS:
        invalid(
            ("query", "sort"),
            f"unknown sort key {sort!r}: use one of {', '.join(sorted(SORT_COLUMNS))} "
            "(prefix - for descending)",
        )
    return sort


FilterDep = Annotated[CallFilter, Depends(call_filter)]
SortDep = Annotated[str, Depends(sort_key)]


CsvStyle = Annotated[
    Literal["standard", "excel"],
    Query(
        alias="format",
        description="`standard`: RFC 4180 (`,`, `.` decimals, ISO 8601 times with the city's "
        "offset). `excel`: for Excel in French, Dutch or German (UTF-8 byte order mark, `;`, "
        "`,` decimals, `YYYY-MM-DD HH:MM:SS` in the city's zone).",
    ),
]


def _csv_format(services: ServicesDep, style: CsvStyle = "standard") -> CsvFormat:
    return CsvFormat(zone=services.stats.timezone, excel=style == "excel")


CsvFormatDep = Annotated[CsvFormat, Depends(_csv_format)]


def _public(call: CallSummary, services: ApiServices, labels: Labels) -> CallPublic:
    public = CallPublic.model_validate(call)
    return public.model_copy(
        update={
            "started_at_local": call.started_at.astimezone(services.stats.timezone).isoformat(),
            "display": call_display(call, labels),
        }
    )


def _total(total: int | None) -> int:
    # The API asks for no time bound on the count: machines rely on the total.
    if total is None:
        raise RuntimeError("the calls count is missing although no time bound was asked")
    return total


@router.get("/calls", summary="List calls", response_model=CallsPublic)
def list_calls(
    request: Request,
    services: ServicesDep,
    _key: ManagerKey,
    filters: FilterDep,
    sort: SortDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
) -> CallsPublic:
    """Calls matching every given filter, one page at a time, with the total count."""
    page = services.repository.list_calls(filters, sort=sort, limit=limit, offset=offset)
    labels = request_labels(request, services)
    return CallsPublic(
        data=[_public(item, services, labels) for item in page.items],
        count=_total(page.total),
        limit=page.limit,
        offset=page.offset,
    )


def _csv_response(chunks: Iterator[str], filename: str) -> StreamingResponse:
    return StreamingResponse(
        (chunk.encode("utf-8") for chunk in chunks),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "CSV, header row first."}
}


@router.get(
    "/calls.csv",
    summary="Export calls as CSV",
    response_class=StreamingResponse,
    responses=CSV_RESPONSE,
)
def export_calls(
    services: ServicesDep, _key: ManagerKey, filters: FilterDep, sort: SortDep, fmt: CsvFormatDep
) -> StreamingResponse:
    """Every call matching the filters (no pagination), streamed with bounded memory."""
    chunks = export_calls_csv(services.engine, filters, sort=sort, fmt=fmt)
    return _csv_response(chunks, "calls.csv")


@router.get(
    "/turns.csv",
    summary="Export the turns of calls as CSV",
    response_class=StreamingResponse,
    responses=CSV_RESPONSE,
)
def export_turns(
    services: ServicesDep, _key: ManagerKey, filters: FilterDep, sort: SortDep, fmt: CsvFormatDep
) -> StreamingResponse:
    """Every turn of the calls matching the filters, calls in ``sort`` order."""
    chunks = export_turns_csv(services.engine, filters, sort=sort, fmt=fmt)
    return _csv_response(chunks, "turns.csv")


@router.get(
    "/calls/{call_id}",
    summary="One call with its turns, transfers and callbacks",
    response_model=CallDetailPublic,
    responses={404: {"description": "No call has this id."}},
)
def get_call(
    request: Request,
    services: ServicesDep,
    key: ManagerKey,
    # No stored id is longer or holds NUL (which PostgreSQL cannot even compare).
    call_id: Annotated[str, Path(max_length=64, pattern=r"^[^\x00]+$")],
) -> CallDetailPublic:
    """Everything recorded about one call; caller numbers only for admin keys."""
    detail = services.repository.get_call(call_id)
    if detail is None:
        not_found(f"no call with id {call_id!r}")
    callbacks = [CallbackPublic.model_validate(c) for c in detail.callbacks]
    if key.role is not ApiRole.ADMIN:
        # Raw numbers are for the operators who call back, not for statistics.
        callbacks = [c.model_copy(update={"caller_number": None}) for c in callbacks]
    public = _public(detail.call, services, request_labels(request, services))
    return CallDetailPublic(
        **public.model_dump(),
        turns=[TurnPublic.model_validate(t) for t in detail.turns],
        transfers=[TransferPublic.model_validate(t) for t in detail.transfers],
        callbacks=callbacks,
    )
