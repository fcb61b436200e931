"""Who is reading a page: the staff account of the session cookie, its role, its landing page.

Staff sign in with their account (name and password). The session token goes in a cookie
that is ``HttpOnly`` (page scripts cannot read it), ``SameSite=Strict`` (the browser never
sends it with a request started by another site, which is the protection against
cross-site request forgery, together with an ``Origin`` check on every POST) and ``Secure``
when the page was served over HTTPS (behind a TLS proxy, set ``forwarded_allow_ips``).
Sessions last a working day (:mod:`voicebot.accounts.sessions`); disabling an account,
changing its password or ending its sessions ends them at once, with a reason the sign-in
page says in words.
"""

from __future__ import annotations

import urllib.parse

from fastapi import Request, Response, status
from fastapi.responses import RedirectResponse

from voicebot.accounts.principal import Principal
from voicebot.accounts.sessions import SESSION_COOKIE, SessionEnd
from voicebot.calllog.models import ApiRole
from voicebot.i18n.catalogues import N_
from voicebot.web.rendering import error_page, page_locale, services_of

COOKIE = SESSION_COOKIE
MAX_FORM_BYTES = 4096
CONSOLE_ROLES = (ApiRole.OPERATOR,)
DASHBOARD_ROLES = (ApiRole.MANAGER,)
PAGE_ROLES = {
    "/console": CONSOLE_ROLES,
    "/dashboard": DASHBOARD_ROLES,
    "/calls": DASHBOARD_ROLES,
    "/learning": DASHBOARD_ROLES,
}
"""Roles (besides admin) of each page, by path prefix: the landing logic never sends a
reader to a page that would answer 403."""
ROLE_NAMES = {
    ApiRole.OPERATOR: N_("operator"),
    ApiRole.MANAGER: N_("manager"),
    ApiRole.KB_EDITOR: N_("knowledge base editor"),
    ApiRole.ADMIN: N_("administrator"),
}
SESSION_END_MESSAGES = {
    SessionEnd.EXPIRED: N_("Your session has expired. Please sign in again."),
    SessionEnd.LOGOUT: N_("You are signed out."),
    SessionEnd.REVOKED: N_("An administrator ended your session. Please sign in again."),
    SessionEnd.ACCOUNT_DISABLED: N_("Your account has been disabled. Ask an administrator."),
    SessionEnd.PASSWORD_CHANGED: N_("Your password was changed. Sign in with the new one."),
    SessionEnd.ROLE_CHANGED: N_("Your role no longer allows this page. Please sign in again."),
}
"""What the sign-in page (and the console, when its live feed ends) says about a session
that ended (``?ended=<reason>``)."""


def session_end_message(reason: str | None) -> str | None:
    """The message (untranslated) for ``?ended=reason``, None for none or an unknown one."""
    try:
        return SESSION_END_MESSAGES.get(SessionEnd(reason or ""))
    except ValueError:
        return None


def landing_page(key: Principal) -> str:
    """Where a signed-in reader starts: operators at the console, others at the dashboard."""
    return "/console" if key.role is ApiRole.OPERATOR else "/dashboard"


def may_open(key: Principal, path: str) -> bool:
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


def login_redirect(request: Request, ended: SessionEnd | None = None) -> RedirectResponse:
    """To the login form, coming back to this page afterwards (saying why, if a session
    just ended)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = {"next": target}
    if ended is not None and ended is not SessionEnd.UNKNOWN:
        query["ended"] = ended.value
    return RedirectResponse("/login?" + urllib.parse.urlencode(query), status.HTTP_303_SEE_OTHER)


def signed_in(request: Request) -> Principal | None:
    """The account of the session cookie if the session works: for pages that only adapt
    their navigation (error pages)."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    return services_of(request).staff.check_session(token).principal


def authorise(request: Request, roles: tuple[ApiRole, ...]) -> Principal | Response:
    """The signed-in account if it has one of ``roles``; else the page to show."""
    services = services_of(request)
    token = request.cookies.get(COOKIE)
    if not token:
        return login_redirect(request)
    check = services.staff.check_session(token)
    if check.principal is None:
        redirect = login_redirect(request, check.ended)
        redirect.delete_cookie(COOKIE, path="/")
        return redirect
    info = check.principal
    if not info.allows(roles):
        loc = page_locale(request)
        needed = loc.either([loc.gettext(ROLE_NAMES[r]) for r in (*roles, ApiRole.ADMIN)])
        message = loc.gettext(
            "This page is for the roles: %(needed)s. You are signed in as %(role)s."
        ) % {"needed": needed, "role": loc.gettext(ROLE_NAMES[info.role])}
        return error_page(request, 403, message, info, loc=loc)
    return info


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form body (small forms only; no multipart needed)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    pairs = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    return dict(pairs)
