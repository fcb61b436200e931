"""Index build with the catalogue (uncached, then cached in a fresh process) and query latency.

    python -m bench.routing_build [--cities sample,etterbeek] [--repeat 3] [--before REV]

For each city: the router with the catalogue is built in an empty cache directory
(embedding the catalogue's phrases and the KB's, inferring links, fitting, calibrating:
``uncached_s``), then built again from that cache in a fresh process (``cached_s``: what a
restart or a KB reload costs, model load excluded), and every case is routed one at a time
as in a call (p50/p95 per query). ``--repeat`` runs the cached build and the latency pass
several times and reports medians. Prints one JSON object.

Query latency depends on what else runs on the machine, so the routers compared are timed
in the same pass, query after query: the router before the catalogue
(``ScoringConfig(catalogue=False)``) and, with ``--before REV``, the catalogue router of
git revision REV (checked out in a temporary worktree and run in a worker process of its
own, fed the same cases in turn). ``labels_agree`` counts the cases REV routes to the
same label.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bench.routing_curve import ROOT, cities
from voicebot.routing.embedders import Embedder, create_embedder
from voicebot.routing.evaluation import Case, check_labels
from voicebot.routing.router import Router, ScoringConfig

CACHED_BUILD = """
import sys, time
from pathlib import Path
from voicebot.knowledge.loader import load_kb
from voicebot.routing.embedders import create_embedder
from voicebot.routing.router import Router
embedder = create_embedder(sys.argv[1])
kb = load_kb(sys.argv[2])
started = time.perf_counter()
Router.build(kb, embedder, cache_dir=Path(sys.argv[3]))
print(time.perf_counter() - started)
"""


def cached_build_seconds(backend: str, kb_source: str, cache: Path) -> float:
    """A fresh process builds the router from ``cache`` (the model load is not counted)."""
    out = subprocess.run(
        [sys.executable, "-c", CACHED_BUILD, backend, kb_source, str(cache)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(out.split()[-1])


WORKER = """
import json, sys, time
from pathlib import Path
from voicebot.knowledge.loader import load_kb
from voicebot.routing.embedders import create_embedder
from voicebot.routing.router import Router
embedder = create_embedder(sys.argv[1])
router = Router.build(load_kb(sys.argv[2]), embedder, cache_dir=Path(sys.argv[3]))
print("ready", flush=True)
for line in sys.stdin:
    case = json.loads(line)
    started = time.perf_counter()
    label = router.route(case["text"], case["lang"]).label
    print(json.dumps({"ms": (time.perf_counter() - started) * 1000, "label": label}), flush=True)
"""


class RevisionRouter:
    """The catalogue router of another checkout, in a worker process fed one case at a time."""

    def __init__(self, checkout: Path, backend: str, kb_source: str, cache: Path) -> None:
        env = dict(os.environ, PYTHONPATH=str(checkout))
        self._process = subprocess.Popen(
            [sys.executable, "-c", WORKER, backend, kb_source, str(cache)],
            cwd=checkout,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        if self._process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the router of {checkout} did not start")

    def route(self, case: Case) -> tuple[float, str]:
        """(milliseconds the worker spent in ``route``, label)."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps({"text": case.text, "lang": case.lang}) + "\n")
        self._process.stdin.flush()
        answer = json.loads(self._process.stdout.readline())
        return float(answer["ms"]), str(answer["label"])

    def close(self) -> None:
        """End the worker."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=30)


@contextlib.contextmanager
def checkout_of(revision: str) -> Iterator[Path]:
    """A temporary detached git worktree of ``revision``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "checkout"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), revision],
            check=True,
            capture_output=True,
        )
        try:
            yield path
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
                check=False,
                capture_output=True,
            )


def timed_side_by_side(
    routers: dict[str, Router], cases: list[Case], before: RevisionRouter | None, warmup: int = 5
) -> dict[str, Any]:
    """Every case through every router in turn; p50/p95 per router, same load for all."""
    latencies: dict[str, list[float]] = {name: [] for name in routers}
    agree = 0
    if before is not None:
        latencies["before"] = []
    for position, case in enumerate(cases[:warmup] + cases):
        measured = position >= warmup
        labels = {}
        for name, router in routers.items():
            started = time.perf_counter()
            labels[name] = router.route(case.text, case.lang).label
            if measured:
                latencies[name].append((time.perf_counter() - started) * 1000)
        if before is not None:
            ms, label = before.route(case)
            if measured:
                latencies["before"].append(ms)
                agree += label == labels["catalogue"]
    out: dict[str, Any] = {
        name: {
            "p50_ms": round(float(np.percentile(values, 50)), 2),
            "p95_ms": round(float(np.percentile(values, 95)), 2),
        }
        for name, values in latencies.items()
    }
    if before is not None:
        out["labels_agree"] = f"{agree}/{len(cases)}"
    return out


def _routers(kb: Any, embedder: Embedder, cache: Path, catalogue: Router) -> dict[str, Router]:
    return {
        "today": Router.build(kb, embedder, cache, ScoringConfig(catalogue=False)),
        "catalogue": catalogue,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cities", help="comma-separated subset (default: all)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", default="use-v3")
    parser.add_argument(
        "--before", metavar="REV", help="also time the catalogue router of git revision REV"
    )
    args = parser.parse_args(argv)
    found = cities()
    chosen = args.cities.split(",") if args.cities else list(found)
    embedder = create_embedder(args.backend)
    results: dict[str, Any] = {"before": args.before}
    with contextlib.ExitStack() as stack:
        checkout = stack.enter_context(checkout_of(args.before)) if args.before else None
        for name in chosen:
            kb, cases = found[name]
            with tempfile.TemporaryDirectory() as tmp:
                cache = Path(tmp)
                started = time.perf_counter()
                router = Router.build(kb, embedder, cache)
                uncached = time.perf_counter() - started
                cached = [
                    cached_build_seconds(args.backend, kb.source, cache) for _ in range(args.repeat)
                ]
                check_labels(router, cases)
                routers = _routers(kb, embedder, cache, router)
                before = (
                    RevisionRouter(checkout, args.backend, kb.source, cache) if checkout else None
                )
                passes = [timed_side_by_side(routers, cases, before) for _ in range(args.repeat)]
                if before is not None:
                    before.close()
            latency = {
                variant: {
                    figure: round(statistics.median(p[variant][figure] for p in passes), 2)
                    for figure in ("p50_ms", "p95_ms")
                }
                for variant in passes[0]
                if variant != "labels_agree"
            }
            results[name] = {
                "examples_in_index": len(router.index.examples),
                "uncached_s": round(uncached, 2),
                "cached_s_median": round(statistics.median(cached), 3),
                "cached_s_all": [round(c, 3) for c in cached],
                "query_ms_median_of_passes": latency,
                "cases": len(cases),
                "load_average_1min": round(os.getloadavg()[0], 2),
            }
            if before is not None:
                results[name]["labels_agree"] = passes[-1]["labels_agree"]
            print(f"{name}: {results[name]}", file=sys.stderr, flush=True)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
