"""Time every call log statistics query (and the main list queries) on the bench data set.

Usage::

    python -m bench.calllog_gen            # once: 150,000 calls / 1,000,000 turns
    python -m bench.calllog_stats [--runs 20] [--budget-ms 200]

Prints p50/p95 per query over ``--runs`` runs (after one warm-up run) and exits non-zero
if a statistics query's p95 exceeds ``--budget-ms``.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, make_url, select

from bench.calllog_gen import BENCH_KEY, DEFAULT_SCHEMA, DEFAULT_URL
from voicebot.calllog.db import create_calllog_engine
from voicebot.calllog.filters import CallFilter
from voicebot.calllog.models import Call, Turn
from voicebot.calllog.pseudonymize import Pseudonymizer
from voicebot.calllog.repository import CallLogRepository
from voicebot.calllog.stats import MAX_HOURLY_RANGE, Bucket, CallLogStats, Dimension
from voicebot.records import CallOutcome

HASH_DIM = 256


def hashed_bag_of_words(texts: list[str]) -> npt.NDArray[np.float32]:
    """A cheap deterministic stand-in embedder: hashed word counts, unit length."""
    vectors = np.zeros((len(texts), HASH_DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in text.split() or [""]:
            digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
            vectors[row, int.from_bytes(digest, "little") % HASH_DIM] += 1.0
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: npt.NDArray[np.float32] = (vectors / np.maximum(norms, 1e-9)).astype(np.float32)
    return unit


def _time(fn: Callable[[], Any], runs: int) -> tuple[float, float]:
    fn()  # warm-up: first-use plan caching and page cache
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--schema", default=DEFAULT_SCHEMA)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--budget-ms", type=float, default=200.0)
    args = parser.parse_args(argv)
    url = make_url(args.url).update_query_dict({"options": f"-csearch_path={args.schema}"})
    engine = create_calllog_engine(url)
    with engine.connect() as connection:
        calls = connection.execute(select(func.count()).select_from(Call)).scalar_one()
        turns = connection.execute(select(func.count()).select_from(Turn)).scalar_one()
        first, last = connection.execute(
            select(func.min(Call.started_at), func.max(Call.started_at))
        ).one()
    if not calls:
        print("no bench data: run `python -m bench.calllog_gen` first", file=sys.stderr)
        return 2
    start, end = first, last + timedelta(seconds=1)
    week = end - timedelta(days=7)
    longest = end - MAX_HOURLY_RANGE
    stats = CallLogStats(engine)
    repository = CallLogRepository(engine, Pseudonymizer(BENCH_KEY, "32"))
    print(f"data set: {calls} calls, {turns} turns, {start:%Y-%m-%d} .. {end:%Y-%m-%d} (UTC)")

    statistics_queries: dict[str, Callable[[], Any]] = {}
    for dimension in Dimension:
        statistics_queries[f"counts {dimension} total"] = partial(
            stats.counts, dimension, start, end
        )
        for bucket in (Bucket.DAY, Bucket.WEEK):
            statistics_queries[f"counts {dimension} per {bucket}"] = partial(
                stats.counts, dimension, start, end, bucket
            )
        for days, since in ((7, week), (MAX_HOURLY_RANGE.days, longest)):
            statistics_queries[f"counts {dimension} per hour, last {days} days"] = partial(
                stats.counts, dimension, since, end, Bucket.HOUR
            )
    statistics_queries["summary total"] = lambda: stats.summary(start, end)
    statistics_queries["summary per day"] = lambda: stats.summary(start, end, Bucket.DAY)
    statistics_queries["summary per hour, last 7 days"] = lambda: stats.summary(
        week, end, Bucket.HOUR
    )
    statistics_queries["transfers by department"] = lambda: stats.transfers_by_department(
        start, end
    )
    statistics_queries["not understood (hash embed)"] = lambda: stats.not_understood(
        start, end, hashed_bag_of_words
    )
    statistics_queries["not understood, last 7 days"] = lambda: stats.not_understood(
        week, end, hashed_bag_of_words
    )
    list_queries: dict[str, Callable[[], Any]] = {
        "list calls, newest first": lambda: repository.list_calls(),
        "list calls, transferred, by duration": lambda: repository.list_calls(
            CallFilter(outcome=CallOutcome.TRANSFERRED), sort="-duration"
        ),
        "list calls, intent faq:passeport": lambda: repository.list_calls(
            CallFilter(intent="faq:passeport")
        ),
        "list calls, text 'lampadaire'": lambda: repository.list_calls(
            CallFilter(text="lampadaire")
        ),
        "list calls, text 'chat perdu', 7 days": lambda: repository.list_calls(
            CallFilter(text="chat perdu", start=week, end=end)
        ),
        "list calls, page 100": lambda: repository.list_calls(offset=5000),
    }
    over_budget = []
    print(f"{'query':<44} {'p50 ms':>8} {'p95 ms':>8}")
    for title, queries in (("statistics", statistics_queries), ("lists", list_queries)):
        print(f"-- {title}")
        for name, fn in queries.items():
            p50, p95 = _time(fn, args.runs)
            flag = ""
            if title == "statistics" and p95 > args.budget_ms:
                over_budget.append(name)
                flag = "  OVER BUDGET"
            print(f"{name:<44} {p50:8.1f} {p95:8.1f}{flag}")
    engine.dispose()
    if over_budget:
        print(
            f"{len(over_budget)} statistics queries over {args.budget_ms} ms p95", file=sys.stderr
        )
        return 1
    print(f"all statistics queries within {args.budget_ms:.0f} ms p95 ({datetime.now(UTC):%F})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
