"""The HTTP API and pages under uvicorn, on a socket of our own (for SO_REUSEPORT workers).

Uvicorn's own signal handling is off: on SIGTERM calls must finish before the API stops,
so the process decides when to stop it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI


class _Server(uvicorn.Server):
    """Uvicorn without its signal handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ApiHttpServer:
    """Serves ``app`` on ``host:port`` (0: an ephemeral port) until :meth:`stop`."""

    def __init__(
        self,
        app: FastAPI,
        host: str,
        port: int,
        *,
        reuse_port: bool = False,
        forwarded_allow_ips: list[str] | None = None,
    ) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        self._sock.bind((host, port))
        self._sock.listen(128)
        self._sock.setblocking(False)
        config = uvicorn.Config(
            app,
            log_level="warning",
            timeout_graceful_shutdown=2,
            lifespan="on",
            # Off unless proxies are named: uvicorn's default believes X-Forwarded-For from
            # 127.0.0.1, which let any local client pick the address the sign-in limits see.
            proxy_headers=bool(forwarded_allow_ips),
            forwarded_allow_ips=forwarded_allow_ips or None,
        )
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._sock.getsockname()[1])

    def start(self) -> None:
        """Start serving in the background."""
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]), name="api")

    async def stop(self) -> None:
        """Finish requests in flight (up to 2 s) and stop."""
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._sock.close()
