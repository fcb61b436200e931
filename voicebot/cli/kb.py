"""``voicebot kb validate | check | suggest``: a knowledge base file, checked and linked.

``kb check`` also times every spoken text as a caller hears it (its last section;
``--no-speech`` leaves it out).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from voicebot.cli.errors import CommandError, SubParsers
from voicebot.config import Settings
from voicebot.knowledge.loader import load_kb
from voicebot.knowledge.model import KnowledgeBase
from voicebot.routing.embedders import create_embedder
from voicebot.routing.router import Router


def register(commands: SubParsers) -> None:
    """Add ``kb validate``, ``kb check`` and ``kb suggest``."""
    kb = commands.add_parser("kb", help="knowledge base tools")
    kb_commands = kb.add_subparsers(title="kb commands", metavar="KBCOMMAND")
    validate = kb_commands.add_parser("validate", help="check a KB file and summarise it")
    validate.add_argument("path", type=Path)
    validate.set_defaults(handler=_cmd_kb_validate)
    check = kb_commands.add_parser(
        "check",
        help="how well the KB routes: cross-validated accuracy, confusions, conflicts, links, "
        "verdict (exit 1 when it needs work)",
    )
    check.add_argument("path", type=Path)
    check.add_argument("--backend", help="embedding backend (default: settings)")
    check.add_argument(
        "--no-speech", action="store_true", help="do not render the texts to time them"
    )
    check.set_defaults(handler=_cmd_kb_check)
    suggest = kb_commands.add_parser(
        "suggest", help="print the catalogue links inferred for the KB, as YAML to confirm"
    )
    suggest.add_argument("path", type=Path)
    suggest.add_argument("--backend", help="embedding backend (default: settings)")
    suggest.set_defaults(handler=_cmd_kb_suggest)


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


def _router_for(kb: KnowledgeBase, backend: str, settings: Settings) -> Router:
    return Router.build(kb, create_embedder(backend), cache_dir=settings.cache_dir / "index")


def _cmd_kb_check(args: argparse.Namespace, settings: Settings) -> int:
    from voicebot.cli.prompts import spoken_texts
    from voicebot.kbcheck.check import SECTIONS, check_kb
    from voicebot.kbcheck.spoken_section import spoken_section

    kb = load_kb(args.path)
    sections = SECTIONS
    if not args.no_speech:
        texts = asyncio.run(spoken_texts(settings, kb))
        sections = (*SECTIONS, spoken_section(texts, settings.tts_rate))
    backend = args.backend or settings.embedder
    report = check_kb(kb, lambda: _router_for(kb, backend, settings), sections)
    print(report.render())
    return 0 if report.ready else 1


def _cmd_kb_suggest(args: argparse.Namespace, settings: Settings) -> int:
    from voicebot.kbcheck.report import gettext_for
    from voicebot.kbcheck.suggest import suggestion_yaml

    kb = load_kb(args.path)
    router = _router_for(kb, args.backend or settings.embedder, settings)
    if router.links is None:
        raise CommandError("the service catalogue is not installed: nothing to suggest")
    print(suggestion_yaml(kb, router.links, gettext_for(kb.city.default_language)), end="")
    return 0
