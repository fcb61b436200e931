"""Index build with the catalogue (uncached, then cached in a fresh process) and query latency.

    python -m bench.routing_build [--cities sample,etterbeek] [--repeat 3]

For each city: the router with the catalogue is built in an empty cache directory
(embedding the catalogue's phrases and the KB's, inferring links, fitting, calibrating:
``uncached_s``), then built again from that cache in a fresh process (``cached_s``: what a
restart or a KB reload costs, model load excluded), and every case is routed one at a time
as in a call (p50/p95 per query). ``--repeat`` runs the cached build and the latency pass
several times and reports medians. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.routing_curve import cities
from voicebot.routing.embedders import create_embedder
from voicebot.routing.evaluation import evaluate
from voicebot.routing.router import Router

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cities", help="comma-separated subset (default: all)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", default="use-v3")
    args = parser.parse_args(argv)
    found = cities()
    chosen = args.cities.split(",") if args.cities else list(found)
    embedder = create_embedder(args.backend)
    results: dict[str, Any] = {}
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
        reports = [evaluate(router, cases) for _ in range(args.repeat)]
        results[name] = {
            "examples_in_index": len(router.index.examples),
            "uncached_s": round(uncached, 2),
            "cached_s_median": round(statistics.median(cached), 3),
            "cached_s_all": [round(c, 3) for c in cached],
            "query_p50_ms_median": round(statistics.median(r.p50_ms for r in reports), 2),
            "query_p95_ms_median": round(statistics.median(r.p95_ms for r in reports), 2),
            "cases": len(cases),
        }
        print(f"{name}: {results[name]}", file=sys.stderr, flush=True)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
