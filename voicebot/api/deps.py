"""FastAPI dependencies: the services, the authenticated key, its role, and error helpers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from voicebot.api.auth import ApiKeyInfo, authenticate
from voicebot.api.services import ApiServices
from voicebot.calllog.models import ApiRole

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The key itself.")


MAX_SQL_INT = 2**63 - 1
"""Largest id or offset a query may carry: SQLite and PostgreSQL integers are 64-bit, and a
larger value would fail in the driver (500) instead of matching nothing."""


def get_services(request: Request) -> ApiServices:
    """The :class:`ApiServices` the app was created with."""
    services: ApiServices = request.app.state.services
    return services


ServicesDep = Annotated[ApiServices, Depends(get_services)]


def client_address(request: Request) -> str:
    """The client's IP address as the server sees it (behind a proxy: see uvicorn's
    ``--proxy-headers`` and ``--forwarded-allow-ips``)."""
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


def check_key(services: ApiServices, client: str, key: str | None) -> ApiKeyInfo:
    """The active key for ``key``, or 429 (client blocked) / 401 (missing, unknown, revoked)."""
    retry_after = services.auth_limiter.retry_after(client)
    if retry_after is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail="too many failed authentication attempts from this address; try later",
            headers={"Retry-After": str(retry_after)},
        )
    if not key:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="an API key is required (Authorization: Bearer <key> or X-API-Key)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    info = authenticate(services.engine, key)
    if info is None:
        services.auth_limiter.record_failure(client)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="unknown or revoked API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return info


def require_roles(*roles: ApiRole) -> Callable[..., ApiKeyInfo]:
    """A dependency admitting keys with one of ``roles`` (and admin keys): else 401/403/429."""
    names = " or ".join([*(role.value for role in roles), ApiRole.ADMIN.value])

    def dependency(
        request: Request,
        services: ServicesDep,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        header_key: Annotated[str | None, Security(_header)],
    ) -> ApiKeyInfo:
        key = bearer.credentials if bearer is not None else header_key
        info = check_key(services, client_address(request), key)
        if not info.allows(roles):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"this endpoint needs a {names} key (this key is {info.role.value})",
            )
        return info

    return dependency


OperatorKey = Annotated[ApiKeyInfo, Depends(require_roles(ApiRole.OPERATOR))]
ManagerKey = Annotated[ApiKeyInfo, Depends(require_roles(ApiRole.MANAGER))]
AdminKey = Annotated[ApiKeyInfo, Depends(require_roles())]


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
    401: {"description": "No API key, or an unknown or revoked one."},
    403: {"description": "The key's role may not use this endpoint."},
    429: {"description": "Too many failed attempts from this address (see Retry-After)."},
}
