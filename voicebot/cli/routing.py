"""``voicebot route`` and ``voicebot eval routing``: the router from the command line."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from voicebot.cli.errors import CommandError, SubParsers
from voicebot.config import Settings
from voicebot.knowledge.loader import load_kb
from voicebot.routing.embedders import MINILM, USE_V3, create_embedder
from voicebot.routing.evaluation import evaluate, load_cases, shipped_case_files
from voicebot.routing.router import Router


def register(commands: SubParsers) -> None:
    """Add ``route`` and ``eval routing``."""
    route = commands.add_parser("route", help="route one utterance and print the decision")
    route.add_argument("text", help="what the caller said")
    route.add_argument("--kb", type=Path, help="knowledge base YAML (default: settings)")
    route.add_argument("--lang", help="language of the utterance (default: the city's)")
    route.add_argument("--backend", help=f"embedding backend ({USE_V3}, {MINILM}, st:<dir>)")
    route.add_argument("--json", action="store_true", help="print JSON")
    route.set_defaults(handler=_cmd_route)

    evaluate_cmd = commands.add_parser("eval", help="evaluate a component")
    targets = evaluate_cmd.add_subparsers(title="what", metavar="WHAT")
    routing = targets.add_parser("routing", help="routing accuracy, rejection and latency")
    routing.add_argument("--kb", type=Path, help="knowledge base YAML (default: the sample)")
    routing.add_argument(
        "--cases", type=Path, action="append", help="JSON Lines case file (repeatable)"
    )
    routing.add_argument("--backend", help=f"embedding backend ({USE_V3}, {MINILM}, st:<dir>)")
    routing.add_argument("--json", action="store_true", help="print one JSON object")
    routing.set_defaults(handler=_cmd_eval_routing)


def _router(kb_path: Path, backend: str, settings: Settings) -> Router:
    kb = load_kb(kb_path)
    return Router.build(kb, create_embedder(backend), cache_dir=settings.cache_dir / "index")


def _cmd_route(args: argparse.Namespace, settings: Settings) -> int:
    router = _router(args.kb or settings.kb_path, args.backend or settings.embedder, settings)
    start = time.perf_counter()
    decision = router.route(args.text, args.lang)
    elapsed_ms = (time.perf_counter() - start) * 1000
    if args.json:
        print(
            json.dumps(
                {
                    "label": decision.label,
                    "kind": str(decision.kind),
                    "score": decision.score,
                    "margin": decision.margin,
                    "ambiguous": decision.ambiguous,
                    "threshold": decision.threshold,
                    "language": decision.language,
                    "candidates": [[c.label, c.score] for c in decision.candidates],
                    "ms": round(elapsed_ms, 3),
                },
                ensure_ascii=False,
            )
        )
        return 0
    print(
        f"{decision.label}  ({decision.kind}, score {decision.score:.3f}, "
        f"margin {decision.margin:.3f}, threshold {decision.threshold:.3f}"
        f"{', ambiguous' if decision.ambiguous else ''}, {elapsed_ms:.1f} ms)"
    )
    for candidate in decision.candidates:
        print(f"  {candidate.score:.3f}  {candidate.label}")
    return 0


def _cmd_eval_routing(args: argparse.Namespace, settings: Settings) -> int:
    if bool(args.kb) != bool(args.cases):
        raise CommandError("give both --kb and --cases, or neither (the sample KB and its set)")
    kb_path = args.kb or settings.kb_path
    case_files = args.cases or shipped_case_files()
    if not case_files:
        raise CommandError("no evaluation cases found")
    cases = load_cases(case_files)
    report = evaluate(_router(kb_path, args.backend or settings.embedder, settings), cases)
    print(json.dumps(report.to_json(), ensure_ascii=False) if args.json else report.to_text())
    return 0
