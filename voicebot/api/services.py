"""What the API's endpoints need, gathered in one object the app is built from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Engine

from voicebot.accounts.service import StaffAuth
from voicebot.api.board import LiveCallBoard
from voicebot.api.kb_store import KnowledgeBaseStore
from voicebot.api.live import LiveEventBus
from voicebot.calllog.repository import CallLogRepository
from voicebot.calllog.stats import CallLogStats
from voicebot.calllog.writer import CallLogWriter
from voicebot.config import Settings
from voicebot.metrics import Metrics
from voicebot.routing.embedders import Embedder
from voicebot.routing.router import Router
from voicebot.telephony.ami_types import AmiStatus


class AmiWatched(Protocol):
    """The AMI connector as ``/health`` sees it."""

    def status(self) -> AmiStatus:
        """State, outage duration and last error."""
        ...


@dataclass(slots=True)
class ApiServices:
    """Shared objects the endpoints use; the call path may share the same instances."""

    engine: Engine
    repository: CallLogRepository
    stats: CallLogStats
    kb_store: KnowledgeBaseStore
    live_bus: LiveEventBus
    metrics: Metrics
    settings: Settings
    staff: StaffAuth
    """Accounts, sessions, API keys, sign-in limits and the audit trail."""
    embedder: Embedder | None = None
    """Embeds not-understood questions to group them; None: that statistic answers 503."""
    writer: CallLogWriter | None = None
    """The call log writer of this process, for ``/health`` and the spool gauge."""
    board: LiveCallBoard = field(default_factory=LiveCallBoard)
    """Transferred calls for the console, fed from ``live_bus`` while the app runs."""
    router_source: Callable[[], Router] | None = None
    """The router calls use right now (rebuilt after each KB edit), for "test a phrase";
    None: that endpoint answers 503."""
    live_recheck_s: float = 5.0
    """How often an open live stream checks that its key or session still works."""
    kb_poll_interval_s: float = 5.0
    """How often the app checks the KB file for edits made by another worker or by hand."""
    ami: AmiWatched | None = None
    """The AMI connector of this process, for ``/health``; None: no PBX attached."""
    models: dict[str, str] | None = None
    """What recognises, routes and speaks, once loaded (for ``/health``)."""
