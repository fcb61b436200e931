"""``voicebot kb validate``: check a knowledge base file and summarise it."""

from __future__ import annotations

import argparse
from pathlib import Path

from voicebot.cli.errors import SubParsers
from voicebot.config import Settings
from voicebot.knowledge.loader import load_kb


def register(commands: SubParsers) -> None:
    """Add ``kb validate``."""
    kb = commands.add_parser("kb", help="knowledge base tools")
    kb_commands = kb.add_subparsers(title="kb commands", metavar="KBCOMMAND")
    validate = kb_commands.add_parser("validate", help="check a KB file and summarise it")
    validate.add_argument("path", type=Path)
    validate.set_defaults(handler=_cmd_kb_validate)


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
