"""One place builds the running assistant; ``serve``, ``demo`` and the tests all use it.

:func:`assemble` builds each part once, in this order: the call log engine and writer
(the writer migrates the schema, or spools until the database appears), the knowledge
base store (the only load of the KB), recognisers, router and pre-rendered prompts, the
API services (sharing the engine, store, writer and embedder), the AMI connector with its
channel directory and call control, the call server, and optionally the HTTP API. Leaving
the context undoes it in reverse: calls finish (up to the grace period), the API stops,
AMI logs off, the writer flushes what it can and spools the rest.

:func:`open_api` is the API-only subset (no calls, no models) for tools and tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from voicebot.accounts.service import StaffAuth
from voicebot.api.kb_history import KbHistory
from voicebot.api.kb_store import KnowledgeBaseStore
from voicebot.api.live import LiveEventBus, create_live_bus
from voicebot.api.services import ApiServices
from voicebot.app import create_app
from voicebot.calllog.db import create_calllog_engine, migrate
from voicebot.calllog.journal import CallJournal
from voicebot.calllog.pseudonymize import Pseudonymizer
from voicebot.calllog.repository import CallLogRepository
from voicebot.calllog.stats import CallLogStats
from voicebot.calllog.writer import CallLogWriter
from voicebot.calls.admission import AnnouncedCalls
from voicebot.calls.bootstrap import StartupReport, build_recognizers, build_router, build_tts
from voicebot.calls.control import AmiCallControl
from voicebot.calls.observers import MetricsObserver
from voicebot.calls.recognition import TranscriptScript
from voicebot.calls.server import CallServer
from voicebot.calls.services import CallObserver, CallServices
from voicebot.config import Settings, audiosocket_allow_list, forwarded_allow_list
from voicebot.dialog import DialogConfig
from voicebot.http_server import ApiHttpServer
from voicebot.knowledge.model import KnowledgeBase
from voicebot.knowledge.workspace import editable_kb_path
from voicebot.metrics import Metrics
from voicebot.routing.embedders import Embedder
from voicebot.speech.endpointing import EndpointerConfig
from voicebot.speech.vad import SileroVad
from voicebot.telephony.admission import PeerAllowList, RefusalLog
from voicebot.telephony.ami import AmiClient, AmiSettings
from voicebot.telephony.channels import ChannelDirectory

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AssemblyOptions:
    """How this process runs, beyond the settings."""

    script: TranscriptScript | None = None
    """Test harness only: each call's words come from this script instead of Vosk."""
    observers: Sequence[CallObserver] = ()
    """More call observers besides the metrics and the live bus (the demo's printer)."""
    reuse_port: bool = False
    """SO_REUSEPORT on the AudioSocket and API ports (several worker processes)."""
    http: bool = False
    """Serve the HTTP API and pages on ``settings.api_host:api_port``."""
    ami_wait_s: float = 0.0
    """Wait up to this long for the first AMI login before taking calls (0: do not wait,
    the connector keeps trying in the background); TimeoutError when it does not come."""
    database_wait_s: float = 3.0
    """How long start-up waits for the outcome of the first schema migration before going
    on without the database (calls are then spooled until it appears)."""
    writer_flush_s: float = 30.0
    """At the end, how long the writer may take to store what is queued."""
    fallback_script: TranscriptScript | None = None
    """The demo: words from this script for a language without a Vosk model (instead of
    refusing to start)."""


@dataclass(slots=True)
class Runtime:
    """Everything :func:`assemble` built, for the process that runs it."""

    settings: Settings
    engine: Engine
    writer: CallLogWriter
    kb_store: KnowledgeBaseStore
    calls: CallServices
    api: ApiServices
    ami: AmiClient
    directory: ChannelDirectory
    server: CallServer
    report: StartupReport
    http: ApiHttpServer | None = None

    @property
    def api_port(self) -> int | None:
        """The bound HTTP port, when the API is served."""
        return None if self.http is None else self.http.port

    async def stop_calls(self) -> None:
        """Refuse new calls and let those in progress finish (up to ``call_grace_s``)."""
        await self.server.stop(self.settings.call_grace_s)


