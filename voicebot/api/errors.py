"""Errors every endpoint shares: a call log database that is away is a 503, not a 500.

``voicebot serve`` starts and takes calls while its database is still unreachable (the
call log spools); until the database is back, and migrated, data endpoints answer 503
with ``Retry-After`` so clients and load balancers retry instead of reporting a bug.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from voicebot.calllog.writer import is_database_unavailable, one_line

_LOGGER = logging.getLogger(__name__)

RETRY_AFTER_S = 5


def add_error_handlers(app: FastAPI) -> None:
    """Install the shared handlers on ``app``."""

    @app.exception_handler(sa_exc.SQLAlchemyError)
    async def database_error(request: Request, error: Exception) -> JSONResponse:
        if not is_database_unavailable(error):
            raise error
        _LOGGER.warning(
            "%s %s: call log database unavailable: %s",
            request.method,
            request.url.path,
            one_line(error),
        )
        return JSONResponse(
            {"detail": "call log database unavailable; try again shortly"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
