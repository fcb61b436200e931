"""The ``voicebot`` command line: one sub-command per job, errors as one clear line."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from voicebot.config import Settings, SettingsError, load_settings
from voicebot.knowledge.loader import KnowledgeBaseError, load_kb
from voicebot.routing.embedders import MINILM, USE_V3, EmbedderError, create_embedder
from voicebot.routing.evaluation import CaseFileError, evaluate, load_cases, shipped_case_files
from voicebot.routing.router import Router

Handler = Callable[[argparse.Namespace, Settings], int]


class CommandError(RuntimeError):
    """A command cannot do its job; printed as ``voicebot: <message>`` with exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``voicebot`` console script."""
    # Models come from disk only; a hub lookup would hang on machines without network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        settings = load_settings(args.config)
        return handler(args, settings)
    except (CommandError, SettingsError, KnowledgeBaseError, CaseFileError, EmbedderError) as exc:
        print(f"voicebot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voicebot", description=__doc__)
    parser.add_argument("--config", help="settings file (YAML); default $VOICEBOT_CONFIG")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

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

    demo = commands.add_parser(
        "demo", help="simulated French calls through the real pipeline, printed turn by turn"
    )
    demo.add_argument(
        "--say",
        action="append",
        metavar="LINE",
        help="what the caller says (repeat for several turns of one call); default: two calls",
    )
    demo.add_argument(
        "--wav",
        action="append",
        type=Path,
        metavar="FILE",
        help="a recorded caller turn (repeat for several); needs a Vosk model (models pull)",
    )
    demo.add_argument("--out", type=Path, default=Path("var/demo"), help="where WAVs go")
    demo.add_argument(
        "--now", action="store_true", help="use the real clock (default: a weekday at 10:00)"
    )
    demo.set_defaults(handler=_cmd_demo)

    serve = commands.add_parser(
        "serve", help="run the assistant: AudioSocket, AMI, call log and API (until SIGTERM)"
    )
    serve.add_argument(
        "--transcripts-dir",
        type=Path,
        help="TEST ONLY: read each call's transcripts from DIR/<uuid>.txt instead of a model",
    )
    serve.add_argument("--ready-file", type=Path, help="write the bound ports here when ready")
    serve.add_argument("--worker-child", action="store_true", help=argparse.SUPPRESS)
    serve.set_defaults(handler=_cmd_serve)

    models = commands.add_parser("models", help="speech and embedding models")
    model_commands = models.add_subparsers(title="models commands", metavar="MODELSCOMMAND")
    pull = model_commands.add_parser(
        "pull", help="download the Vosk model of a language and the multilingual embedder"
    )
    pull.add_argument("language", choices=["fr", "nl", "en", "de"])
    pull.add_argument(
        "--no-sentence-model", action="store_true", help="only the speech recognition model"
    )
    pull.set_defaults(handler=_cmd_models_pull)

    from voicebot.api.commands import register as register_api_commands

    register_api_commands(commands)

    kb = commands.add_parser("kb", help="knowledge base tools")
    kb_commands = kb.add_subparsers(title="kb commands", metavar="KBCOMMAND")
    validate = kb_commands.add_parser("validate", help="check a KB file and summarise it")
    validate.add_argument("path", type=Path)
    validate.set_defaults(handler=_cmd_kb_validate)
    return parser


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


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from voicebot.demo import DEFAULT_CONVERSATIONS, DemoError, DemoOptions, run_demo

    conversations = (tuple(args.say),) if args.say else DEFAULT_CONVERSATIONS
    options = DemoOptions(
        conversations=conversations,
        wav_turns=tuple(args.wav or ()),
        out_dir=args.out,
        use_real_time=args.now,
    )
    try:
        return asyncio.run(run_demo(settings, options))
    except DemoError as exc:
        raise CommandError(str(exc)) from None


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from voicebot.calls.bootstrap import MissingSpeechModelError
    from voicebot.serve import ServeOptions, run_serve

    options = ServeOptions(
        transcripts_dir=args.transcripts_dir,
        ready_file=args.ready_file,
        worker_child=args.worker_child,
    )
    try:
        return run_serve(settings, options)
    except MissingSpeechModelError as exc:
        raise CommandError(str(exc)) from None


def _cmd_models_pull(args: argparse.Namespace, settings: Settings) -> int:
    from voicebot.speech.models import run_pull

    return run_pull(
        args.language, settings.models_dir, include_sentence_model=not args.no_sentence_model
    )


def _cmd_kb_validate(args: argparse.Namespace, settings: Settings) -> int:
    kb = load_kb(args.path)
    examples = sum(len(v) for d in kb.departments for v in d.examples.values())
    questions = sum(len(v) for f in kb.faq for v in f.questions.values())
    print(
        f"{args.path}: valid — {kb.city.name.get(kb.city.default_language)}, "
        f"languages {', '.join(kb.city.languages)}, {len(kb.departments)} departments "
        f"({examples} examples), {len(kb.faq)} FAQ entries ({questions} questions)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
