"""What the API's endpoints need, gathered in one object the app is built from."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from voicebot.accounts.service import StaffAuth
from voicebot.api.board import LiveCallBoard
from voicebot.api.kb_history import KbHistory
from voicebot.api.kb_store import KnowledgeBaseStore
from voicebot.api.live import LiveEventBus, create_live_bus
from voicebot.api.metrics import Metrics
from voicebot.calllog.db import create_calllog_engine, migrate
from voicebot.calllog.pseudonymize import Pseudonymizer
from voicebot.calllog.repository import CallLogRepository
from voicebot.calllog.stats import CallLogStats
from voicebot.calllog.writer import CallLogWriter
from voicebot.config import Settings
from voicebot.routing.embedders import Embedder, create_embedder
from voicebot.routing.router import Router

_LOGGER = logging.getLogger(__name__)


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

    def close(self) -> None:
        """Stop the bus and the KB notifier and release the database engine."""
        with contextlib.suppress(Exception):
            self.live_bus.close()
        self.kb_store.close()
        self.engine.dispose()


def build_services(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    writer: CallLogWriter | None = None,
    load_embedder: bool = True,
) -> ApiServices:
    """Everything from settings: migrated call log, repository, statistics, KB store, bus.

    The statistics use the city's time zone from the KB. Without ``embedder``, the
    configured backend is loaded (unless ``load_embedder`` is False).
    """
    url = settings.resolved_database_url
    migrate(url)
    engine = create_calllog_engine(url)
    kb_store = KnowledgeBaseStore(settings.kb_path, history=KbHistory(engine))
    if embedder is None and load_embedder:
        embedder = create_embedder(settings.embedder)
    metrics = Metrics()
    if writer is not None:
        metrics.track_spool(writer)
    return ApiServices(
        engine=engine,
        repository=CallLogRepository(
            engine,
            Pseudonymizer(settings.pseudonym_key.encode("utf-8"), settings.default_country_code),
        ),
        stats=CallLogStats(engine, kb_store.current().city.timezone),
        kb_store=kb_store,
        live_bus=create_live_bus(settings.redis_url),
        metrics=metrics,
        settings=settings,
        staff=StaffAuth(engine),
        embedder=embedder,
        writer=writer,
    )
