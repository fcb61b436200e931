"""FastAPI dependencies: the services, who is asking (key or session), roles, error helpers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from voicebot.accounts.keys import key_is_active
from voicebot.accounts.principal import Principal, PrincipalKind
from voicebot.accounts.sessions import SESSION_COOKIE, SessionEnd
from voicebot.api.services import ApiServices
from voicebot.api.sse import AccessProbe
from voicebot.calllog.models import ApiRole

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The key itself.")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="The pages' session (sign in at /login); unsafe methods need our Origin.",
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


MAX_SQL_INT = 2**63 - 1
"""Largest id or offset a query may carry: SQLite and PostgreSQL integers are 64-bit, and a
larger value would fail in the driver (500) instead of matching nothing."""


def get_services(request: Request) -> ApiServices:
    """The :class:`ApiServices` the app was created with."""
    services: ApiServices = request.app.state.services
    return services


ServicesDep = Annotated[ApiServices, Depends(get_services)]


def client_address(request: Request) -> str:
    """The client's IP address as the server sees it; ``X-Forwarded-For`` is believed only
    from the proxies of the ``forwarded_allow_ips`` setting (default: none)."""
    return request.client.host if request.client else "unknown"


def invalid(loc: tuple[str, ...], message: str) -> NoReturn:
    """Raise a 422 shaped like FastAPI's own validation errors."""
    raise HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"type": "value_error", "loc": list(loc), "msg": message}],
    )


def not_found(message: str) -> NoReturn:
    """Raise a 404 with ``message``."""
    raise HTTPException(status.HTTP_404_NOT_FOUND, detail=message)


def _refuse(status_code: int, detail: Any, **headers: str) -> NoReturn:
    raise HTTPException(status_code, detail=detail, headers=headers or None)


def check_key(services: ApiServices, client: str, key: str) -> Principal:
    """The principal of an active key, or 401 (unknown, revoked) / 429 (this address sent
    too many wrong keys; a valid key is never refused)."""
    check = services.staff.check_key(key, client)
    if check.principal is not None:
        return check.principal
    if check.retry_after_s is not None:
        _refuse(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many wrong API keys from this address; try later",
            **{"Retry-After": str(check.retry_after_s)},
        )
    _refuse(
        status.HTTP_401_UNAUTHORIZED,
        "unknown or revoked API key",
        **{"WWW-Authenticate": "Bearer"},
    )


def check_session(services: ApiServices, request: Request, token: str) -> Principal:
    """The principal of a session cookie, or 401 saying why the session ended; 403 for a
    cross-site request that would change something."""
    result = services.staff.check_session(token)
    if result.principal is None:
        reason = (result.ended or SessionEnd.UNKNOWN).value
        _refuse(
            status.HTTP_401_UNAUTHORIZED,
            {"msg": "the session has ended; sign in again", "reason": reason},
        )
    if request.method not in SAFE_METHODS and not same_origin(request):
        _refuse(status.HTTP_403_FORBIDDEN, "cross-site request refused")
    return result.principal


def same_origin(request: Request) -> bool:
    """Whether a cookie-authenticated request comes from our own pages (no Origin header,
    as from a same-origin form in some browsers, counts as ours; ``null`` does not)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return origin == f"{request.url.scheme}://{request.url.netloc}"


def authenticate_request(services: ApiServices, request: Request, key: str | None) -> Principal:
    """A header key if given, else the session cookie; 401 without either."""
    if key:
        return check_key(services, client_address(request), key)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        return check_session(services, request, token)
    _refuse(
        status.HTTP_401_UNAUTHORIZED,
        "an API key (Authorization: Bearer <key> or X-API-Key) or a signed-in session is required",
        **{"WWW-Authenticate": "Bearer"},
    )


def require_roles(*roles: ApiRole) -> Callable[..., Principal]:
    """A dependency admitting parties with one of ``roles`` (admin always): else 401/403/429."""
    names = " or ".join([*(role.value for role in roles), ApiRole.ADMIN.value])
    wanted = roles or (ApiRole.ADMIN,)

    def dependency(
        request: Request,
        services: ServicesDep,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        header_key: Annotated[str | None, Security(_header)],
        _cookie: Annotated[str | None, Security(_cookie)],
    ) -> Principal:
        key = bearer.credentials if bearer is not None else header_key
        principal = authenticate_request(services, request, key)
        if not principal.allows(wanted):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"this endpoint needs the {names} role (this is {principal.role.value})",
            )
        return principal

    return dependency


def access_probe(
    services: ApiServices, request: Request, principal: Principal, roles: tuple[ApiRole, ...]
) -> AccessProbe:
    """Checks, for an open live stream, that its key or session still works with ``roles``."""
    token = request.cookies.get(SESSION_COOKIE, "")

    def still_allowed() -> str | None:
        if principal.kind is PrincipalKind.KEY:
            return None if key_is_active(services.engine, principal.id) else "revoked"
        check = services.staff.check_session(token)
        if check.principal is None:
            return (check.ended or SessionEnd.UNKNOWN).value
        return None if check.principal.allows(roles) else SessionEnd.ROLE_CHANGED.value

    async def probe() -> str | None:
        return await run_in_threadpool(still_allowed)

    return probe


OperatorKey = Annotated[Principal, Depends(require_roles(ApiRole.OPERATOR))]
ManagerKey = Annotated[Principal, Depends(require_roles(ApiRole.MANAGER))]
KbEditorKey = Annotated[Principal, Depends(require_roles(ApiRole.KB_EDITOR))]
AdminKey = Annotated[Principal, Depends(require_roles())]


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
"""Times the API accepts: ranges are widened by days and hours, which must not leave the
years datetime can hold (``end=0001-01-01`` was a 500)."""


def local_time(
    services: ApiServices, value: datetime | None, name: str = "start"
) -> datetime | None:
    """An aware datetime: naive values are taken in the statistics' time zone (the city's);
    422 outside 1970..9000."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=services.stats.timezone)
    try:
        inside = EARLIEST <= value < LATEST
    except OverflowError:  # an offset that pushes year 1 or 9999 out of range
        inside = False
    if not inside:
        invalid(("query", name), f"{name} must be between 1970 and 9000")
    return value


def check_range(start: datetime | None, end: datetime | None) -> None:
    """422 unless ``start`` is before ``end`` (when both are given)."""
    if start is not None and end is not None and end <= start:
        invalid(("query", "end"), f"end {end.isoformat()} must be after start {start.isoformat()}")


AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No API key or session, an unknown or revoked key, or an ended session."},
    403: {"description": "The role may not use this endpoint, or a cross-site request."},
    429: {"description": "Too many wrong keys from this address (see Retry-After)."},
}
