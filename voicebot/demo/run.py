"""``voicebot demo``: simulated French calls through the real pipeline, printed turn by turn.

Real: the AudioSocket server and the AMI connector (talking to the Asterisk simulator,
the one stand-in), Silero voice activity and endpointing on synthesized caller speech,
the router, the dialog, espeak-ng replies at 8 kHz, the call log (SQLite by default) and
the HTTP API from which each call's record is read back at the end.

Words: with a Vosk model for French in ``models/`` (``voicebot models pull fr``) the
caller's synthesized speech is recognised by Vosk; without one, the transcripts come
from the script, and the demo says so.

The calls run at the same time (a switchboard takes several at once); the demo then
waits for each call's end and for the writer's word that its record is stored, each
within ``wait_s``, and fails with a message saying which call and why otherwise.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from voicebot.assembly import AssemblyOptions, Runtime, assemble
from voicebot.calls.recognition import ScriptedRecognizerFactory, TranscriptScript
from voicebot.config import Settings
from voicebot.demo.caller import Turn, converse, read_caller_wav, save_audio
from voicebot.demo.errors import DemoError
from voicebot.demo.progress import CallProgress
from voicebot.demo.records import DemoCall, StoredCall, read_back, wait_stored
from voicebot.demo.staff import SignIn, close_sign_ins, open_sign_ins
from voicebot.telephony.simulator import AsteriskSimulator, SimulatorTiming

DEMO_SECRET = "demo-simulator-secret"

DEFAULT_CONVERSATIONS: tuple[tuple[str, ...], ...] = (
    ("bonjour combien coûte une carte d identité", "non merci au revoir"),
    ("oui bonjour mes sacs poubelles n ont pas été ramassés ce matin",),
)


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What the demo plays."""

    conversations: tuple[tuple[str, ...], ...] = DEFAULT_CONVERSATIONS
    wav_turns: tuple[Path, ...] = ()
    """Caller turns recorded as WAV files (one call); needs a Vosk model for the language."""
    out_dir: Path = Path("var/demo")
    use_real_time: bool = False
    """Use the real clock; by default calls happen on the last weekday at 10:00, city time."""
    wait_s: float = 30.0
    """How long each call may take to end after the caller's last words, and then how long
    the records may take to be stored."""
    serve: bool = False
    """Keep the API and the pages up afterwards, with sign-ins, until SIGINT/SIGTERM."""


def last_weekday_morning(zone: str, now: datetime | None = None) -> datetime:
    """The latest Monday-to-Friday 10:00 in the city's time zone that is not in the future:
    offices are open, and the dashboard's default period (up to today) shows the calls."""
    from zoneinfo import ZoneInfo

    local = (now or datetime.now(ZoneInfo(zone))).astimezone(ZoneInfo(zone))
    candidate = local.replace(hour=10, minute=0, second=0, microsecond=0)
    if candidate > local:
        candidate -= timedelta(days=1)
    while candidate.weekday() >= 5:
        candidate -= timedelta(days=1)
    return candidate


async def run_demo(settings: Settings, options: DemoOptions) -> int:
    """Play the conversations; return 0 when every call reached the call log and the API.

    Raises :class:`DemoError` when the demo cannot run as asked or a call or its record
    did not come within ``options.wait_s``.
    """
    started = time.monotonic()
    audio_turns = [read_caller_wav(path) for path in options.wav_turns]
    api_port = settings.api_port if options.serve else 0
    if api_port:
        _check_port_free("127.0.0.1", api_port)
    print("voicebot demo: simulated calls to a city's switchboard, through the real pipeline")
    print("  preparing: router, prompts, call log (first run renders every prompt once)…")
    simulator = AsteriskSimulator(
        secret=DEMO_SECRET, timing=SimulatorTiming(ring_time=0.5, talk_time=0.5)
    )
    await simulator.start()
    fallback = TranscriptScript()
    progress = CallProgress()
    demo_settings = settings.model_copy(
        update={
            "audiosocket_host": "127.0.0.1",
            "audiosocket_port": 0,
            # The demo's sign-ins are printed on the terminal: never reachable from elsewhere.
            "api_host": "127.0.0.1",
            "api_port": api_port,
            "ami_host": "127.0.0.1",
            "ami_port": simulator.ami_port,
            "ami_username": "voicebot",
            "ami_secret": DEMO_SECRET,
            "sounds_dir": None,
            "workers": 1,
            "call_grace_s": 10.0,
        }
    )
    assembly = AssemblyOptions(
        fallback_script=fallback,
        observers=(progress,),
        http=True,
        ami_wait_s=10.0,
        # Every record is stored before the demo ends (it waits for each); a short flush
        # keeps a failed run (database away) from lingering.
        writer_flush_s=3,
    )
    options.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        async with assemble(demo_settings, assembly) as runtime:
            script = _introduce(runtime, fallback, audio_turns, options)
            print(f"  ready after {time.monotonic() - started:.0f} s")
            conversations: list[Sequence[Turn]] = (
                [audio_turns] if audio_turns else list(options.conversations)
            )
            calls = await _play_all(runtime, simulator, progress, script, conversations, options)
            await wait_stored(
                runtime.writer, calls, options.wait_s, demo_settings.data_dir / "spool"
            )
            assert runtime.api_port is not None
            stored = await read_back(runtime.engine, runtime.api_port, calls)
            _summarise(stored, script is not None, options, time.monotonic() - started)
            if options.serve:
                await _serve(runtime, stored)
    finally:
        await simulator.stop()
    return 0


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise DemoError(
                f"--serve: cannot listen on {host}:{port} ({error.strerror}); set "
                "VOICEBOT_API_PORT to a free port (0 picks one)"
            ) from None


