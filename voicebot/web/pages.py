"""Server-rendered pages: login, manager dashboard, operator console.

Pages use the same API keys as the API. The login form puts the key in a cookie that is
``HttpOnly`` (page scripts cannot read it), ``SameSite=Strict`` (the browser never sends
it with a request started by another site, which is the protection against cross-site
request forgery, together with an ``Origin`` check on every POST) and ``Secure`` when the
page was served over HTTPS (behind a TLS proxy, run uvicorn with ``--proxy-headers``).
The cookie lasts 12 hours; revoking the key ends every session using it at once.
"""

from __future__ import annotations

import urllib.parse
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from voicebot.api.auth import ApiKeyInfo, authenticate
from voicebot.api.deps import ServicesDep, client_address
from voicebot.api.services import ApiServices
from voicebot.api.sse import event_stream_response
from voicebot.calllog.export import export_calls_csv
from voicebot.calllog.filters import CallFilter
from voicebot.calllog.models import ApiRole, CallbackStatus
from voicebot.calllog.repository import CallbackNotFoundError
from voicebot.calllog.rows import utc_now
from voicebot.web.dashboard import DashboardQuery, DashboardQueryError, build_dashboard

HERE = Path(__file__).parent
COOKIE = "voicebot_key"
COOKIE_MAX_AGE_S = 12 * 3600
MAX_FORM_BYTES = 4096
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
CONSOLE_ROLES = (ApiRole.OPERATOR,)
DASHBOARD_ROLES = (ApiRole.MANAGER,)

templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)


