"""Signing in and out, the landing page of each role, the page language."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from voicebot.accounts.service import SignInProblem
from voicebot.api.deps import client_address, same_origin
from voicebot.i18n.negotiation import offered_languages
from voicebot.web.access import (
    COOKIE,
    landing_page,
    may_open,
    read_form,
    safe_next,
    session_end_message,
    signed_in,
)
from voicebot.web.rendering import (
    LANGUAGE_COOKIE,
    error_page,
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
def login_form(request: Request, next: str | None = None, ended: str | None = None) -> HTMLResponse:
    """The sign-in form (saying why the previous session ended, when it did)."""
    loc = page_locale(request)
    message = session_end_message(ended)
    context = {
        "next": safe_next(next) or "",
        "error": None,
        "ended": loc.gettext(message) if message else None,
        "name": "",
    }
    return render(request, "login.html", context, loc=loc)


@router.post("/login")
async def login(request: Request) -> Response:
    """Check name and password; on success set the session cookie and go to the page asked."""
    services = services_of(request)
    loc = page_locale(request)
    form = await read_form(request)
    target = safe_next(form.get("next"))
    if not same_origin(request):
        return error_page(request, 403, loc.gettext("Cross-site sign-in refused."), loc=loc)
    name = form.get("name", "").strip()[:64]
    password = form.get("password", "")
    context = {"next": target or "", "ended": None, "name": name}
    if not name or not password:
        message = loc.gettext("Enter your name and your password.")
        return render(request, "login.html", {**context, "error": message}, 401, loc=loc)
    # argon2 takes tens of milliseconds: off the event loop.
    result = await run_in_threadpool(
        services.staff.sign_in, name, password, client_address(request)
    )
    if result.principal is None or result.token is None:
        if result.problem is SignInProblem.LOCKED:
            wait = result.retry_after_s or 60
            message = loc.gettext(
                "Too many failed attempts for this account. Try again in %(minutes)s min."
            ) % {"minutes": loc.number(max(1, -(-wait // 60)))}
            response = render(request, "login.html", {**context, "error": message}, 429, loc=loc)
            response.headers["Retry-After"] = str(wait)
            return response
        message = loc.gettext("Wrong name or password.")
        return render(request, "login.html", {**context, "error": message}, 401, loc=loc)
    # A page the role may not open is no place to land: go to the role's own page.
    if target is not None and not may_open(result.principal, target):
        target = None
    redirect = RedirectResponse(target or landing_page(result.principal), status.HTTP_303_SEE_OTHER)
    redirect.set_cookie(
        COOKIE,
        result.token,
        max_age=int(services.staff.sessions.policy.lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return redirect


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the session on the server and forget its cookie."""
    if not same_origin(request):
        loc = page_locale(request)
        return error_page(request, 403, loc.gettext("Cross-site request refused."), loc=loc)
    token = request.cookies.get(COOKIE)
    if token:
        services_of(request).staff.sign_out(token, client_address(request))
    response = RedirectResponse("/login?ended=logout", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/language/{language}")
def choose_page_language(request: Request, language: str, next: str | None = None) -> Response:
    """Show the pages in ``language`` from now on (a cookie), then back to ``next``."""
    if language not in offered_languages(services_of(request).kb_store.current().city):
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
