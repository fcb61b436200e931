"""Run ``voicebot serve`` as a real subprocess wired to an Asterisk simulator."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from voicebot.telephony.simulator import AsteriskSimulator, SimulatorTiming

AMI_SECRET = "e2e-ami-secret"
PSEUDONYM_KEY = "e2e-pseudonymisation-key-0123456789"


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServeProcess:
    """A running ``voicebot serve`` and the simulator it talks to."""

    workdir: Path
    process: subprocess.Popen[bytes]
    simulator: AsteriskSimulator
    transcripts_dir: Path
    log_path: Path
    settings: dict[str, Any]
    ready: dict[str, Any] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://127.0.0.1:{self.ready['api_port']}"

    def script(self, call_id: str, lines: list[str]) -> None:
        """Transcripts the call's utterances will get, in order (the test-only recogniser)."""
        path = self.transcripts_dir / f"{call_id}.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def log(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    async def stop(self, timeout: float = 90.0) -> int:
        """SIGTERM (graceful), wait, then stop the simulator; returns the exit code.

        Whatever serve left behind in its process group (the speech synthesis worker) is
        killed too, so nothing keeps running after a test or a benchmark.
        """
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.to_thread(self.process.wait, timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = await asyncio.to_thread(self.process.wait, 10)
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        await self.simulator.stop()
        return code


async def start_serve(
    workdir: Path,
    *,
    cache_dir: Path | None = None,
    database_url: str | None = None,
    settings: dict[str, Any] | None = None,
    timing: SimulatorTiming | None = None,
    ready_timeout: float = 180.0,
    env: dict[str, str] | None = None,
    verbose: bool = False,
    scripted: bool = True,
) -> ServeProcess:
    """Start the simulator, then ``voicebot serve`` pointed at it; return once it is ready.

    ``cache_dir`` (index, rendered prompts) can be shared between runs to skip the
    first-start work; everything else (database, spool) is private to ``workdir``.
    ``verbose`` runs it with ``-v`` (DEBUG logging), e.g. to inspect what it logs.
    ``scripted``: transcripts come from :meth:`ServeProcess.script` (test-only recogniser);
    False: from the Vosk models the settings name.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    data_dir = workdir / "data"
    data_dir.mkdir(exist_ok=True)
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        link = data_dir / "cache"
        if not link.exists():
            link.symlink_to(cache_dir.resolve(), target_is_directory=True)
    transcripts = workdir / "transcripts"
    transcripts.mkdir(exist_ok=True)
    audiosocket_port = free_port()
    simulator = AsteriskSimulator(
        audiosocket_port=audiosocket_port,
        secret=AMI_SECRET,
        timing=timing or SimulatorTiming(ring_time=0.2, talk_time=0.2, fallback_wait=5.0),
    )
    await simulator.start()
    values: dict[str, Any] = {
        "data_dir": str(data_dir),
        "database_url": database_url or f"sqlite:///{workdir / 'calls.db'}",
        "audiosocket_host": "127.0.0.1",
        "audiosocket_port": audiosocket_port,
        "api_host": "127.0.0.1",
        "api_port": free_port(),
        "ami_host": "127.0.0.1",
        "ami_port": simulator.ami_port,
        "ami_username": "voicebot",
        "ami_secret": AMI_SECRET,
        "pseudonym_key": PSEUDONYM_KEY,
        **(settings or {}),
    }
    settings_path = workdir / "voicebot.yaml"
    settings_path.write_text(yaml.safe_dump(values), encoding="utf-8")
    ready_path = workdir / "ready.json"
    ready_path.unlink(missing_ok=True)
    log_path = workdir / "serve.log"
    command = [sys.executable, "-m", "voicebot.cli", "--config", str(settings_path)]
    command += [*(["-v"] if verbose else []), "serve"]
    if scripted:
        command += ["--transcripts-dir", str(transcripts)]
    command += ["--ready-file", str(ready_path)]
    process_env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(env or {})}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=process_env,
            cwd=workdir,
            start_new_session=True,  # its own process group: stop() takes the TTS worker too
        )
    served = ServeProcess(workdir, process, simulator, transcripts, log_path, values)
    try:
        async with asyncio.timeout(ready_timeout):
            while not ready_path.exists():
                if process.poll() is not None:
                    raise RuntimeError(f"voicebot serve exited early:\n{served.log()}")
                await asyncio.sleep(0.1)
            served.ready = json.loads(ready_path.read_text(encoding="utf-8"))
            while not any(s.authenticated for s in simulator.ami.sessions):
                await asyncio.sleep(0.05)  # serve's AMI connector has logged in
    except BaseException:
        await served.stop(timeout=10)
        raise
    return served