@contextlib.asynccontextmanager
async def assemble(
    settings: Settings, options: AssemblyOptions | None = None
) -> AsyncIterator[Runtime]:
    """Build the whole runtime from ``settings``; see the module docstring for the order."""
    options = options or AssemblyOptions()
    report = StartupReport()
    # Never edit the sample inside the package: work on a copy in the data directory.
    kb_path, kb_note = editable_kb_path(settings.kb_path, settings.data_dir)
    settings = settings.model_copy(update={"kb_path": kb_path})
    if kb_note is not None:
        report.notes.append(kb_note)
    async with contextlib.AsyncExitStack() as stack:
        engine, writer, journal = _open_call_log(settings, stack, options.writer_flush_s, report)
        started = time.perf_counter()
        kb_store = KnowledgeBaseStore(settings.kb_path, history=KbHistory(engine))
        stack.callback(kb_store.close)
        kb = kb_store.current()
        report.timed("load_kb", started)
        started = time.perf_counter()
        recognizers = build_recognizers(
            settings, kb, options.script, fallback=options.fallback_script
        )
        report.timed("load_speech_models", started)
        report.notes.append(f"recognition: {recognizers.description}")
        started = time.perf_counter()
        router = build_router(settings, kb)
        report.timed("load_router", started)
        tts = await build_tts(settings, kb, report)
        stack.push_async_callback(tts.synthesizer.close)
        live_bus = create_live_bus(settings.redis_url)
        stack.callback(_close_quietly, live_bus)
        ami = AmiClient(
            AmiSettings(
                host=settings.ami_host,
                port=settings.ami_port,
                username=settings.ami_username,
                secret=settings.ami_secret,
            )
        )
        directory = ChannelDirectory()
        directory.attach(ami)
        api = _api_services(settings, engine, kb_store, live_bus, writer, router.embedder)
        api.ami = ami
        api.models = {
            "recognition": recognizers.description,
            "embedder": router.embedder.model_id,
            "speech_synthesis": tts.synthesizer.version,
        }
        calls = CallServices.create(
            router,
            recognizers=recognizers,
            tts=tts,
            vad_factory=SileroVad,
            records=writer,
            journal=journal,
            control=AmiCallControl(ami, directory, settings.sounds_dir),
            dialog_config=DialogConfig(max_call_duration=timedelta(seconds=settings.max_call_s)),
            endpointing=EndpointerConfig(
                trailing_silence=settings.endpoint_silence_ms / 1000,
                no_input_timeout=settings.no_input_timeout_s,
                from_voiced_frame=settings.endpoint_from_voice,
            ),
            observers=[MetricsObserver(api.metrics), live_bus, *options.observers],
        )
        api.router_source = lambda: calls.router
        moment = settings.simulated_moment
        if moment is not None:
            # Demos and tests: opening hours as at that moment, whatever the day it runs.
            calls.shift_clock_to(moment)
            report.notes.append(f"simulated time: calls start at {moment.isoformat()}")
        _follow_kb_edits(kb_store, calls, settings)

        stack.push_async_callback(ami.close)
        if options.ami_wait_s > 0:
            await ami.connect(timeout=options.ami_wait_s)
        else:
            ami.start()  # connects and reconnects in the background: Asterisk may start later
        report.notes.append(await _call_log_state(settings, writer, options.database_wait_s))
        refusals = RefusalLog()
        server = CallServer(
            calls,
            settings.audiosocket_host,
            settings.audiosocket_port,
            options.reuse_port,
            allow=PeerAllowList(
                audiosocket_allow_list(settings.audiosocket_allow_from, settings.ami_host)
            ),
            max_calls=settings.audiosocket_max_calls,
            admit=AnnouncedCalls(
                ami, directory, refusals, window_s=settings.audiosocket_announce_window_s
            ),
            refusals=refusals,
        )
        await server.start()
        stack.push_async_callback(server.stop, settings.call_grace_s)
        api.metrics.track_sessions(server)
        api.metrics.track_refusals(refusals)
        runtime = Runtime(
            settings, engine, writer, kb_store, calls, api, ami, directory, server, report
        )
        if options.http:
            runtime.http = ApiHttpServer(
                create_app(api),
                settings.api_host,
                settings.api_port,
                reuse_port=options.reuse_port,
                forwarded_allow_ips=forwarded_allow_list(settings.forwarded_allow_ips),
            )
            runtime.http.start()
            stack.push_async_callback(runtime.http.stop)
            # The API stops after the calls: registered later, it is stopped first, so
            # stop the calls before it explicitly.
            stack.push_async_callback(runtime.stop_calls)
        yield runtime


