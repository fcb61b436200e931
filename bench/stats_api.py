"""Statistics API under concurrent requests, on the 1,000,000-turn PostgreSQL bench data.

    python -m bench.calllog_gen      # once: loads schema calllog_bench of voicebot_bench
    python -m bench.stats_api [--clients 8] [--seconds 20] [--json PATH]
    python -m bench.stats_api --schema calllog_quick --generate 3000   # a fresh clone

``--generate N`` first replaces ``--schema`` with N synthetic calls of its own (the
``calllog_gen`` generator, a few seconds for thousands of calls), so the step runs on a
machine where the 1 M-turn data set was never loaded (``make bench ARGS=--quick``).
Without it and without data, or without a reachable PostgreSQL, the step prints one line
saying so and a JSON object marked ``skipped``, and exits 0.

Runs the real application (``create_app`` over ``voicebot.assembly.open_api``) under
uvicorn in a child process against the bench schema, creates a manager API key, then hits
every statistics endpoint round-robin from 1 client and from ``--clients`` concurrent
httpx clients, each for ``--seconds``, side by side in one run. Reports p50/p95 per
endpoint, throughput and the server's CPU. "Not understood" groups questions with a
hashed bag-of-words stand-in embedder (as bench.calllog_stats does): the embedding
model's cost is not what is measured.
The key is deleted and the server stopped at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import psycopg
from sqlalchemy import delete, make_url, select
from sqlalchemy.exc import DBAPIError

from bench.calllog_gen import DEFAULT_SCHEMA, DEFAULT_URL, generate, load, prepare_database
from bench.calllog_stats import hashed_bag_of_words
from bench.measure import cpu_seconds, load_average, machine, summarize
from tests.support.serve_process import free_port
from voicebot.accounts.keys import create_key
from voicebot.calllog.db import create_calllog_engine, migrate
from voicebot.calllog.models import ApiKey, Call, Turn
from voicebot.calllog.rollups import rebuild_rollups
from voicebot.calllog.rows import utc_now

KEY_NAME = "bench.stats_api"


class HashedEmbedder:
    """Deterministic stand-in embedder for grouping questions (no model to load)."""

    model_id = "bench-hashed-bag-of-words"

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Hashed word counts, unit length."""
        return hashed_bag_of_words(list(texts))


