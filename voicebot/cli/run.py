"""``voicebot demo`` and ``voicebot serve``: the assistant itself."""

from __future__ import annotations

import argparse
from pathlib import Path

from voicebot.cli.errors import CommandError, SubParsers
from voicebot.config import Settings


def register(commands: SubParsers) -> None:
    """Add ``demo`` and ``serve``."""
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
    demo.add_argument(
        "--wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long a call may take to end after the caller's last words, and then its "
        "record to be stored (default 30)",
    )
    demo.add_argument(
        "--serve",
        action="store_true",
        help="then keep the API and pages up (Ctrl-C stops) with sign-ins for the dashboard "
        "and the console",
    )
    demo.set_defaults(handler=_cmd_demo)

    serve = commands.add_parser(
        "serve", help="run the assistant: AudioSocket, AMI, call log and API (until SIGTERM)"
    )
    serve.add_argument("--ready-file", type=Path, help="write the bound ports here when ready")
    # Test harness only (tests/support/serve_process.py), hidden from --help: each call's
    # transcripts come from DIR/<uuid>.txt because no French speech model is installable.
    serve.add_argument("--transcripts-dir", type=Path, help=argparse.SUPPRESS)
    serve.add_argument("--worker-child", action="store_true", help=argparse.SUPPRESS)
    serve.set_defaults(handler=_cmd_serve)


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from voicebot.demo import DEFAULT_CONVERSATIONS, DemoError, DemoOptions, run_demo

    if not 0 < args.wait <= 600:
        raise CommandError(f"demo --wait: give 0 < SECONDS <= 600, not {args.wait:g}")
    conversations = (tuple(args.say),) if args.say else DEFAULT_CONVERSATIONS
    options = DemoOptions(
        conversations=conversations,
        wav_turns=tuple(args.wav or ()),
        out_dir=args.out,
        use_real_time=args.now,
        wait_s=args.wait,
        serve=args.serve,
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
