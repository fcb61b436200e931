"""``voicebot serve``: AudioSocket media server, AMI connector, call log writer and API in
one process; several such workers share the ports with SO_REUSEPORT.

Shutdown (SIGTERM or SIGINT) is graceful: no new call is accepted, calls in progress
finish (up to a grace period), every record is flushed, then the API stops.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from voicebot.assembly import AssemblyOptions, assemble
from voicebot.calls.recognition import TranscriptScript
from voicebot.config import Settings

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
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    script = TranscriptScript(options.transcripts_dir) if options.transcripts_dir else None
    assembly = AssemblyOptions(
        script=script,
        reuse_port=settings.workers > 1 or options.worker_child,
        http=True,
        writer_flush_s=WRITER_FLUSH_S,
    )
    async with assemble(settings, assembly) as runtime:
        assert runtime.api_port is not None
        report = runtime.report
        _announce(
            settings, runtime.server.port, runtime.api_port, report.steps, report.notes, options
        )
        await stop.wait()
        _LOGGER.warning("shutting down: %d call(s) in progress", runtime.server.active_calls)
    return 0


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