def endpoints() -> dict[str, str]:
    """Name -> path with query of every statistics request measured."""
    week = (utc_now() - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S")
    return {
        "summary 30 days": "/api/stats/summary",
        "summary per day": "/api/stats/summary?bucket=day",
        "counts by intent": "/api/stats/counts?dimension=intent",
        "counts by outcome per day": "/api/stats/counts?dimension=outcome&bucket=day",
        "counts by department per hour, 7 days": (
            f"/api/stats/counts?dimension=department&bucket=hour&start={week}"
        ),
        "counts by language per week": "/api/stats/counts?dimension=language&bucket=week",
        "transfers by department": "/api/stats/transfers",
        "not understood": "/api/stats/not-understood",
    }


def serve(url: str, port: int) -> None:
    """Child process: the API on ``port`` (uvicorn, one worker), until SIGTERM."""
    import uvicorn

    from voicebot.app import create_app
    from voicebot.assembly import open_api
    from voicebot.config import Settings

    with open_api(Settings(database_url=url), embedder=HashedEmbedder()) as services:
        uvicorn.run(create_app(services), host="127.0.0.1", port=port, log_level="warning")


async def hammer(
    base: str, key: str, paths: dict[str, str], clients: int, seconds: float
) -> dict[str, Any]:
    """``clients`` concurrent clients, each going round the endpoints for ``seconds``."""
    samples: dict[str, list[float]] = {name: [] for name in paths}
    errors: list[str] = []
    names = list(paths)
    deadline = time.monotonic() + seconds

    async def client(offset: int) -> None:
        async with httpx.AsyncClient(
            base_url=base, headers={"X-API-Key": key}, timeout=60.0
        ) as http:
            index = offset
            while time.monotonic() < deadline:
                name = names[index % len(names)]
                index += 1
                started = time.perf_counter()
                response = await http.get(paths[name])
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    errors.append(f"{name}: HTTP {response.status_code} {response.text[:200]}")
                    continue
                samples[name].append(elapsed)

    started = time.monotonic()
    async with asyncio.timeout(seconds + 120):
        await asyncio.gather(*(client(i) for i in range(clients)))
    wall = time.monotonic() - started
    every = [value for values in samples.values() for value in values]
    return {
        "clients": clients,
        "requests": len(every),
        "requests_per_s": round(len(every) / wall, 1),
        "errors": len(errors),
        "error_examples": errors[:3],
        "all_ms": summarize(every),
        "per_endpoint_ms": {name: summarize(values) for name, values in samples.items()},
    }


async def wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Until ``/health`` answers 200."""
    async with asyncio.timeout(timeout), httpx.AsyncClient(base_url=base, timeout=5) as http:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"API server exited early with code {process.returncode}")
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/health")).status_code == 200:
                    return
            await asyncio.sleep(0.2)


class Skipped(Exception):
    """The step cannot run here; the message says why, in one line."""


def generate_small(url: str, schema: str, calls: int) -> None:
    """Replace ``schema`` with ``calls`` synthetic calls (about 7 turns each) and rollups."""
    bound = prepare_database(make_url(url), schema)
    migrate(bound)
    engine = create_calllog_engine(bound)
    try:
        load(engine, generate(calls, calls * 7, 30, 20240521))
        with engine.begin() as connection:
            rebuild_rollups(connection)
    finally:
        engine.dispose()


def run(url: str, schema: str, clients: int, seconds: float) -> dict[str, Any]:
    """Start the API, measure 1 and ``clients`` concurrent clients, clean up."""
    bound = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    database_url = bound.render_as_string(hide_password=False)
    engine = create_calllog_engine(bound)
    try:
        with engine.connect() as connection:
            turns = connection.execute(select(Turn.id).order_by(Turn.id.desc()).limit(1)).scalar()
            calls = connection.execute(select(Call.id).order_by(Call.id.desc()).limit(1)).scalar()
    except DBAPIError as exc:  # no server, no database, no tables
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise Skipped(f"no call log data in schema {schema} ({reason})") from None
    if not turns:
        engine.dispose()
        raise Skipped(
            f"no call log data in schema {schema}: run `python -m bench.calllog_gen` "
            "first, or pass --generate N"
        )
    key = create_key(engine, KEY_NAME, "manager")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.stats_api", "--serve", database_url, "--port", str(port)],
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(wait_ready(base, process, 120))
        paths = endpoints()
        asyncio.run(hammer(base, key, paths, 1, min(5.0, seconds)))  # warm-up
        cpu_before = cpu_seconds(process.pid)
        single = asyncio.run(hammer(base, key, paths, 1, seconds))
        cpu_middle = cpu_seconds(process.pid)
        concurrent = asyncio.run(hammer(base, key, paths, clients, seconds))
        cpu_after = cpu_seconds(process.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        with engine.begin() as connection:
            connection.execute(delete(ApiKey).where(ApiKey.name == KEY_NAME))
        engine.dispose()
    single["server_cpu_cores_busy"] = round((cpu_middle - cpu_before) / seconds, 2)
    concurrent["server_cpu_cores_busy"] = round((cpu_after - cpu_middle) / seconds, 2)
    return {
        "machine": machine(),
        "database": f"{make_url(url).render_as_string()} schema {schema}",
        "data_set": {"calls": calls, "turns": turns},
        "server": "uvicorn, 1 process; sync endpoints in its thread pool",
        "single_client": single,
        "concurrent_clients": concurrent,
        "load_average_after": load_average(),
    }


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: prints one JSON object (and writes it to --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--schema", default=DEFAULT_SCHEMA)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument(
        "--generate", type=int, default=0, metavar="N", help="first load N calls into --schema"
    )
    parser.add_argument("--serve", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port)
        return
    try:
        if args.generate:
            if args.schema == DEFAULT_SCHEMA:
                parser.error(
                    f"--generate replaces its schema: give one other than {DEFAULT_SCHEMA}"
                )
            try:
                generate_small(args.url, args.schema, args.generate)
            except psycopg.OperationalError as exc:
                raise Skipped(f"cannot reach PostgreSQL at {args.url}: {exc}") from None
        report = run(args.url, args.schema, args.clients, args.seconds)
    except Skipped as skipped:
        print(f"stats_api skipped: {skipped}", file=sys.stderr)
        print(json.dumps({"skipped": str(skipped)}))
        return
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
