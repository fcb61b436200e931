"""A running ``voicebot serve`` seen from outside: its simulator, its API and its live events.

Wraps :func:`tests.support.serve_process.start_serve` with what end-to-end tests
observe: an HTTP client with manager and operator keys (made directly in the serve
process's call log database, as ``voicebot keys create`` would), and a recorder of the
live event stream (Server-Sent Events) that the call sessions publish as they run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from tests.support.serve_process import ServeProcess, start_serve
from voicebot.accounts.keys import create_key
from voicebot.calllog.db import create_calllog_engine
from voicebot.live.events import call_key
from voicebot.telephony.simulator import AsteriskSimulator

OPEN_HOURS = "2026-11-23T10:00:00+01:00"
"""A Monday morning in Brussels (no holiday): every department and the operator are open."""
SATURDAY_NIGHT = "2026-11-28T23:00:00+01:00"
"""A Saturday night in Brussels: every department and the operator are closed."""

HTTP_TIMEOUT_S = 10.0
RECORD_TIMEOUT_S = 20.0
"""How long a finished call may take to reach the call log (batch writer)."""


@dataclass
class LiveEvents:
    """Events of ``GET /api/live`` in arrival order, collected in the background."""

    events: list[dict[str, Any]] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def of_call(self, call_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        """The events of one call (optionally of one type), in order; the stream names
        calls by their opaque key, never by the UUID the simulator knows them by."""
        key = call_key(call_id)
        return [
            event
            for event in self.events
            if event.get("call_key") == key and (kind is None or event.get("type") == kind)
        ]

    async def wait_for(self, call_id: str, kind: str, timeout: float) -> dict[str, Any]:
        """The first event of ``kind`` for ``call_id``, waiting for it up to ``timeout``."""
        async with asyncio.timeout(timeout):
            while True:
                found = self.of_call(call_id, kind)
                if found:
                    return found[0]
                self.changed.clear()
                await self.changed.wait()

    async def follow(self, client: httpx.AsyncClient, key: str) -> None:
        """Read the stream until cancelled (``event:`` / ``data:`` lines, blank line ends one)."""
        headers = {"X-API-Key": key, "Accept": "text/event-stream"}
        async with client.stream("GET", "/api/live", headers=headers, timeout=None) as response:
            response.raise_for_status()
            name, data = "", ""
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    name = line.removeprefix("event:").strip()
                elif line.startswith("data:"):
                    data = line.removeprefix("data:").strip()
                elif not line and name:
                    if name == "ready":
                        self.ready.set()
                    else:
                        self.events.append(json.loads(data))
                        self.changed.set()
                    name, data = "", ""


@dataclass
class ServedAssistant:
    """``voicebot serve`` under test, with API access and its live events."""

    process: ServeProcess
    engine: Engine
    http: httpx.AsyncClient
    manager_key: str
    operator_key: str
    live: LiveEvents
    placed: list[str] = field(default_factory=list)
    """Call ids of every call the tests placed, in order."""

    @property
    def simulator(self) -> AsteriskSimulator:
        """The Asterisk simulator the process is wired to."""
        return self.process.simulator

    async def get(self, path: str, key: str | None = None) -> httpx.Response:
        """GET an API path with the manager key (or ``key``)."""
        return await self.http.get(path, headers={"X-API-Key": key or self.manager_key})

    async def call_record(self, call_id: str, timeout: float = RECORD_TIMEOUT_S) -> dict[str, Any]:
        """``GET /api/calls/{id}`` once the call has been written to the call log."""
        async with asyncio.timeout(timeout):
            while True:
                response = await self.get(f"/api/calls/{call_id}")
                if response.status_code == 200:
                    body: dict[str, Any] = response.json()
                    return body
                assert response.status_code == 404, response.text
                await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def serve_assistant(
    workdir: Path, cache_dir: Path, settings: dict[str, Any] | None = None
) -> AsyncIterator[ServedAssistant]:
    """Start ``voicebot serve`` and follow its live events; stop it (SIGTERM) on exit."""
    process = await start_serve(workdir, cache_dir=cache_dir, settings=settings)
    engine = create_calllog_engine(process.settings["database_url"])
    http = httpx.AsyncClient(base_url=process.api_url, timeout=HTTP_TIMEOUT_S)
    follower: asyncio.Task[None] | None = None
    try:
        manager_key = create_key(engine, "e2e manager", "manager")
        operator_key = create_key(engine, "e2e operator", "operator")
        live = LiveEvents()
        follower = asyncio.create_task(live.follow(http, operator_key), name="live events")
        try:
            async with asyncio.timeout(HTTP_TIMEOUT_S):
                await live.ready.wait()
        except TimeoutError:
            if follower.done():
                follower.result()  # the stream's own error says more than the timeout
            raise
        yield ServedAssistant(process, engine, http, manager_key, operator_key, live)
    finally:
        if follower is not None:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await follower
        await http.aclose()
        await process.stop()
        engine.dispose()
