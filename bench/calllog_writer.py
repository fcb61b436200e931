"""Call log writes: one transaction per call (batch_size=1) vs the writer's batching.

    python -m bench.calllog_writer [--calls 1000] [--json PATH]

Side by side in one run, on PostgreSQL (database voicebot_bench, a scratch schema that is
dropped afterwards) and on SQLite (a temporary file): the same synthetic calls (about 6.7
turns each, from bench.calllog_gen) are submitted to a ``CallLogWriter`` at once, and the
time until ``flush()`` returns gives records per second. Also the cost of ``submit()``
itself, which runs on the call path and must never block.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import make_url

from bench.calllog_gen import BENCH_KEY, DEFAULT_URL, generate, prepare_database
from bench.measure import load_average, machine, summarize
from voicebot.calllog.db import create_calllog_engine, migrate
from voicebot.calllog.pseudonymize import Pseudonymizer
from voicebot.calllog.repository import CallLogRepository
from voicebot.calllog.writer import CallLogWriter
from voicebot.records import CallRecord

SCHEMA = "calllog_writer_bench"
DEFAULT_BATCH = 100


def write_all(url: str, records: list[CallRecord], batch_size: int, spool: Path) -> dict[str, Any]:
    """Submit every record, wait for the writer to store them; timings."""
    engine = create_calllog_engine(url)
    repository = CallLogRepository(engine, Pseudonymizer(BENCH_KEY, "32"))
    writer = CallLogWriter(repository, spool, batch_size=batch_size, queue_size=len(records) + 1)
    submit_us: list[float] = []
    try:
        started = time.perf_counter()
        for record in records:
            before = time.perf_counter()
            writer.submit(record)
            submit_us.append((time.perf_counter() - before) * 1e6)
        if not writer.flush(timeout=600):
            raise RuntimeError(f"writer did not flush {len(records)} records within 600 s")
        elapsed = time.perf_counter() - started
    finally:
        writer.close(timeout=30)
        engine.dispose()
    if writer.written != len(records):
        raise RuntimeError(f"stored {writer.written} of {len(records)} records")
    turns = sum(len(record.turns) for record in records)
    return {
        "batch_size": batch_size,
        "seconds": round(elapsed, 2),
        "calls_per_s": round(len(records) / elapsed, 1),
        "turns_per_s": round(turns / elapsed, 1),
        "submit_us": summarize(submit_us, 1),
    }


def _drop_schema(url: str) -> None:
    bound = make_url(url)
    conninfo = bound.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')


def run(calls: int) -> dict[str, Any]:
    """Both batch sizes on PostgreSQL and on SQLite."""
    records = list(generate(calls, int(calls * 6.7), days=30, seed=11))
    report: dict[str, Any] = {
        "machine": machine(),
        "calls": len(records),
        "turns": sum(len(r.turns) for r in records),
    }
    with tempfile.TemporaryDirectory(prefix="voicebot-bench-writer-") as tmp:
        for backend in ("postgresql", "sqlite"):
            rows = []
            for batch_size in (1, DEFAULT_BATCH):
                if backend == "postgresql":
                    url = prepare_database(make_url(DEFAULT_URL), SCHEMA).render_as_string(
                        hide_password=False
                    )
                else:
                    url = f"sqlite:///{tmp}/writer-{batch_size}.db"
                migrate(url)
                try:
                    rows.append(write_all(url, records, batch_size, Path(tmp) / f"spool{backend}"))
                finally:
                    if backend == "postgresql":
                        _drop_schema(url)
            unbatched, batched = rows
            report[backend] = {
                "unbatched": unbatched,
                "batched": batched,
                "speedup": round(batched["calls_per_s"] / unbatched["calls_per_s"], 1),
            }
    report["load_average_after"] = load_average()
    return report


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: prints one JSON object (and writes it to --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    text = json.dumps(run(args.calls), indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
