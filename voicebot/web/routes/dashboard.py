"""The manager dashboard and its CSV download."""

from __future__ import annotations

import urllib.parse

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from voicebot.api.services import ApiServices
from voicebot.calllog.export import export_calls_csv
from voicebot.calllog.filters import CallFilter
from voicebot.calllog.rows import utc_now
from voicebot.web.access import DASHBOARD_ROLES, authorise
from voicebot.web.dashboard import DashboardQuery, DashboardQueryError, build_dashboard
from voicebot.web.labels import Labels
from voicebot.web.rendering import error_page, page_locale, render, services_of

router = APIRouter(include_in_schema=False)


def _query(
    services: ApiServices,
    start: str | None,
    end: str | None,
    language: str | None,
    bucket: str | None,
) -> DashboardQuery:
    today = utc_now().astimezone(services.stats.timezone).date()
    return DashboardQuery.parse(today, start, end, language, bucket)


@router.get("/dashboard")
def dashboard(
    request: Request,
    start: str | None = None,
    end: str | None = None,
    language: str | None = None,
    bucket: str | None = None,
) -> Response:
    """Statistics for managers: intents, outcomes, departments, containment, questions."""
    auth = authorise(request, DASHBOARD_ROLES)
    if isinstance(auth, Response):
        return auth
    services = services_of(request)
    loc = page_locale(request)
    try:
        query = _query(services, start, end, language, bucket)
    except DashboardQueryError as error:
        return error_page(request, 422, error.translated(loc.gettext), auth, loc=loc)
    data = build_dashboard(services, query, Labels(services.kb_store.current(), loc))
    csv_query = urllib.parse.urlencode(
        {k: v for k, v in (("start", start), ("end", end), ("language", language)) if v}
    )
    return render(
        request,
        "dashboard.html",
        {"key": auth, "d": data, "csv_url": "/dashboard/calls.csv?" + csv_query},
        loc=loc,
    )


@router.get("/dashboard/calls.csv")
def dashboard_csv(
    request: Request,
    start: str | None = None,
    end: str | None = None,
    language: str | None = None,
) -> Response:
    """The dashboard's calls as CSV."""
    auth = authorise(request, DASHBOARD_ROLES)
    if isinstance(auth, Response):
        return auth
    services = services_of(request)
    try:
        query = _query(services, start, end, language, None)
    except DashboardQueryError as error:
        loc = page_locale(request)
        return error_page(request, 422, error.translated(loc.gettext), auth, loc=loc)
    low, high = query.span(services.stats.timezone)
    filters = CallFilter(start=low, end=high, language=query.language)
    return StreamingResponse(
        (chunk.encode("utf-8") for chunk in export_calls_csv(services.engine, filters)),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="calls-{query.start}-{query.end}.csv"'
        },
    )