@contextlib.contextmanager
def open_api(settings: Settings, *, embedder: Embedder | None = None) -> Iterator[ApiServices]:
    """The API's services alone, over a migrated database (tools, benchmarks, tests)."""
    url = settings.resolved_database_url
    migrate(url)
    with contextlib.ExitStack() as stack:
        engine = create_calllog_engine(url)
        stack.callback(engine.dispose)
        kb_store = KnowledgeBaseStore(settings.kb_path, history=KbHistory(engine))
        stack.callback(kb_store.close)
        live_bus = create_live_bus(settings.redis_url)
        stack.callback(_close_quietly, live_bus)
        yield _api_services(settings, engine, kb_store, live_bus, None, embedder)


def _open_call_log(
    settings: Settings, stack: contextlib.AsyncExitStack, flush_s: float, report: StartupReport
) -> tuple[Engine, CallLogWriter, CallJournal]:
    """The engine, the call journal and the writer; the writer's first job is the schema
    migration, its second the calls a crash of the previous process left interrupted."""
    url = settings.resolved_database_url
    engine = create_calllog_engine(url)  # lazy: connects on first use
    stack.callback(engine.dispose)
    repository = _repository(settings, engine)
    journal = CallJournal(settings.journal_dir, repository.caller_hash)
    interrupted = journal.open()
    stack.callback(journal.close)  # after the writer's close: its last records end there
    writer = CallLogWriter(
        repository,
        settings.spool_dir,
        max_spool_bytes=settings.calllog_spool_max_bytes,
        prepare=lambda: migrate(url),
        on_durable=journal.ended,
    )
    stack.callback(_close_writer, writer, flush_s)
    for record in interrupted:
        writer.submit(record)
    if interrupted:
        report.notes.append(
            f"call journal: {len(interrupted)} call(s) interrupted by the previous stop "
            "recorded (outcome interrupted)"
        )
    return engine, writer, journal


async def _call_log_state(settings: Settings, writer: CallLogWriter, wait_s: float) -> str:
    """One line on the call log: migrated, or away (and spooled) until it appears."""
    url = settings.resolved_database_url
    if await asyncio.to_thread(writer.wait_first_attempt, wait_s):
        return f"call log: {url.split(':', 1)[0]} schema up to date"
    why = writer.prepare_error or f"no answer within {wait_s:.0f} s"
    spool = settings.data_dir / "spool"
    return (
        f"call log: database unreachable ({why}); calls are taken and spooled in {spool} "
        "until it appears, then the schema is migrated and the spool replayed"
    )


def _api_services(
    settings: Settings,
    engine: Engine,
    kb_store: KnowledgeBaseStore,
    live_bus: LiveEventBus,
    writer: CallLogWriter | None,
    embedder: Embedder | None,
) -> ApiServices:
    metrics = Metrics()
    if writer is not None:
        metrics.track_spool(writer)
    return ApiServices(
        engine=engine,
        repository=_repository(settings, engine),
        stats=CallLogStats(engine, kb_store.current().city.timezone),
        kb_store=kb_store,
        live_bus=live_bus,
        metrics=metrics,
        settings=settings,
        staff=StaffAuth(engine),
        embedder=embedder,
        writer=writer,
    )


def _repository(settings: Settings, engine: Engine) -> CallLogRepository:
    key = settings.pseudonym_key.encode("utf-8")
    return CallLogRepository(engine, Pseudonymizer(key, settings.default_country_code))


def _follow_kb_edits(kb_store: KnowledgeBaseStore, calls: CallServices, settings: Settings) -> None:
    """A KB edit through the API rebuilds the router in the background; calls go on."""

    def rebuild(kb: KnowledgeBase) -> None:
        calls.replace_router(build_router(settings, kb))
        _LOGGER.info("knowledge base changed: router rebuilt")

    kb_store.subscribe(rebuild)


def _close_writer(writer: CallLogWriter, flush_s: float) -> None:
    if not writer.close(flush_s):
        _LOGGER.error("call log writer could not flush everything: rest kept in the spool")


def _close_quietly(bus: LiveEventBus) -> None:
    # The bus is best effort (live views); its failure to close must not hide another.
    with contextlib.suppress(Exception):
        bus.close()