def _page(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def _error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    return _page(request, "error.html", {"status": status_code, "message": message}, status_code)


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: never let the login page redirect to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(
        "/login?" + urllib.parse.urlencode({"next": target}), status.HTTP_303_SEE_OTHER
    )


def _authorise(
    request: Request, services: ApiServices, roles: tuple[ApiRole, ...]
) -> ApiKeyInfo | Response:
    """The key in the session cookie if it has one of ``roles``; else the page to show."""
    key = request.cookies.get(COOKIE)
    if not key:
        return _login_redirect(request)
    client = client_address(request)
    retry_after = services.auth_limiter.retry_after(client)
    if retry_after is not None:
        response = _error_page(request, 429, "Too many failed attempts. Try again later.")
        response.headers["Retry-After"] = str(retry_after)
        return response
    info = authenticate(services.engine, key)
    if info is None:
        services.auth_limiter.record_failure(client)
        redirect = _login_redirect(request)
        redirect.delete_cookie(COOKIE, path="/")
        return redirect
    if not info.allows(roles):
        needed = " or ".join(r.value for r in (*roles, ApiRole.ADMIN))
        return _error_page(
            request, 403, f"This page needs a {needed} key; you are signed in as {info.role}."
        )
    return info


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    expected = f"{request.url.scheme}://{request.url.netloc}"
    return origin == expected


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form body (small forms only; no multipart needed)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    pairs = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    return dict(pairs)


# ------------------------------------------------------------------------------ login


@router.get("/")
def home() -> RedirectResponse:
    """The dashboard is the home page."""
    return RedirectResponse("/dashboard", status.HTTP_303_SEE_OTHER)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    """The sign-in form."""
    return _page(request, "login.html", {"next": _safe_next(next) or "", "error": None})


@router.post("/login")
async def login(request: Request, services: ServicesDep) -> Response:
    """Check the key; on success set the session cookie and go to the page asked for."""
    form = await _form(request)
    target = _safe_next(form.get("next"))
    if not _same_origin(request):
        return _error_page(request, 403, "Cross-site sign-in refused.")
    client = client_address(request)
    retry_after = services.auth_limiter.retry_after(client)
    if retry_after is not None:
        response = _page(
            request,
            "login.html",
            {"next": target or "", "error": "Too many failed attempts. Try again later."},
            429,
        )
        response.headers["Retry-After"] = str(retry_after)
        return response
    key = form.get("key", "").strip()
    info = authenticate(services.engine, key) if key else None
    if info is None:
        services.auth_limiter.record_failure(client)
        return _page(
            request,
            "login.html",
            {"next": target or "", "error": "Unknown or revoked key."},
            401,
        )
    default = "/console" if info.role is ApiRole.OPERATOR else "/dashboard"
    redirect = RedirectResponse(target or default, status.HTTP_303_SEE_OTHER)
    redirect.set_cookie(
        COOKIE,
        key,
        max_age=COOKIE_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return redirect


@router.post("/logout")
def logout(request: Request) -> Response:
    """Forget the session cookie."""
    if not _same_origin(request):
        return _error_page(request, 403, "Cross-site request refused.")
    response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(COOKIE, path="/")
    return response


# -------------------------------------------------------------------------- dashboard


def _dashboard_query(
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
    services: ServicesDep,
    start: str | None = None,
    end: str | None = None,
    language: str | None = None,
    bucket: str | None = None,
) -> Response:
    """Statistics for managers: intents, outcomes, departments, containment, questions."""
    auth = _authorise(request, services, DASHBOARD_ROLES)
    if isinstance(auth, Response):
        return auth
    try:
        query = _dashboard_query(services, start, end, language, bucket)
    except DashboardQueryError as error:
        return _error_page(request, 422, str(error))
    data = build_dashboard(services, query)
    csv_query = urllib.parse.urlencode(
        {k: v for k, v in (("start", start), ("end", end), ("language", language)) if v}
    )
    return _page(
        request,
        "dashboard.html",
        {"key": auth, "d": data, "csv_url": "/dashboard/calls.csv?" + csv_query},
    )


@router.get("/dashboard/calls.csv")
def dashboard_csv(
    request: Request,
    services: ServicesDep,
    start: str | None = None,
    end: str | None = None,
    language: str | None = None,
) -> Response:
    """The dashboard's calls as CSV."""
    auth = _authorise(request, services, DASHBOARD_ROLES)
    if isinstance(auth, Response):
        return auth
    try:
        query = _dashboard_query(services, start, end, language, None)
    except DashboardQueryError as error:
        return _error_page(request, 422, str(error))
    low, high = query.span(services.stats.timezone)
    filters = CallFilter(start=low, end=high, language=query.language)
    return StreamingResponse(
        (chunk.encode("utf-8") for chunk in export_calls_csv(services.engine, filters)),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="calls-{query.start}-{query.end}.csv"'
        },
    )


# ---------------------------------------------------------------------------- console


def _callbacks_context(services: ApiServices) -> dict[str, Any]:
    kb = services.kb_store.current()
    names = {d.id: d.name.get(kb.city.default_language, d.id) for d in kb.departments}
    return {
        "callbacks": services.repository.list_callbacks(CallbackStatus.PENDING, limit=200),
        "department_names": names,
        "zone": services.stats.timezone,
    }


@router.get("/console")
def console(request: Request, services: ServicesDep) -> Response:
    """For operators: calls being transferred with the assistant's summary; callbacks."""
    auth = _authorise(request, services, CONSOLE_ROLES)
    if isinstance(auth, Response):
        return auth
    context = _callbacks_context(services)
    context.update(
        key=auth,
        transfers=services.board.transfers(),
        active_calls=services.board.active_calls(),
        today=date.today(),
    )
    return _page(request, "console.html", context)


@router.get("/console/callbacks")
def console_callbacks(request: Request, services: ServicesDep) -> Response:
    """The callback queue rows alone, for the console's periodic refresh."""
    auth = _authorise(request, services, CONSOLE_ROLES)
    if isinstance(auth, Response):
        return auth
    return _page(request, "callback_rows.html", _callbacks_context(services))


@router.post("/console/callbacks/{callback_id}/done")
def console_callback_done(request: Request, services: ServicesDep, callback_id: int) -> Response:
    """Mark a callback request done, then back to the console."""
    auth = _authorise(request, services, CONSOLE_ROLES)
    if isinstance(auth, Response):
        return auth
    if not _same_origin(request):
        return _error_page(request, 403, "Cross-site request refused.")
    try:
        services.repository.mark_callback_done(callback_id, done_by=auth.name)
    except CallbackNotFoundError as error:
        return _error_page(request, 404, str(error))
    return RedirectResponse("/console#callbacks", status.HTTP_303_SEE_OTHER)


@router.get("/console/events")
def console_events(
    request: Request,
    services: ServicesDep,
    keepalive: Annotated[float, Query(gt=0, le=60)] = 15.0,
) -> Response:
    """Live call events (Server-Sent Events) for the console's script."""
    auth = _authorise(request, services, CONSOLE_ROLES)
    if isinstance(auth, Response):
        return auth
    return event_stream_response(services.live_bus, keepalive_s=keepalive)


def mount_pages(app: FastAPI) -> None:
    """Add the pages and their static files (CSS, the console's script) to ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
