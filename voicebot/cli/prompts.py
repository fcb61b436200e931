"""``voicebot prompts export | check``: what a city records, and whether its recordings fit.

The spoken-duration section of ``voicebot kb validate`` is built here too: every fixed
prompt of the KB rendered as a caller hears it (the city's recording where there is one,
else synthesis at the configured rate), then measured.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from pathlib import Path
from typing import TextIO

from voicebot.cli.errors import CommandError, SubParsers
from voicebot.config import Settings
from voicebot.dialog import PromptBook, prompt_texts
from voicebot.dialog.spoken import RECORDING_LIMITS_S, SpokenText
from voicebot.knowledge.loader import load_kb
from voicebot.knowledge.model import KnowledgeBase
from voicebot.speech.recordings import RecordedPrompts, file_name
from voicebot.speech.tts import DEFAULT_VOICES, SpeechSynthesizer
from voicebot.speech.tts_cache import TtsCache

EXPORT_COLUMNS = ("id", "language", "file", "text", "seconds", "recorded")


def register(commands: SubParsers) -> None:
    """Add ``prompts export`` and ``prompts check``."""
    prompts = commands.add_parser("prompts", help="the fixed texts a city may record")
    sub = prompts.add_subparsers(title="prompts commands", metavar="PROMPTSCOMMAND")
    export = sub.add_parser(
        "export", help="CSV of every fixed prompt (id, language, file, text, seconds)"
    )
    export.add_argument("--kb", type=Path, help="knowledge base (default: the settings' kb_path)")
    export.add_argument("--out", type=Path, help="CSV file to write (default: standard output)")
    export.set_defaults(handler=_cmd_export)
    check = sub.add_parser("check", help="convert and check the recordings in prompts_dir")
    check.add_argument("--kb", type=Path, help="knowledge base (default: the settings' kb_path)")
    check.add_argument("--dir", type=Path, help="recordings (default: the settings' prompts_dir)")
    check.set_defaults(handler=_cmd_check)


async def spoken_texts(settings: Settings, kb: KnowledgeBase) -> list[SpokenText]:
    """Every fixed prompt of ``kb`` as a caller hears it, with its duration."""
    texts = prompt_texts(kb)
    recordings = RecordedPrompts({})
    if settings.prompts_dir is not None:
        recordings, _ = RecordedPrompts.load(
            settings.prompts_dir, texts, settings.cache_dir / "recordings", RECORDING_LIMITS_S
        )
    voices = {lang: settings.tts_voices.get(lang, DEFAULT_VOICES[lang]) for lang in texts}
    synthesizer = SpeechSynthesizer(voices=voices, rate_wpm=settings.tts_rate)
    cache = TtsCache(settings.cache_dir / "tts", synthesizer, 0, recordings)
    measured: list[SpokenText] = []
    try:
        for prompt in PromptBook(kb).all_prompts():
            audio = await cache.get(prompt.text, prompt.language, prompt.key)
            recorded = (prompt.language, prompt.key) in recordings
            measured.append(
                SpokenText(prompt.language, prompt.key, prompt.text, audio.duration_s, recorded)
            )
    finally:
        await synthesizer.close()
    return measured


def write_export(texts: list[SpokenText], out: TextIO) -> None:
    """The recording list: one row per prompt and language, in the KB's order."""
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for text in texts:
        writer.writerow(
            (
                text.key,
                text.language,
                f"{text.language}/{file_name(text.key)}.wav",
                text.text,
                f"{text.seconds:.2f}",
                "yes" if text.recorded else "no",
            )
        )


def _kb(args: argparse.Namespace, settings: Settings) -> KnowledgeBase:
    return load_kb(args.kb or settings.kb_path)


def _cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    kb = _kb(args, settings)
    texts = asyncio.run(spoken_texts(settings, kb))
    if args.out is None:
        write_export(texts, sys.stdout)
    else:
        # utf-8-sig: spreadsheet programs then read the accents right.
        with args.out.open("w", encoding="utf-8-sig", newline="") as handle:
            write_export(texts, handle)
        print(f"{args.out}: {len(texts)} prompts to record", file=sys.stderr)
    return 0


def _cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    directory = args.dir or settings.prompts_dir
    if directory is None:
        raise CommandError("no recordings to check: give --dir or set prompts_dir")
    kb = _kb(args, settings)
    recordings, problems = RecordedPrompts.load(
        directory, prompt_texts(kb), settings.cache_dir / "recordings", RECORDING_LIMITS_S
    )
    for problem in problems:
        print(problem)
    print(f"{directory}: {len(recordings)} recordings usable, {len(problems)} refused")
    return 2 if problems else 0
