"""The manager dashboard and its CSV download."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from voicebot.api.services import ApiServices
from voicebot.calllog.export import CsvFormat, export_calls_csv
from voicebot.calllog.filters import CallFilter
from voicebot.calllog.rows import utc_now
from voicebot.i18n.labels import Labels
from voicebot.web.access import DASHBOARD_ROLES, authorise
from voicebot.web.dashboard import DashboardQuery, DashboardQueryError, build_dashboard
from voicebot.web.rendering import error_page, page_locale, render, services_of

router = APIRouter(include_in_schema=False)
EXCEL_SEMICOLON = frozenset({"fr", "nl", "de"})
"""Page languages whose Excel expects ``;`` between fields and ``,`` in numbers."""


def _query(
    services: ApiServices,
    start: str | None,
    end: str | None,
    language: str | None,
    bucket: str | None,
    department: str | None,
) -> DashboardQuery:
    today = utc_now().astimezone(services.stats.timezone).date()
    return DashboardQuery.parse(today, start, end, language, bucket, department)


@router.get("/dashboard")
def dashboard(
    request: Request,
    start: str | None = None,
    end: str | None = None,
    language: str | None = None,
    bucket: str | None = None,
    department: str | None = None,
) -> Response:
    """Statistics for managers: requests, containment, outcomes, departments, questions."""
    auth = authorise(request, DASHBOARD_ROLES)
    if isinstance(auth, Response):
        return auth
    services = services_of(request)
    loc = page_locale(request)
    try:
        query = _query(services, start, end, language, bucket, department)
    except DashboardQueryError as error:
        return error_page(request, 422, error.translated(loc.gettext), auth, loc=loc)
    data = build_dashboard(services, query, Labels(services.kb_store.current(), loc))
    return render(request, "dashboard.html", {"key": auth, "d": data}, loc=loc)


@router.get("/dashboard/calls.csv")
def dashboard_csv(
    request: Request,
    start: str | None = None,
    end: str | None = None,
    language: str | None = None,
    department: str | None = None,
) -> Response:
    """The dashboard's calls as CSV, for Excel in the reader's language (UTF-8 with a byte
    order mark, ``;`` and decimal commas in French, Dutch and German)."""
    auth = authorise(request, DASHBOARD_ROLES)
    if isinstance(auth, Response):
        return auth
    services = services_of(request)
    loc = page_locale(request)
    try:
        query = _query(services, start, end, language, None, department)
    except DashboardQueryError as error:
        return error_page(request, 422, error.translated(loc.gettext), auth, loc=loc)
    low, high = query.span(services.stats.timezone)
    filters = CallFilter(start=low, end=high, language=query.language, department=query.department)
    fmt = CsvFormat(zone=services.stats.timezone, excel=loc.language in EXCEL_SEMICOLON)
    return StreamingResponse(
        (chunk.encode("utf-8") for chunk in export_calls_csv(services.engine, filters, fmt=fmt)),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="calls-{query.start}-{query.end}.csv"'
        },
    )
