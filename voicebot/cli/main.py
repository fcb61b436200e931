"""The ``voicebot`` command line: one sub-command per job, errors as one clear line."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from collections.abc import Sequence

from voicebot.cli import accounts, admin, kb, models, prompts, routing, run
from voicebot.cli.errors import CommandError, Handler
from voicebot.config import SettingsError, load_settings
from voicebot.knowledge.loader import KnowledgeBaseError
from voicebot.routing.embedders import EmbedderError
from voicebot.routing.evaluation import CaseFileError


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
    finally:
        if argv is None:
            _quick_teardown()


def _quick_teardown() -> None:
    """Run as the command (not called from Python): the work is done and closed.

    What is left is the interpreter's teardown, in which the garbage collector walks
    every object of scipy, scikit-learn and the loaded models again and again while the
    modules are cleared: 3 to 10 s after ``voicebot demo`` on a busy 2-core machine
    (measured: ``python -c "import voicebot.demo.run"`` took 10-14 s to exit under load
    9, 1.5-3 s with the objects frozen). Frozen objects are left to the operating
    system, which takes the memory back at once; files, connections and child processes
    were closed by the command itself.
    """
    gc.freeze()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voicebot", description=__doc__)
    parser.add_argument("--config", help="settings file (YAML); default $VOICEBOT_CONFIG")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in (routing, run, models, admin, accounts, kb, prompts):
        module.register(commands)
    return parser
