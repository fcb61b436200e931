"""Signing in and out, the landing page of each role, the page language."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from voicebot.api.auth import authenticate
from voicebot.api.deps import client_address
from voicebot.web.access import (
    COOKIE,
    COOKIE_MAX_AGE_S,
    landing_page,
    may_open,
    read_form,
    safe_next,
    same_origin,
    signed_in,
)
from voicebot.web.rendering import (
    LANGUAGE_COOKIE,
    error_page,
    offered_languages,
    page_locale,
    render,
    services_of,
)

router = APIRouter(include_in_schema=False)
LANGUAGE_COOKIE_MAX_AGE_S = 365 * 24 * 3600


@router.get("/")
def home(request: Request) -> RedirectResponse:
    """Each role's own start page; the sign-in form for visitors."""
    key = signed_in(request)
    target = landing_page(key) if key is not None else "/login"
    return RedirectResponse(target, status.HTTP_303_SEE_OTHER)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    """The sign-in form."""
    return render(request, "login.html", {"next": safe_next(next) or "", "error": None})


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the key; on success set the session cookie and go to the page asked for."""
    services = services_of(request)
    loc = page_locale(request)
    form = await read_form(request)
    target = safe_next(form.get("next"))
    if not same_origin(request):
        return error_page(request, 403, loc.gettext("Cross-site sign-in refused."), loc=loc)
    client = client_address(request)
    retry_after = services.auth_limiter.retry_after(client)
    if retry_after is not None:
        message = loc.gettext("Too many failed attempts. Try again later.")
        response = render(
            request, "login.html", {"next": target or "", "error": message}, 429, loc=loc
        )
        response.headers["Retry-After"] = str(retry_after)
        return response
    key = form.get("key", "").strip()
    info = authenticate(services.engine, key) if key else None
    if info is None:
        services.auth_limiter.record_failure(client)
        message = loc.gettext("Unknown or revoked key.")
        return render(request, "login.html", {"next": target or "", "error": message}, 401)
    # A page the role may not open is no place to land: go to the role's own page.
    if target is not None and not may_open(info, target):
        target = None
    redirect = RedirectResponse(target or landing_page(info), status.HTTP_303_SEE_OTHER)
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
    if not same_origin(request):
        loc = page_locale(request)
        return error_page(request, 403, loc.gettext("Cross-site request refused."), loc=loc)
    response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/language/{language}")
def choose_page_language(request: Request, language: str, next: str | None = None) -> Response:
    """Show the pages in ``language`` from now on (a cookie), then back to ``next``."""
    if language not in offered_languages(services_of(request)):
        loc = page_locale(request)
        message = loc.gettext("The pages are not available in %(language)s.") % {
            "language": language
        }
        return error_page(request, 404, message, signed_in(request), loc=loc)
    response = RedirectResponse(safe_next(next) or "/", status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=LANGUAGE_COOKIE_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response
