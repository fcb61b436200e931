"""Statistics: counts by dimension, headline figures, transfers, not-understood questions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from voicebot.api.deps import (
    AUTH_RESPONSES,
    ManagerKey,
    ServicesDep,
    check_range,
    invalid,
    local_time,
)
from voicebot.api.models import (
    CountPublic,
    CountsPublic,
    DepartmentsTransfersPublic,
    DepartmentTransfersPublic,
    QuestionGroupPublic,
    QuestionGroupsPublic,
    SummariesPublic,
    SummaryPublic,
)
from voicebot.calllog.models import NOT_UNDERSTOOD_MAX_CONFIDENCE
from voicebot.calllog.rows import utc_now
from voicebot.calllog.stats import Bucket, Dimension, Scope

router = APIRouter(prefix="/stats", tags=["statistics"], responses=AUTH_RESPONSES)

DEFAULT_RANGE = timedelta(days=30)


class TimeRange:
    """``start``/``end`` query parameters; default: the 30 days up to now."""

    def __init__(
        self,
        services: ServicesDep,
        start: Annotated[
            datetime | None,
            Query(
                description="ISO 8601 date or time; no zone: the city's. Default: end − 30 days."
            ),
        ] = None,
        end: Annotated[datetime | None, Query(description="Default: now.")] = None,
    ) -> None:
        self.end = local_time(services, end, "end") or utc_now().astimezone(services.stats.timezone)
        self.start = local_time(services, start, "start") or self.end - DEFAULT_RANGE
        check_range(self.start, self.end)


RangeDep = Annotated[TimeRange, Depends()]
LanguageQuery = Annotated[
    str | None,
    Query(
        max_length=16,
        pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$",
        description="Only calls in this language (a code such as `fr`).",
    ),
]
DepartmentQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        pattern=r"^[^\x00]+$",
        description="Only calls for this department id (put through to it or asked for it);"
        " for transfers, attempts to it.",
    ),
]


def scope(language: LanguageQuery = None, department: DepartmentQuery = None) -> Scope:
    """The language and department filters every statistic accepts."""
    return Scope(language=language, department=department)


ScopeDep = Annotated[Scope, Depends(scope)]


@router.get(
    "/counts",
    summary="Counts by intent, department, outcome or language",
    response_model=CountsPublic,
)
def counts(
    services: ServicesDep,
    _key: ManagerKey,
    span: RangeDep,
    filters: ScopeDep,
    dimension: Dimension = Dimension.INTENT,
    bucket: Annotated[
        Bucket | None, Query(description="Time bucket; none: totals over the range.")
    ] = None,
) -> CountsPublic:
    """Turns per intent, or calls per department/outcome/language, optionally per bucket.

    Buckets start at local midnight (day), on Monday (week) or on the hour, in the city's
    time zone; hour buckets are limited to 14 days.
    """
    try:
        rows = services.stats.counts(dimension, span.start, span.end, bucket, scope=filters)
    except ValueError as error:
        invalid(("query", "bucket" if bucket else "start"), str(error))
    return CountsPublic(
        dimension=dimension.value,
        bucket=bucket.value if bucket else None,
        start=span.start,
        end=span.end,
        language=filters.language,
        department=filters.department,
        data=[CountPublic(bucket=r.bucket, key=r.key, count=r.count) for r in rows],
        count=len(rows),
    )


@router.get("/requests", summary="Calls per request", response_model=CountsPublic)
def requests(
    services: ServicesDep,
    _key: ManagerKey,
    span: RangeDep,
    filters: ScopeDep,
    bucket: Annotated[
        Bucket | None, Query(description="Time bucket; none: totals over the range.")
    ] = None,
) -> CountsPublic:
    """What callers asked for: calls per FAQ entry, department or operator, each call
    counted once per request however many turns it took. Dialog acts (yes, no, goodbye,
    keypad digits, language switches) and turns not understood are left out: see counts by
    intent for those."""
    try:
        rows = services.stats.requests(span.start, span.end, bucket, scope=filters)
    except ValueError as error:
        invalid(("query", "bucket" if bucket else "start"), str(error))
    return CountsPublic(
        dimension="request",
        bucket=bucket.value if bucket else None,
        start=span.start,
        end=span.end,
        language=filters.language,
        department=filters.department,
        data=[CountPublic(bucket=r.bucket, key=r.key, count=r.count) for r in rows],
        count=len(rows),
    )


@router.get("/summary", summary="Headline figures", response_model=SummariesPublic)
def summary(
    services: ServicesDep,
    _key: ManagerKey,
    span: RangeDep,
    filters: ScopeDep,
    bucket: Bucket | None = None,
) -> SummariesPublic:
    """Calls, contained-resolution, transfer and abandonment rates, handling time, turns."""
    try:
        rows = services.stats.summary(span.start, span.end, bucket, scope=filters)
    except ValueError as error:
        invalid(("query", "bucket" if bucket else "start"), str(error))
    data = [SummaryPublic.model_validate(row, from_attributes=True) for row in rows]
    return SummariesPublic(
        start=span.start,
        end=span.end,
        language=filters.language,
        department=filters.department,
        data=data,
        count=len(data),
    )


@router.get(
    "/transfers", summary="Transfers per department", response_model=DepartmentsTransfersPublic
)
def transfers(
    services: ServicesDep, _key: ManagerKey, span: RangeDep, filters: ScopeDep
) -> DepartmentsTransfersPublic:
    """Per department: calls sent there, their share, transfer attempts and answered ones."""
    try:
        rows = services.stats.transfers_by_department(span.start, span.end, scope=filters)
    except ValueError as error:
        invalid(("query", "start"), str(error))
    data = [DepartmentTransfersPublic.model_validate(row, from_attributes=True) for row in rows]
    return DepartmentsTransfersPublic(
        start=span.start,
        end=span.end,
        language=filters.language,
        department=filters.department,
        data=data,
        count=len(data),
    )


@router.get(
    "/not-understood",
    summary="Questions the assistant did not understand, grouped",
    response_model=QuestionGroupsPublic,
    responses={503: {"description": "No embedder is configured to group questions."}},
)
def not_understood(
    services: ServicesDep,
    _key: ManagerKey,
    span: RangeDep,
    filters: ScopeDep,
    threshold: Annotated[
        float, Query(ge=0.0, le=1.0, description="Cosine similarity to join a group.")
    ] = 0.8,
    low_confidence: Annotated[
        float, Query(ge=0.0, le=1.0, description="ASR confidence below which a turn counts.")
    ] = NOT_UNDERSTOOD_MAX_CONFIDENCE,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> QuestionGroupsPublic:
    """Turns routed to no target (or heard with low confidence), similar ones grouped."""
    embedder = services.embedder
    if embedder is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="no embedder configured: questions cannot be grouped",
        )
    try:
        groups = services.stats.not_understood(
            span.start,
            span.end,
            lambda texts: embedder.embed(texts),
            threshold=threshold,
            low_confidence=low_confidence,
            limit=limit,
            scope=filters,
        )
    except ValueError as error:
        invalid(("query",), str(error))
    data = [
        QuestionGroupPublic(
            count=g.count,
            representative=g.representative,
            examples=list(g.examples),
            distinct=g.distinct,
        )
        for g in groups
    ]
    return QuestionGroupsPublic(start=span.start, end=span.end, data=data, count=len(data))
