"""What the reliability tests share: ``voicebot serve`` on the test KB, simulated callers,
a bounded load driver, and checks on the call log, the metrics and the process.

Only Asterisk is simulated (voicebot.telephony.simulator); the assistant is the real
``voicebot serve`` subprocess, with transcripts from its test-only script (no French
speech model installs here) while the caller's audio is real espeak-ng speech that its
voice activity detection and endpointing process.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.pool import NullPool

from tests.support.caller import first_reply_after, say
from tests.support.serve_process import ServeProcess, start_serve
from voicebot.calllog.models import Call, Turn
from voicebot.telephony.simulator import SimulatedCall, SimulatorTiming

RELIABILITY_KB = Path(__file__).parent / "data" / "kb.yaml"
QUESTION = "quelles sont vos heures d'ouverture"
DEPARTMENT_EXTEN = "2002"
"""Extension of the department DTMF 1 selects in the test KB."""
OPERATOR_EXTEN = "1000"
FAQ_INTENTS = ("faq:opening_hours", "hangup")
"""Turns of a FAQ call: the answered question, then the caller hanging up during it."""
DTMF_INTENTS = ("dtmf:1",)
"""Turns of a DTMF call: key 1, transferred to the department."""


class CallKind(StrEnum):
    """The short scripted calls the load is made of."""

    FAQ = "faq"
    """Ask the FAQ question over the greeting, hang up once the answer is heard."""
    DTMF = "dtmf"
    """Press 1 over the greeting: transferred to the department, which answers."""


@dataclass
class CallResult:
    """One simulated call as the caller lived it."""

    kind: CallKind
    number: str
    call: SimulatedCall | None = None
    seconds: float = 0.0
    error: str | None = None

    @property
    def call_id(self) -> str:
        """The AudioSocket UUID (empty if the call never connected)."""
        return str(self.call.call_id) if self.call is not None else ""


@dataclass(frozen=True, slots=True)
class StoredCall:
    """A call as the call log holds it."""

    call_id: str
    outcome: str
    turn_count: int
    intents: tuple[str, ...]
    transcripts: tuple[str, ...]


@dataclass
class LoadReport:
    """What a load run did."""

    results: list[CallResult]
    seconds: float
    peak_concurrency: int
    durations: list[float] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """Calls that did not go as the caller expected, one line each."""
        return [f"{r.kind} {r.call_id or r.number}: {r.error}" for r in self.results if r.error]

    def percentile(self, fraction: float) -> float:
        """A percentile of call durations in seconds."""
        ordered = sorted(self.durations)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


@dataclass
class Bot:
    """A running ``voicebot serve`` with its simulator and a way to read its call log."""

    served: ServeProcess
    engine: Engine

    @property
    def simulator(self) -> Any:
        """The Asterisk simulator the process is connected to."""
        return self.served.simulator

    @property
    def pid(self) -> int:
        """Process id of ``voicebot serve``."""
        return self.served.process.pid

    def rss_bytes(self) -> int:
        """Resident memory of the serve process."""
        status = Path(f"/proc/{self.pid}/status").read_text(encoding="ascii")
        line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(line.split()[1]) * 1024

    async def metrics(self) -> dict[str, float]:
        """Unlabelled samples of GET /metrics."""
        async with httpx.AsyncClient(base_url=self.served.api_url, timeout=10) as client:
            response = await client.get("/metrics")
        response.raise_for_status()
        return parse_metrics(response.text)

    async def wait_idle(self, timeout: float = 30.0) -> dict[str, float]:
        """Wait until no call is in progress, by events and by live sessions."""
        async with asyncio.timeout(timeout):
            while True:
                sample = await self.metrics()
                if (
                    sample["voicebot_calls_in_progress"] == 0
                    and sample["voicebot_call_sessions_active"] == 0
                ):
                    return sample
                await asyncio.sleep(0.2)

    async def close(self) -> int:
        """Stop the process (SIGTERM) and the simulator; returns the exit code."""
        try:
            return await self.served.stop(timeout=60)
        finally:
            self.engine.dispose()


def parse_metrics(text: str) -> dict[str, float]:
    """``name value`` lines of the Prometheus text format (labelled samples keep labels)."""
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


async def start_bot(
    workdir: Path,
    cache_dir: Path,
    *,
    settings: dict[str, Any] | None = None,
    database_url: str | None = None,
    check_url: str | None = None,
    timing: SimulatorTiming | None = None,
    verbose: bool = False,
    env: dict[str, str] | None = None,
) -> Bot:
    """``voicebot serve`` on the reliability KB; ``check_url`` reads its call log (default:
    the database it writes to)."""
    values = {
        "kb_path": str(RELIABILITY_KB),
        "no_input_timeout_s": 1.0,
        # The simulated callers share two busy cores with the assistant: a 300 ms stall of
        # the load generator would end an utterance early (the endpointer runs on the
        # clock, as it must), splitting one question into two turns.
        "endpoint_silence_ms": 600,
        **(settings or {}),
    }
    served = await start_serve(
        workdir,
        cache_dir=cache_dir,
        database_url=database_url,
        settings=values,
        timing=timing,
        verbose=verbose,
        env=env,
    )
    url = check_url or served.settings["database_url"]
    return Bot(served, create_engine(url, poolclass=NullPool))


# --- callers -----------------------------------------------------------------------------


async def faq_call(
    bot: Bot,
    speech: bytes,
    result: CallResult,
    transcript: str = QUESTION,
    think_s: float = 0.2,
) -> None:
    """After ``think_s`` of the greeting, ask the FAQ question over it (the recogniser hears
    ``transcript``); hang up 0.3 s into the reply."""
    call = await bot.simulator.place_call(result.number)
    result.call = call
    bot.served.script(str(call.call_id), [transcript])
    await asyncio.sleep(think_s)
    last_voice = await say(call, speech, trailing_silence_s=0.4)
    await first_reply_after(call, last_voice + 0.1, timeout=30)
    await asyncio.sleep(0.3)
    await call.hangup()


async def dtmf_call(bot: Bot, result: CallResult, end_timeout: float = 60.0) -> None:
    """Press 1 over the greeting and stay on the line until the PBX ends the call."""
    call = await bot.simulator.place_call(result.number)
    result.call = call
    await asyncio.sleep(0.2)
    await call.send_dtmf("1")
    await call.wait_ended(end_timeout)


async def run_load(
    bot: Bot,
    kinds: Sequence[CallKind],
    concurrency: int,
    speech: bytes,
    *,
    number_base: int = 0,
    call_timeout: float = 90.0,
    think_s: float = 0.2,
) -> LoadReport:
    """Place one call per entry of ``kinds``, at most ``concurrency`` at a time."""
    gate = asyncio.Semaphore(concurrency)
    active = 0
    peak = 0
    results = [CallResult(kind, f"04{number_base + i:08d}") for i, kind in enumerate(kinds)]
    durations: list[float] = []

    async def one(result: CallResult) -> None:
        nonlocal active, peak
        async with gate:
            active += 1
            peak = max(peak, active)
            started = time.monotonic()
            try:
                async with asyncio.timeout(call_timeout):
                    if result.kind is CallKind.FAQ:
                        await faq_call(bot, speech, result, think_s=think_s)
                    else:
                        await dtmf_call(bot, result)
            except Exception as error:
                result.error = f"{type(error).__name__}: {error}"
                if result.call is not None and result.call.protocol_errors:
                    # e.g. the simulated Asterisk could not connect to AudioSocket
                    result.error += f" ({'; '.join(result.call.protocol_errors)})"
            finally:
                result.seconds = time.monotonic() - started
                durations.append(result.seconds)
                active -= 1
                if result.call is not None:
                    # Frames heard are only needed during the call: a long run would keep
                    # hundreds of thousands of them, and the load generator's garbage
                    # collections would pause every simulated caller at once.
                    result.call.heard.clear()

    # What exists now lives for the whole run: keep it out of the collector's way.
    gc.freeze()
    started = time.monotonic()
    await asyncio.gather(*(one(result) for result in results))
    return LoadReport(results, time.monotonic() - started, peak, durations)


def mixed(count: int) -> list[CallKind]:
    """Alternating FAQ and DTMF calls."""
    return [CallKind.FAQ if i % 2 == 0 else CallKind.DTMF for i in range(count)]


# --- the call log ------------------------------------------------------------------------


def count_calls(engine: Engine) -> int:
    """Rows in ``calls``."""
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Call)).scalar_one())


def stored_calls(engine: Engine) -> dict[str, StoredCall]:
    """Every stored call with its turns in order."""
    with engine.connect() as connection:
        calls = connection.execute(
            select(Call.id, Call.call_id, Call.outcome, Call.turn_count)
        ).all()
        turns = connection.execute(
            select(Turn.call_pk, Turn.intent, Turn.transcript).order_by(
                Turn.call_pk, Turn.turn_index
            )
        ).all()
    by_pk: dict[int, list[tuple[str, str]]] = {}
    for pk, intent, transcript in turns:
        by_pk.setdefault(pk, []).append((intent, transcript or ""))
    return {
        call_id: StoredCall(
            call_id,
            outcome,
            turn_count,
            tuple(intent for intent, _ in by_pk.get(pk, [])),
            tuple(text for _, text in by_pk.get(pk, [])),
        )
        for pk, call_id, outcome, turn_count in calls
    }


async def wait_stored(engine: Engine, expected: int, timeout: float = 60.0) -> int:
    """Wait until the call log holds ``expected`` calls; returns the final count."""
    deadline = time.monotonic() + timeout
    while True:
        found = await asyncio.to_thread(count_calls, engine)
        if found >= expected or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.25)


Expectation = Callable[[CallResult, StoredCall], str | None]


def expect_scripted(result: CallResult, stored: StoredCall) -> str | None:
    """The turns each scripted call makes when nothing goes wrong."""
    wanted = FAQ_INTENTS if result.kind is CallKind.FAQ else DTMF_INTENTS
    if stored.intents != wanted:
        return f"turns {stored.intents}, expected {wanted}"
    return None


def record_problems(
    results: Sequence[CallResult],
    stored: dict[str, StoredCall],
    expectation: Expectation = expect_scripted,
) -> list[str]:
    """Calls missing from the log, calls it has that nobody made, turns lost or wrong."""
    made = {r.call_id: r for r in results if r.call_id}
    problems = [f"never connected: {r.number} ({r.error})" for r in results if not r.call_id]
    problems += [f"not recorded: {cid} ({made[cid].kind})" for cid in made if cid not in stored]
    problems += [f"recorded but never made: {cid}" for cid in stored if cid not in made]
    for call_id, result in made.items():
        row = stored.get(call_id)
        if row is None:
            continue
        if row.turn_count != len(row.intents):
            problems.append(f"{call_id}: turn_count {row.turn_count}, {len(row.intents)} turns")
        problem = expectation(result, row)
        if problem:
            problems.append(f"{call_id} ({result.kind}): {problem}")
    return problems


def dialled(call: SimulatedCall) -> list[str]:
    """Extensions the simulated PBX dialled for this call, in order."""
    return [
        event.headers.get("DialString") or ""
        for event in call.events
        if event.name == "DialBegin" and (event.headers.get("DialString") or "").isdigit()
    ]


def answered_by(call: SimulatedCall) -> str | None:
    """The extension that answered the call (the last one dialled, if it answered)."""
    numbers = dialled(call)
    answered = any(
        event.name == "DialEnd" and event.headers.get("DialStatus") == "ANSWER"
        for event in call.events
    )
    return numbers[-1] if numbers and answered else None