def _introduce(
    runtime: Runtime,
    fallback: TranscriptScript,
    audio_turns: list[bytes],
    options: DemoOptions,
) -> TranscriptScript | None:
    """Say what runs and what is simulated; return the script when it supplies the words."""
    services = runtime.calls
    kb = services.kb
    language = kb.city.default_language
    scripted = isinstance(services.recognizers, ScriptedRecognizerFactory)
    if audio_turns and scripted:
        raise DemoError(
            f"WAV caller turns need a Vosk model for {language!r}: run "
            f"`voicebot models pull {language}` (or use --say)"
        )
    print(f"  {kb.city.name.get(language)} ({kb.source})")
    for note in runtime.report.notes:
        if not (scripted and note.startswith("recognition:")):  # said below, in full
            print(f"  {note}")
    if scripted:
        print(
            f"  the caller's words: no speech model for {language!r} is installed (none can be "
            "downloaded offline), so the words come from the script. Everything else is "
            "the real pipeline: the caller's voice is synthesized and streamed through "
            "AudioSocket, where voice activity detection and endpointing find each turn; "
            "then routing, the dialog, the assistant's speech, the call log and the API. "
            f"`voicebot models pull {language}` (online) for real recognition."
        )
    else:
        print(f"  the caller's words: recognised by Vosk from the synthesized speech ({language})")
    if not options.use_real_time:
        moment = last_weekday_morning(kb.city.timezone)
        services.shift_clock_to(moment)
        print(f"  simulated time: {moment:%A %d %B %Y %H:%M} ({kb.city.timezone}), offices open")
    return fallback if scripted else None


async def _play_all(
    runtime: Runtime,
    simulator: AsteriskSimulator,
    progress: CallProgress,
    script: TranscriptScript | None,
    conversations: list[Sequence[Turn]],
    options: DemoOptions,
) -> list[DemoCall]:
    """Every call at once; the first failure stops the others."""
    simulator.connect_assistant("127.0.0.1", runtime.server.port)
    print()
    for number, turns in enumerate(conversations, start=1):
        said = " / ".join(t if isinstance(t, str) else "(recorded audio)" for t in turns)
        print(f"call {number}: the caller will say: {said}")
    print()

    async def one(number: int, turns: Sequence[Turn]) -> DemoCall:
        call = await simulator.place_call(f"04701234{number:02d}")
        placed = DemoCall(f"call {number}", str(call.call_id))
        progress.follow(placed.call_id, placed.label)
        await converse(runtime.calls, script, call, turns, options.wait_s)
        await progress.ended(placed.call_id, options.wait_s)
        save_audio(options.out_dir / f"call-{number}-assistant.wav", call.received_audio())
        return placed

    tasks = [
        asyncio.create_task(one(number, turns), name=f"demo call {number}")
        for number, turns in enumerate(conversations, start=1)
    ]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _summarise(
    stored: list[StoredCall], scripted: bool, options: DemoOptions, seconds: float
) -> None:
    print(f"\nsummary: {len(stored)} call(s) played at once, {seconds:.0f} s in all")
    for item in stored:
        where = f" to {item.department}" if item.department else ""
        print(
            f"  {item.call.label}: {item.outcome}{where}; turns {', '.join(item.intents)}; "
            f"stored and read back (GET /api/calls/{item.call.call_id} → 200)"
        )
    if scripted:
        print("  the caller's words came from the script; the rest was the real pipeline")
    print(f"  what the assistant said (8 kHz WAV): {options.out_dir}/call-*-assistant.wav")
    if not options.serve:
        print(
            "  to see these calls on the manager's dashboard and the operator's console: "
            "voicebot demo --serve"
        )


async def _serve(runtime: Runtime, stored: list[StoredCall]) -> None:
    """Keep the API and the pages up until SIGINT or SIGTERM, with sign-ins for them."""
    assert runtime.api_port is not None
    url = f"http://127.0.0.1:{runtime.api_port}"
    sign_ins = open_sign_ins(runtime.api.staff)
    try:
        _print_sign_ins(url, sign_ins, stored)
        await _until_stopped()
    finally:
        close_sign_ins(runtime.api.staff, sign_ins)
    print("\nstopped: the demo accounts are disabled again")


def _print_sign_ins(url: str, sign_ins: list[SignIn], stored: list[StoredCall]) -> None:
    print(f"\nthe API and the pages are up at {url} until Ctrl-C; sign in at {url}/login")
    for sign_in in sign_ins:
        pages = "the console" if sign_in.role.value == "operator" else "the dashboard and calls"
        print(
            f"  {sign_in.role.value:<8} ({pages}): name {sign_in.name}  password {sign_in.password}"
        )
    print(f"  dashboard: {url}/dashboard   console: {url}/console")
    for item in stored:
        print(f"  {item.call.label}: {url}/calls/{item.call.call_id}")
    print(
        "  (these passwords are new on every run and stop working when the demo stops)",
        flush=True,
    )


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
