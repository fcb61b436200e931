"""Who is reading a page: the API key in the session cookie, its role, its landing page.

Pages use the same API keys as the API. The login form puts the key in a cookie that is
``HttpOnly`` (page scripts cannot read it), ``SameSite=Strict`` (the browser never sends
it with a request started by another site, which is the protection against cross-site
request forgery, together with an ``Origin`` check on every POST) and ``Secure`` when the
page was served over HTTPS (behind a TLS proxy, run uvicorn with ``--proxy-headers``).
The cookie lasts 12 hours; revoking the key ends every session using it at once.
"""

from __future__ import annotations

import urllib.parse

from fastapi import Request, Response, status
from fastapi.responses import RedirectResponse

from voicebot.api.auth import ApiKeyInfo, authenticate
from voicebot.api.deps import client_address
from voicebot.calllog.models import ApiRole
from voicebot.i18n.catalogues import N_
from voicebot.web.rendering import error_page, page_locale, services_of

COOKIE = "voicebot_key"
COOKIE_MAX_AGE_S = 12 * 3600
MAX_FORM_BYTES = 4096
CONSOLE_ROLES = (ApiRole.OPERATOR,)
DASHBOARD_ROLES = (ApiRole.MANAGER,)
PAGE_ROLES = {
    "/console": CONSOLE_ROLES,
    "/dashboard": DASHBOARD_ROLES,
    "/calls": DASHBOARD_ROLES,
}
"""Roles (besides admin) of each page, by path prefix: the landing logic never sends a
reader to a page that would answer 403."""
ROLE_NAMES = {
    ApiRole.OPERATOR: N_("operator"),
    ApiRole.MANAGER: N_("manager"),
    ApiRole.ADMIN: N_("administrator"),
}


def landing_page(key: ApiKeyInfo) -> str:
    """Where a signed-in reader starts: operators at the console, others at the dashboard."""
    return "/console" if key.role is ApiRole.OPERATOR else "/dashboard"


def may_open(key: ApiKeyInfo, path: str) -> bool:
    """Whether ``key`` may open the page at ``path`` (pages without roles: everyone)."""
    for prefix, roles in PAGE_ROLES.items():
        if path == prefix or path.startswith((prefix + "/", prefix + "?")):
            return key.allows(roles)
    return True


def safe_next(target: str | None) -> str | None:
    """Only same-site paths: never let the login page redirect to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def login_redirect(request: Request) -> RedirectResponse:
    """To the login form, coming back to this page afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(
        "/login?" + urllib.parse.urlencode({"next": target}), status.HTTP_303_SEE_OTHER
    )


def signed_in(request: Request) -> ApiKeyInfo | None:
    """The key of the session cookie if it is valid, without counting a failure: for pages
    that only adapt their navigation (error pages)."""
    key = request.cookies.get(COOKIE)
    return authenticate(services_of(request).engine, key) if key else None


def authorise(request: Request, roles: tuple[ApiRole, ...]) -> ApiKeyInfo | Response:
    """The key in the session cookie if it has one of ``roles``; else the page to show."""
    services = services_of(request)
    key = request.cookies.get(COOKIE)
    if not key:
        return login_redirect(request)
    client = client_address(request)
    retry_after = services.auth_limiter.retry_after(client)
    if retry_after is not None:
        loc = page_locale(request)
        response = error_page(
            request, 429, loc.gettext("Too many failed attempts. Try again later."), loc=loc
        )
        response.headers["Retry-After"] = str(retry_after)
        return response
    info = authenticate(services.engine, key)
    if info is None:
        services.auth_limiter.record_failure(client)
        redirect = login_redirect(request)
        redirect.delete_cookie(COOKIE, path="/")
        return redirect
    if not info.allows(roles):
        loc = page_locale(request)
        needed = loc.either([loc.gettext(ROLE_NAMES[r]) for r in (*roles, ApiRole.ADMIN)])
        message = loc.gettext(
            "This page is for the roles: %(needed)s. You are signed in as %(role)s."
        ) % {"needed": needed, "role": loc.gettext(ROLE_NAMES[info.role])}
        return error_page(request, 403, message, info, loc=loc)
    return info


def same_origin(request: Request) -> bool:
    """Whether a POST comes from a page of this site (``Origin`` header, when sent)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    expected = f"{request.url.scheme}://{request.url.netloc}"
    return origin == expected


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form body (small forms only; no multipart needed)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    pairs = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    return dict(pairs)
