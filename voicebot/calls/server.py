"""The media server side of calls: one :class:`CallSession` per AudioSocket connection."""

from __future__ import annotations

import asyncio
import logging

from voicebot.calls.services import CallServices
from voicebot.calls.session import CallSession
from voicebot.telephony.admission import PeerAllowList, RefusalLog
from voicebot.telephony.audiosocket import (
    AdmissionCheck,
    AudioSocketConnection,
    AudioSocketServer,
)

_LOGGER = logging.getLogger(__name__)


class CallServer:
    """Accepts AudioSocket calls and runs their sessions; stops gracefully."""

    def __init__(
        self,
        services: CallServices,
        host: str,
        port: int,
        reuse_port: bool = False,
        *,
        allow: PeerAllowList | None = None,
        max_calls: int | None = None,
        admit: AdmissionCheck | None = None,
        refusals: RefusalLog | None = None,
    ) -> None:
        self.services = services
        self._sessions: set[CallSession] = set()
        self._server = AudioSocketServer(
            self._serve,
            host=host,
            port=port,
            reuse_port=reuse_port,
            allow=allow,
            max_sessions=max_calls,
            admit=admit,
            refusals=refusals,
        )
        self._idle = asyncio.Event()
        self._idle.set()
        self._accepting = True

    @property
    def port(self) -> int:
        """The bound TCP port (useful with port 0)."""
        return self._server.port

    @property
    def refusals(self) -> RefusalLog:
        """AudioSocket connections refused so far, by reason."""
        return self._server.refusals

    @property
    def active_calls(self) -> int:
        """Calls in progress."""
        return len(self._sessions)

    async def start(self) -> None:
        """Listen for Asterisk's AudioSocket connections."""
        await self._server.start()
        _LOGGER.info("AudioSocket server listening on port %d", self.port)

    async def stop(self, grace_s: float = 30.0) -> None:
        """Refuse new calls, let calls in progress finish (up to ``grace_s``), then close."""
        self._accepting = False
        if self._sessions:
            _LOGGER.info("waiting up to %.0f s for %d call(s)", grace_s, len(self._sessions))
            try:
                await asyncio.wait_for(self._idle.wait(), grace_s)
            except TimeoutError:
                _LOGGER.warning("%d call(s) still running at shutdown", len(self._sessions))
        await self._server.stop(timeout=5.0)

    async def _serve(self, conn: AudioSocketConnection) -> None:
        if not self._accepting:
            await conn.close()
            return
        session = CallSession(conn, self.services)
        self._sessions.add(session)
        self._idle.clear()
        try:
            await session.run()
        finally:
            self._sessions.discard(session)
            if not self._sessions:
                self._idle.set()
