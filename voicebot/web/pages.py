"""The staff pages mounted on the application: routers, static files, error pages."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import PlainTextResponse, Response

from voicebot.i18n.catalogues import N_
from voicebot.web.access import signed_in
from voicebot.web.rendering import HERE, error_page, page_locale
from voicebot.web.routes import calls, console, dashboard, learning, session

ERROR_MESSAGES = {
    404: N_("There is no page at this address."),
    405: N_("This page cannot be used this way."),
}
GENERIC_ERROR = N_("The request could not be handled.")
SERVER_ERROR = N_("Something went wrong on our side. The error has been logged; please try again.")
API_PREFIXES = ("/api/", "/health", "/metrics", "/openapi.json", "/docs", "/redoc", "/static/")


def _wants_page(request: Request) -> bool:
    """Browsers asking for a page get the translated error page; machines keep JSON."""
    if request.url.path.startswith(API_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if not _wants_page(request):
        return await http_exception_handler(request, exc)
    loc = page_locale(request)
    message = loc.gettext(ERROR_MESSAGES.get(exc.status_code, GENERIC_ERROR))
    response = error_page(request, exc.status_code, message, signed_in(request), loc=loc)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _server_error(request: Request, exc: Exception) -> Response:
    if not _wants_page(request):
        return PlainTextResponse("Internal Server Error", status_code=500)
    loc = page_locale(request)
    try:
        key = signed_in(request)
    except Exception:  # the database may be what failed: show the page without navigation
        key = None
    return error_page(request, 500, loc.gettext(SERVER_ERROR), key, loc=loc)


def mount_pages(app: FastAPI) -> None:
    """Add the pages, their static files (CSS, scripts) and the error pages to ``app``."""
    for module in (session, dashboard, calls, learning, console):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _server_error)
