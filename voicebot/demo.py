"""``voicebot demo``: simulated French calls through the real pipeline, printed turn by turn.

Real: the AudioSocket server and the AMI connector (talking to the Asterisk simulator,
the one stand-in), Silero voice activity and endpointing on synthesized caller speech,
the router, the dialog, espeak-ng replies at 8 kHz, the call log (SQLite by default) and
the HTTP API from which each call's record is read back at the end.

Words: with a Vosk model for French in ``models/`` (``voicebot models pull fr``) the
caller's synthesized speech is recognised by Vosk; without one, the transcripts come
from the script, and the demo says so.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import wave
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from voicebot.accounts.keys import issue_key, revoke_key
from voicebot.assembly import AssemblyOptions, assemble
from voicebot.calls.recognition import ScriptedRecognizerFactory, TranscriptScript
from voicebot.calls.services import CallServices
from voicebot.config import Settings
from voicebot.live.events import CallEndedEvent, CallEvent, TransferEvent, TurnEvent
from voicebot.speech.audio import read_wav, to_telephone_pcm
from voicebot.telephony.simulator import AsteriskSimulator, SimulatedCall, SimulatorTiming

_LOGGER = logging.getLogger(__name__)

DEMO_SECRET = "demo-simulator-secret"
CALLER_SILENCE = bytes(320 * 40)  # 0.8 s of silence frames after each caller line

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
    """Use the real clock; by default calls happen on a Monday at 10:00, city time."""


class _TurnPrinter:
    """Prints the conversation as the session reports it."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def publish(self, event: CallEvent) -> None:
        match event:
            case TurnEvent():
                self._turn(event)
            case TransferEvent():
                print(
                    f"  transfer   : extension {event.extension} ({event.target}, "
                    f'{event.reason}), summary "{event.summary}"'
                )
            case CallEndedEvent():
                print(f"  call ended : {event.outcome}")

    @staticmethod
    def _turn(event: TurnEvent) -> None:
        timings = event.timings_ms
        print(f'  caller     : "{event.transcript or "(nothing)"}"')
        stages = ", ".join(
            f"{name.removesuffix('_ms')} {timings[name]:.0f} ms"
            for name in ("endpoint_ms", "asr_ms", "routing_ms", "tts_ms", "reply_ready_ms")
            if name in timings
        )
        score = event.score
        score_text = f" (score {score:.2f})" if isinstance(score, float) else ""
        print(f"  assistant  : {event.intent}{score_text} → {event.action}")
        if stages:
            print(f"  timings    : {stages}")
        if event.reply_text:
            print(f'  says       : "{event.reply_text}"')


def next_weekday_morning(zone: str, now: datetime | None = None) -> datetime:
    """The next Monday-to-Friday 10:00 in the city's time zone (today if still ahead)."""
    from zoneinfo import ZoneInfo

    local = (now or datetime.now(ZoneInfo(zone))).astimezone(ZoneInfo(zone))
    candidate = local.replace(hour=10, minute=0, second=0, microsecond=0)
    if candidate <= local:
        candidate += timedelta(days=1)
    while candidate.weekday() >= 5:
        candidate += timedelta(days=1)
    return candidate


