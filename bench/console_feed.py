"""Operator console: how long from a transfer decision to its card reaching the console.

    python -m bench.console_feed [--events 200] [--redis redis://127.0.0.1:6379/0] [--json PATH]

Runs the real application under uvicorn in a child process with the Redis live bus (as a
multi-worker deployment does) over a SQLite call log of its own, signs an operator in
through the login form and opens ``/console/events`` as the console's script does. Then,
one at a time, publishes a ``transfer_decided`` event (a busy department's fallback to the
operator) from this process through Redis, as a call session in another worker would, and
waits for the rendered card to arrive on the stream. Reports p50/p95/max of publish ->
card received (Redis, the board, rendering in French, SSE over HTTP). The browser's own
time to insert the card is not in it (the end-to-end test in Chromium prints one figure).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.measure import load_average, machine, summarize
from bench.stats_api import wait_ready

NAME, PASSWORD = "bench.operator", "la console en direct"
BUDGET_MS = 1000.0
"""Issue 11: the operator sees the busy-fallback card within 1 s of the decision."""


def serve(url: str, port: int, redis_url: str) -> None:
    """Child process: the staff pages and API on ``port`` with the Redis bus, until SIGTERM."""
    import uvicorn

    from voicebot.app import create_app
    from voicebot.assembly import open_api
    from voicebot.config import Settings

    with open_api(Settings(database_url=url, redis_url=redis_url)) as services:
        uvicorn.run(create_app(services), host="127.0.0.1", port=port, log_level="warning")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _measure(base: str, redis_url: str, events: int) -> list[float]:
    from voicebot.api.live import RedisLiveEventBus
    from voicebot.calllog.rows import utc_now
    from voicebot.live.events import TransferDecidedEvent, call_key
    from voicebot.records import TransferReason

    bus = RedisLiveEventBus(redis_url)
    delays: list[float] = []
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10.0) as http:
            signed = await http.post("/login", data={"name": NAME, "password": PASSWORD})
            if signed.status_code != 303:  # signed in: sent on to the console
                raise RuntimeError(f"sign-in failed: HTTP {signed.status_code}")
            async with http.stream("GET", "/console/events", timeout=None) as response:
                lines = response.aiter_lines()
                async for line in lines:
                    if line == "event: ready":
                        break
                for index in range(events + 1):  # the first one warms up
                    call_id = f"bench-console-{index}"
                    sent = time.perf_counter()
                    bus.publish(
                        TransferDecidedEvent(
                            call_id=call_id,
                            at=utc_now(),
                            target="operator",
                            extension="1000",
                            reason=TransferReason.BUSY,
                            department="civil_status",
                            intent="civil_status",
                            language="fr",
                            summary="déclarer une naissance",
                            utterances=("je voudrais déclarer la naissance de mon fils",),
                        )
                    )
                    wanted = f'"key": "{call_key(call_id)}"'
                    async with asyncio.timeout(10.0):
                        async for line in lines:
                            if line.startswith("data: ") and wanted in line:
                                break
                    if index:
                        delays.append((time.perf_counter() - sent) * 1000)
    finally:
        bus.close()
    return delays


def _redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2.0).ping())
    except (redis.RedisError, OSError):
        return False


def run(events: int, redis_url: str) -> dict[str, Any]:
    """Start the server, measure, stop it; the figures as a dict."""
    from voicebot.accounts.passwords import FAST_TEST_COST, PasswordHashing
    from voicebot.accounts.store import AccountStore
    from voicebot.calllog.db import create_calllog_engine, migrate

    if not _redis_reachable(redis_url):
        return {"skipped": f"no Redis server at {redis_url} (--redis)"}
    with tempfile.TemporaryDirectory(prefix="bench-console-") as folder:
        url = f"sqlite:///{Path(folder) / 'calllog.sqlite3'}"
        migrate(url)
        engine = create_calllog_engine(url)
        AccountStore(engine, PasswordHashing(FAST_TEST_COST)).create(NAME, PASSWORD, "operator")
        engine.dispose()
        port = _free_port()
        child = subprocess.Popen(
            [sys.executable, "-m", "bench.console_feed", "--serve", url, str(port), redis_url]
        )
        try:
            base = f"http://127.0.0.1:{port}"
            asyncio.run(wait_ready(base, child, 60.0))
            delays = asyncio.run(_measure(base, redis_url, events))
        finally:
            child.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(10)
    figures = summarize(delays)
    return {
        "events": len(delays),
        "decision_to_card_ms": figures,
        "budget_ms": BUDGET_MS,
        "within_budget": figures.get("p95", float("inf")) <= BUDGET_MS,
        "load_average": load_average(),
        "machine": machine(),
    }


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.console_feed``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--json", type=Path, help="write the figures there too")
    parser.add_argument(
        "--serve", nargs=3, metavar=("URL", "PORT", "REDIS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), args.serve[2])
        return
    result = run(args.events, args.redis)
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
