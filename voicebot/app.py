"""The HTTP application: the API (:mod:`voicebot.api`) and the staff pages (:mod:`voicebot.web`).

This factory sits above both packages so that neither imports the other's composition:
``web`` uses the API's services, dependencies and authentication; ``api`` knows nothing of
the pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi_offline import FastAPIOffline

from voicebot.api.errors import add_error_handlers
from voicebot.api.routes import (
    accounts,
    audit,
    callbacks,
    calls,
    health,
    kb,
    keys,
    learning,
    live,
    stats,
)
from voicebot.api.services import ApiServices
from voicebot.web.pages import mount_pages

_LOGGER = logging.getLogger(__name__)

DESCRIPTION = """
Call logs, statistics, knowledge base and live events of the voicebot switchboard.

Every `/api` endpoint needs an API key (for machines), sent as `Authorization: Bearer <key>`
or `X-API-Key: <key>`, or the session cookie of a staff member signed in at `/login`.
Roles: **operator** (live calls, transferred calls, callbacks), **manager** (calls,
statistics, CSV), **kb_editor** (a manager who also edits the knowledge base), **admin**
(accounts, keys, and everything else). Create the first admin account with
`voicebot accounts create NAME --role admin`, or a key with `voicebot keys create`.

A valid key is never refused; after 10 wrong keys within a minute, an address gets `429`
with `Retry-After` for further wrong keys. Passwords are limited per account (see
`/login`). Every sign-in failure, lockout, account and key change and KB edit is in the
audit trail (`GET /api/audit`).
Times without a zone are taken in the city's time zone; answers are in UTC or, for
statistics buckets, in the city's zone.
"""

TAGS = [
    {"name": "calls", "description": "Recorded calls (manager)."},
    {"name": "statistics", "description": "Figures from the hourly rollups (manager)."},
    {"name": "knowledge base", "description": "FAQ entries and departments (kb_editor)."},
    {
        "name": "learning",
        "description": "Test a phrase, teach the KB, versions (manager, kb_editor).",
    },
    {"name": "callbacks", "description": "Callback queue (operator)."},
    {"name": "live", "description": "Live call events (operator)."},
    {"name": "keys", "description": "API keys for machines (admin)."},
    {"name": "accounts", "description": "Staff accounts (admin) and who is asking."},
    {"name": "audit", "description": "Audit trail of sign-ins, accounts, keys, KB edits (admin)."},
    {"name": "health", "description": "Liveness and metrics (no key)."},
]


async def _feed_board(services: ApiServices) -> None:
    """Keep the console's board of transferred calls up to date from the live bus."""
    while True:
        try:
            async with services.live_bus.subscribe() as subscription:
                async for event in subscription:
                    services.board.apply(event)
        except asyncio.CancelledError:
            raise
        except Exception:
            _LOGGER.exception("live events: board subscription failed; retrying in 1 s")
            await asyncio.sleep(1.0)


async def _poll_kb(services: ApiServices) -> None:
    """Pick up KB edits made by other worker processes or by hand."""
    while True:
        await asyncio.sleep(services.kb_poll_interval_s)
        try:
            await run_in_threadpool(services.kb_store.reload_if_changed)
        except Exception:
            _LOGGER.exception("knowledge base reload check failed")


def create_app(services: ApiServices) -> FastAPI:
    """The application serving ``services``; their lifetime stays the caller's."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(_feed_board(services), name="live-board"),
            asyncio.create_task(_poll_kb(services), name="kb-poll"),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    if services.writer is not None:
        services.metrics.track_spool(services.writer)
    if services.ami is not None:
        services.metrics.track_ami(services.ami)
    # Swagger UI and ReDoc from the assets packaged with fastapi-offline, not a CDN: the
    # city's network may have no internet access, and /docs must still work there.
    app = FastAPIOffline(
        title="voicebot",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.services = services
    add_error_handlers(app)
    api = APIRouter(prefix="/api")
    for module in (calls, stats, kb, learning, callbacks, live, keys, accounts, audit):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(health.router)
    mount_pages(app)
    return app
