"""One worker process owning the pyttsx3 engine, and its blocking client.

A process rather than a thread: the espeak-ng engine is process-global state driven by its
own thread, it prints on stdout, and a stuck synthesis can only be stopped by killing
the process that runs it. The client restarts the worker after a crash or a timeout.

The worker is started as ``python -m voicebot.speech.tts_worker --fd N`` rather than with
multiprocessing's "spawn", which would re-import the parent's ``__main__`` (the whole
server, torch included) in the child; the two talk through a socketpair wrapped in
``multiprocessing.connection.Connection``.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from voicebot.speech.tts_engine import SynthesisError, VoiceInfo

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RenderJob:
    """One text to render."""

    text: str
    """What to say."""
    voice_id: str
    """pyttsx3/espeak-ng voice id."""
    rate_wpm: int
    """Speaking rate in words per minute."""


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """What the worker reported when it started."""

    version: str
    """Synthesis stack version (part of cache keys)."""
    voices: tuple[VoiceInfo, ...]
    """Voices the engine offers."""


def _serve(conn: Connection) -> None:
    """Worker process main loop: render jobs received on ``conn`` until told to stop."""
    from voicebot.speech.tts_engine import Pyttsx3Renderer

    try:
        renderer = Pyttsx3Renderer()
        conn.send(("ready", renderer.version(), tuple(renderer.voices())))
    except Exception as exc:
        conn.send(("error", f"cannot start pyttsx3/espeak-ng: {type(exc).__name__}: {exc}"))
        return
    while True:
        try:
            job = conn.recv()
        except EOFError:
            break
        if job is None:
            break
        try:
            conn.send(("ok", renderer.render(job.text, job.voice_id, job.rate_wpm)))
        except ValueError as exc:
            conn.send(("invalid", str(exc)))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
    renderer.close()


class SynthesisWorker:
    """Blocking client of the worker process (thread-safe; one job at a time)."""

    def __init__(self, job_timeout_s: float = 30.0, start_timeout_s: float = 60.0) -> None:
        self._job_timeout_s = job_timeout_s
        self._start_timeout_s = start_timeout_s
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._info: WorkerInfo | None = None

    @property
    def pid(self) -> int | None:
        """Process id of the running worker, if any."""
        return self._process.pid if self._process is not None else None

    def start(self) -> WorkerInfo:
        """Start the worker if it is not running; return what it reported."""
        with self._lock:
            return self._ensure_started()

    def render(self, job: RenderJob, timeout_s: float | None = None) -> bytes:
        """Render one job (8 kHz slin16); restart the worker if it crashed or hung."""
        timeout = self._job_timeout_s if timeout_s is None else timeout_s
        with self._lock:
            self._ensure_started()
            assert self._conn is not None
            try:
                self._conn.send(job)
                if not self._conn.poll(timeout):
                    self._stop(kill=True)
                    raise SynthesisError(
                        f"speech synthesis timed out after {timeout:g} s "
                        f"({len(job.text)} characters, voice {job.voice_id}); worker restarted"
                    )
                status, payload = self._conn.recv()
            except (EOFError, OSError) as exc:
                self._stop(kill=True)
                raise SynthesisError(f"speech synthesis worker died: {exc}") from exc
            if status == "ok":
                return bytes(payload)
            if status == "invalid":
                raise ValueError(payload)
            # The engine may be wedged after an internal error: start afresh next time.
            self._stop(kill=True)
            raise SynthesisError(f"speech synthesis failed: {payload}")

    def close(self) -> None:
        """Stop the worker process."""
        with self._lock:
            self._stop(kill=False)

    def _ensure_started(self) -> WorkerInfo:
        if self._process is not None and self._process.poll() is None and self._info is not None:
            return self._info
        self._stop(kill=True)
        parent_sock, child_sock = socket.socketpair()
        # The child must import this package even when it is not installed (source checkout).
        source_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (source_root, env.get("PYTHONPATH", "")) if p
        )
        with child_sock:
            process = subprocess.Popen(
                [sys.executable, "-m", __name__, "--fd", str(child_sock.fileno())],
                pass_fds=(child_sock.fileno(),),
                stdin=subprocess.DEVNULL,
                env=env,
            )
        conn = Connection(parent_sock.detach())
        self._process, self._conn = process, conn
        if not conn.poll(self._start_timeout_s):
            self._stop(kill=True)
            raise SynthesisError(
                f"speech synthesis worker did not start within {self._start_timeout_s:.0f} s"
            )
        try:
            message: tuple[Any, ...] = conn.recv()
        except EOFError as exc:
            self._stop(kill=True)
            raise SynthesisError(
                f"speech synthesis worker exited while starting (exit code {process.wait()})"
            ) from exc
        if message[0] != "ready":
            self._stop(kill=True)
            raise SynthesisError(str(message[1]))
        self._info = WorkerInfo(version=str(message[1]), voices=tuple(message[2]))
        _LOGGER.info("speech synthesis worker started pid=%s %s", process.pid, self._info.version)
        return self._info

    def _stop(self, kill: bool) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            if not kill:
                try:
                    conn.send(None)
                except OSError:
                    kill = True
            conn.close()
        if process is not None:
            if kill:
                process.kill()
            try:
                process.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5.0)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the worker process (started by ``SynthesisWorker``)."""
    parser = argparse.ArgumentParser(description="voicebot speech synthesis worker")
    parser.add_argument("--fd", type=int, required=True, help="socket inherited from the parent")
    args = parser.parse_args(argv)
    # pyttsx3's espeak driver print()s every saved file: send fd 1 (C and Python) to /dev/null.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    _serve(Connection(args.fd))


if __name__ == "__main__":
    main()
