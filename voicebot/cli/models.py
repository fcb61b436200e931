"""``voicebot models pull``: fetch the speech and embedding models."""

from __future__ import annotations

import argparse

from voicebot.cli.errors import SubParsers
from voicebot.config import Settings


def register(commands: SubParsers) -> None:
    """Add ``models pull``."""
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


def _cmd_models_pull(args: argparse.Namespace, settings: Settings) -> int:
    from voicebot.speech.models import run_pull

    return run_pull(
        args.language, settings.models_dir, include_sentence_model=not args.no_sentence_model
    )
