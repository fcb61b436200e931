"""FAQ entries against departments: how often one takes the other's callers, with and without
service parts and FAQ facets, side by side in one run.

    python -m bench.routing_faq [--cities a,b] [--out bench/results/routing_faq.json]

Cities: those of ``bench.routing_curve`` (the sample, every ``tests/data/kb`` city with
cases) and the small mairie KBs of ``tests/data/mairies`` (first drafts of French towns,
identity documents apart from population, narrow FAQ entries). Every KB is routed as a
city's first version, through the links the router infers (declared links removed). Two
routers per city:

- ``whole_services``: links to whole services only, FAQ entries take all of their intent
  (``ScoringConfig(service_parts=False, faq_facets=False)``);
- ``parts_and_facets``: the default (``service_parts.py``, ``facets.py``).

For each: top-1, out-of-scope recall, false rejection, and the in-scope cases for a
department that went to an FAQ entry (``dept_to_faq``) and the reverse (``faq_to_dept``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench.routing_curve import ROOT, cities, without_links
from voicebot.knowledge.loader import load_kb
from voicebot.knowledge.model import KnowledgeBase
from voicebot.routing.decision import FAQ_PREFIX, NONE, OPERATOR
from voicebot.routing.embedders import create_embedder
from voicebot.routing.evaluation import Case, EvalReport, evaluate, load_cases
from voicebot.routing.router import Router, ScoringConfig

MAIRIES = ROOT / "tests" / "data" / "mairies"
VARIANTS = {
    "whole_services": ScoringConfig(service_parts=False, faq_facets=False),
    "parts_and_facets": ScoringConfig(),
}


def all_cities() -> dict[str, tuple[KnowledgeBase, list[Case]]]:
    """The learning-curve cities and the small mairies."""
    found = cities()
    for cases in sorted(MAIRIES.glob("*.cases.jsonl")):
        name = cases.name.removesuffix(".cases.jsonl")
        found[name] = (load_kb(cases.with_name(name + ".yaml")), load_cases([cases]))
    return found


def confusion(report: EvalReport) -> dict[str, int]:
    """In-scope misses between a department and an FAQ entry, each way."""
    counts = {"dept_to_faq": 0, "faq_to_dept": 0}
    for miss in report.misses:
        expected, got = miss.case.expected, miss.got
        if {expected, got} & {NONE, OPERATOR}:
            continue
        if expected.startswith(FAQ_PREFIX) != got.startswith(FAQ_PREFIX):
            counts["faq_to_dept" if expected.startswith(FAQ_PREFIX) else "dept_to_faq"] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--cities", help="comma-separated subset (default: all)")
    parser.add_argument("--backend", default="use-v3")
    parser.add_argument(
        "--cache", type=Path, default=ROOT / "var" / "bench" / "cache" / "routing-curve"
    )
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    found = all_cities()
    chosen = args.cities.split(",") if args.cities else list(found)
    embedder = create_embedder(args.backend)
    args.cache.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    print("| city | router | top-1 | OOS recall | false rejection | dept→FAQ | FAQ→dept |")
    print("|---|---|---|---|---|---|---|")
    for name in chosen:
        kb, cases = found[name]
        results[name] = {}
        for variant, config in VARIANTS.items():
            router = Router.build(without_links(kb), embedder, args.cache, config)
            report = evaluate(router, cases)
            row = {
                "cases": report.n,
                "in_scope": report.n_in_scope,
                "accuracy": report.accuracy,
                "oos_recall": report.oos_recall,
                "false_rejection": report.false_rejection,
                **confusion(report),
            }
            results[name][variant] = row
            print(
                f"| {name} | {variant} | {row['accuracy']:.3f} | {row['oos_recall']:.3f} | "
                f"{row['false_rejection']:.3f} | {row['dept_to_faq']} | {row['faq_to_dept']} |",
                flush=True,
            )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
