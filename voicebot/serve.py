"""``voicebot serve``: AudioSocket media server, AMI connector, call log writer and API in
one process; several such workers share the ports with SO_REUSEPORT.

Shutdown (SIGTERM or SIGINT) is graceful: no new call is accepted, calls in progress
finish (up to a grace period), every record is flushed, then the API stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from voicebot.api.services import ApiServices, build_services
from voicebot.app import create_app
from voicebot.calls.bootstrap import build_call_services, build_router, build_writer
from voicebot.calls.control import AmiCallControl
from voicebot.calls.observers import MetricsObserver
from voicebot.calls.recognition import TranscriptScript
from voicebot.calls.server import CallServer
from voicebot.calls.services import CallServices
from voicebot.config import Settings, forwarded_allow_list
from voicebot.knowledge.model import KnowledgeBase
from voicebot.knowledge.workspace import editable_kb_path
from voicebot.telephony.ami import AmiClient, AmiSettings
from voicebot.telephony.channels import ChannelDirectory

_LOGGER = logging.getLogger(__name__)

WRITER_FLUSH_S = 30.0


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """Command-line options of ``voicebot serve``."""

    transcripts_dir: Path | None = None
    """Test-only: transcripts from ``<dir>/<call uuid>.txt`` instead of a speech model."""
    ready_file: Path | None = None
    """Written with the bound ports once the worker accepts calls (for scripts and tests)."""
    worker_child: bool = False


def run_serve(settings: Settings, options: ServeOptions) -> int:
    """Run the configured number of workers until SIGTERM/SIGINT; returns an exit code."""
    if settings.workers > 1 and not options.worker_child:
        return _run_workers(settings, options)
    return asyncio.run(_serve_worker(settings, options))


def _run_workers(settings: Settings, options: ServeOptions) -> int:
    """This process is worker 0; the others are children sharing the ports."""
    children = []
    env = {**os.environ, "VOICEBOT_WORKERS": "1"}
    command = [sys.executable, "-m", "voicebot.cli", "serve", "--worker-child"]
    if options.transcripts_dir:
        command += ["--transcripts-dir", str(options.transcripts_dir)]
    for _ in range(settings.workers - 1):
        children.append(subprocess.Popen(command, env=env))
    try:
        return asyncio.run(_serve_worker(settings, options))
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(settings.call_grace_s + WRITER_FLUSH_S)
            except subprocess.TimeoutExpired:
                child.kill()


async def _serve_worker(settings: Settings, options: ServeOptions) -> int:
    reuse_port = settings.workers > 1 or options.worker_child
    # Never edit the sample inside the package: work on a copy in the data directory.
    kb_path, kb_note = editable_kb_path(settings.kb_path, settings.data_dir)
    settings = dataclasses.replace(settings, kb_path=kb_path)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    ami = AmiClient(
        AmiSettings(
            host=settings.ami_host,
            port=settings.ami_port,
            username=settings.ami_username,
            secret=settings.ami_secret,
        )
    )
    ami.start()  # connects and reconnects in the background: Asterisk may start later
    directory = ChannelDirectory()
    directory.attach(ami)
    control = AmiCallControl(ami, directory, settings.sounds_dir)
    writer = build_writer(settings)
    script = TranscriptScript(options.transcripts_dir) if options.transcripts_dir else None
    api: ApiServices | None = None
    services: CallServices | None = None
    try:
        api = build_services(settings, writer=writer, load_embedder=False)
        services, _, report = await build_call_services(
            settings,
            script=script,
            control=control,
            writer=writer,
            observers=[MetricsObserver(api.metrics), api.live_bus],
        )
        api.embedder = services.router.embedder
        api.router_source = lambda: services.router
        if kb_note is not None:
            report.notes.append(kb_note)
        moment = settings.simulated_moment
        if moment is not None:
            # Demos and tests: opening hours as at that moment, whatever the day it runs.
            services.shift_clock_to(moment)
            report.notes.append(f"simulated time: calls start at {moment.isoformat()}")
        _follow_kb_edits(api, services, settings)
        calls = CallServer(
            services, settings.audiosocket_host, settings.audiosocket_port, reuse_port
        )
        await calls.start()
        api.metrics.track_sessions(calls)
        api_server, api_socket = _api_server(create_app(api), settings, reuse_port)
        api_port = int(api_socket.getsockname()[1])
        api_task = asyncio.create_task(api_server.serve(sockets=[api_socket]))
        _announce(settings, calls.port, api_port, report.steps, report.notes, options)
        await stop.wait()
        _LOGGER.warning("shutting down: %d call(s) in progress", calls.active_calls)
        await calls.stop(settings.call_grace_s)
        api_server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await api_task
        return 0
    finally:
        if not writer.close(WRITER_FLUSH_S):
            _LOGGER.error("call log writer could not flush everything: rest kept in the spool")
        await ami.close()
        if services is not None:
            await services.tts.synthesizer.close()
        if api is not None:
            api.close()


def _follow_kb_edits(api: ApiServices, services: CallServices, settings: Settings) -> None:
    """A KB edit through the API rebuilds the router in the background; calls go on."""

    def rebuild(kb: KnowledgeBase) -> None:
        services.replace_router(build_router(settings, kb))
        _LOGGER.info("knowledge base changed: router rebuilt")

    api.kb_store.subscribe(rebuild)


class _ApiServer(uvicorn.Server):
    """Uvicorn without its own signal handling: calls must finish before the API stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _api_server(
    app: FastAPI, settings: Settings, reuse_port: bool
) -> tuple[uvicorn.Server, socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((settings.api_host, settings.api_port))
    sock.listen(128)
    sock.setblocking(False)
    proxies = forwarded_allow_list(settings.forwarded_allow_ips)
    config = uvicorn.Config(
        app,
        log_level="warning",
        timeout_graceful_shutdown=2,
        lifespan="on",
        # Off unless proxies are named: uvicorn's default believes X-Forwarded-For from
        # 127.0.0.1, which let any local client pick the address the sign-in limits see.
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
    )
    return _ApiServer(config), sock


def _announce(
    settings: Settings,
    audiosocket_port: int,
    api_port: int,
    steps: dict[str, float],
    notes: list[str],
    options: ServeOptions,
) -> None:
    timings = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in steps.items())
    print(
        f"voicebot ready (pid {os.getpid()}): AudioSocket {settings.audiosocket_host}:"
        f"{audiosocket_port}, API http://{settings.api_host}:{api_port}, "
        f"AMI {settings.ami_host}:{settings.ami_port}",
        flush=True,
    )
    print(f"  start-up: {timings}", flush=True)
    for note in notes:
        print(f"  {note}", flush=True)
    if options.ready_file is not None:
        options.ready_file.write_text(
            f'{{"audiosocket_port": {audiosocket_port}, "api_port": {api_port}, '
            f'"pid": {os.getpid()}}}\n',
            encoding="utf-8",
        )