async def run_demo(settings: Settings, options: DemoOptions) -> int:
    """Play the conversations; return 0 when every call reached the call log and the API."""
    audio_turns = [_read_caller_wav(path) for path in options.wav_turns]
    fallback = TranscriptScript()
    print("voicebot demo")
    print("  preparing: router, prompts, call log (first run renders every prompt once)…")
    simulator = AsteriskSimulator(
        secret=DEMO_SECRET, timing=SimulatorTiming(ring_time=0.5, talk_time=0.5)
    )
    await simulator.start()
    demo_settings = settings.model_copy(
        update={
            "audiosocket_host": "127.0.0.1",
            "audiosocket_port": 0,
            "api_host": "127.0.0.1",
            "api_port": 0,
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
        observers=(_TurnPrinter(),),
        http=True,
        ami_wait_s=10.0,
        writer_flush_s=10,
    )
    options.out_dir.mkdir(parents=True, exist_ok=True)
    call_ids: list[str] = []
    try:
        async with assemble(demo_settings, assembly) as runtime:
            services = runtime.calls
            kb = services.kb
            language = kb.city.default_language
            scripted = isinstance(services.recognizers, ScriptedRecognizerFactory)
            script = fallback if scripted else None
            if audio_turns and scripted:
                raise DemoError(
                    f"WAV caller turns need a Vosk model for {language!r}: run "
                    f"`voicebot models pull {language}` (or use --say)"
                )
            simulator.connect_assistant("127.0.0.1", runtime.server.port)
            print(f"  {kb.city.name.get(language)} ({kb.source})")
            for note in runtime.report.notes:
                print(f"  {note}")
            if script is not None:
                print(
                    f"  no Vosk model for {language!r}: caller speech is synthesized and "
                    "processed (voice activity, endpointing) but the words come from the "
                    f"script — `voicebot models pull {language}` for real recognition"
                )
            if not options.use_real_time:
                moment = next_weekday_morning(kb.city.timezone)
                services.shift_clock_to(moment)
                print(
                    f"  simulated time: {moment:%A %d %B %Y %H:%M} ({kb.city.timezone}), "
                    "offices open"
                )
            conversations: list[tuple[str, ...] | list[bytes]] = (
                [audio_turns] if audio_turns else list(options.conversations)
            )
            for number, turns in enumerate(conversations, start=1):
                label = " / ".join(t if isinstance(t, str) else "(recorded audio)" for t in turns)
                print(f"\ncall {number}: {label}")
                call = await simulator.place_call(f"04701234{number:02d}")
                call_ids.append(str(call.call_id))
                await _converse(services, script, call, turns)
                _save_audio(options.out_dir / f"call-{number}-assistant.wav", call.received_audio())
            assert runtime.api_port is not None
            return await _show_records(
                runtime.api, runtime.api_port, call_ids, runtime.writer.flush
            )
    finally:
        await simulator.stop()
        print(f"\nassistant audio (8 kHz WAV): {options.out_dir}/call-*-assistant.wav")


async def _converse(
    services: CallServices,
    script: TranscriptScript | None,
    call: SimulatedCall,
    turns: tuple[str, ...] | list[bytes],
) -> None:
    """Each turn is a line to synthesize (and script) or recorded caller audio."""
    await _wait_quiet(call)
    for turn in turns:
        if call.ended or not call.socket_open:
            break
        if isinstance(turn, bytes):
            pcm = turn
        else:
            if script is not None:
                script.add(str(call.call_id), [turn])
            language = services.kb.city.default_language
            pcm = (await services.tts.synthesizer.synthesize(turn, language)).pcm
        await call.send_audio(pcm + CALLER_SILENCE)
        await _wait_quiet(call)
    if call.socket_open:
        await call.wait_socket_closed(60)
    await asyncio.sleep(1.0)  # let the transfer's dial result arrive and the record be written


async def _wait_quiet(call: SimulatedCall, quiet_s: float = 0.6, timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not call.ended and call.socket_open:
            spoke = call.last_voiced_at
            if spoke is not None and time.monotonic() - spoke > quiet_s:
                return
            await asyncio.sleep(0.05)


class DemoError(RuntimeError):
    """The demo cannot run as asked; the message says what to do."""


def _read_caller_wav(path: Path) -> bytes:
    try:
        samples, rate = read_wav(path)
    except (OSError, ValueError) as exc:
        raise DemoError(f"{path}: cannot read caller WAV: {exc}") from None
    return to_telephone_pcm(samples, rate)


def _save_audio(path: Path, pcm: bytes) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(pcm)


async def _show_records(api: Any, api_port: int, call_ids: list[str], flush: Any) -> int:
    """Read each call back through the HTTP API with a temporary manager key."""
    if not flush(15):
        print("call log: some records are still queued (database unreachable?)")
    info, key = issue_key(api.engine, "voicebot demo (temporary)", "manager")
    failures = 0
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{api_port}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        ) as client:
            print("\ncall log, read back through the API:")
            for call_id in call_ids:
                response = await client.get(f"/api/calls/{call_id}")
                if response.status_code != 200:
                    failures += 1
                    print(f"  GET /api/calls/{call_id} → {response.status_code} {response.text}")
                    continue
                body = response.json()
                call = body.get("call", body)
                turns = body.get("turns", [])
                print(
                    f"  GET /api/calls/{call_id} → 200: outcome {call.get('outcome')}, "
                    f"department {call.get('department')}, {len(turns)} turn(s): "
                    + json.dumps([t.get("intent") for t in turns])
                )
    finally:
        revoke_key(api.engine, info.id)
    return 1 if failures else 0
