"""Every benchmark of the assistant, one after the other: the one command.

    python -m bench.run_all [--quick] [--out bench/results/<UTC time>.json]

Full run (under 10 minutes on 2 cores): VAD cost, routing per backend and variant, TTS
time to first frame, Vosk real-time factor, call log writes batched vs not, statistics
API under concurrency (needs ``python -m bench.calllog_gen`` once), then the end-to-end
call load through ``voicebot serve`` with scripted transcripts and with Vosk, side by
side (turn latency at 1 and 10 calls, capacity search, CPU per call-minute, memory).
``--quick`` (about 2 minutes once the routing index cache is warm) runs smaller versions
of the same steps: no Vosk, scripted calls at 10 concurrent calls only.

Each step runs in its own process group with a time limit and is killed with everything
it started if it overruns or fails; a failed step is recorded and the others still run.
Prints a summary and writes every step's JSON, the machine and the load average before
and after each step to ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.measure import load_average, machine, process_tree

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ROUTING_CACHE = ROOT / "var" / "bench" / "cache" / "routing-index"

Step = tuple[str, list[str], float]


def steps(quick: bool) -> list[Step]:
    """(name, command, time limit in seconds) of every step."""
    py = [sys.executable, "-m"]
    if quick:
        return [
            ("vad_cost", [*py, "bench.vad_cost", "--seconds", "20"], 120),
            ("routing", [*py, "bench.routing", "--quick", "--cache", str(ROUTING_CACHE)], 240),
            ("tts_latency", [*py, "bench.tts_latency", "--repeat", "1"], 120),
            ("phone_path", [*py, "bench.phone_path"], 180),
            ("calllog_writer", [*py, "bench.calllog_writer", "--calls", "200"], 120),
            ("console_feed", [*py, "bench.console_feed", "--events", "50"], 120),
            (
                "stats_api",
                # A small data set of its own: a fresh clone has no 1 M-turn bench data.
                [
                    *py,
                    "bench.stats_api",
                    "--seconds",
                    "5",
                    "--clients",
                    "8",
                    "--schema",
                    "calllog_bench_quick",
                    "--generate",
                    "3000",
                ],
                180,
            ),
            # On the data set stats_api just loaded (a fresh clone has no other).
            (
                "staff_pages",
                [*py, "bench.staff_pages", "--runs", "5", "--schema", "calllog_bench_quick"],
                240,
            ),
            (
                "calls",
                [
                    *py,
                    "bench.calls",
                    "--mode",
                    "scripted",
                    "--levels",
                    "10",
                    "--capacity",
                    "",
                    "--window",
                    "25",
                ],
                240,
            ),
        ]
    return [
        ("vad_cost", [*py, "bench.vad_cost", "--seconds", "60"], 180),
        ("phone_path", [*py, "bench.phone_path"], 180),
        (
            "routing",
            [
                *py,
                "bench.routing",
                "--variants",
                "catalogue,blend,knn_only,lexical_only",
                "--cache",
                str(ROUTING_CACHE),
            ],
            300,
        ),
        ("tts_latency", [*py, "bench.tts_latency", "--repeat", "2"], 180),
        ("asr_rtf", [*py, "bench.asr_rtf", "--seconds", "5", "--max-streams", "4"], 180),
        ("calllog_writer", [*py, "bench.calllog_writer", "--calls", "1000"], 180),
        ("console_feed", [*py, "bench.console_feed", "--events", "200"], 180),
        ("stats_api", [*py, "bench.stats_api", "--seconds", "15", "--clients", "8"], 180),
        ("staff_pages", [*py, "bench.staff_pages", "--runs", "20"], 300),
        (
            "calls",
            [
                *py,
                "bench.calls",
                "--mode",
                "both",
                "--levels",
                "1,10",
                "--capacity",
                "20,40,60,80",
                "--vosk-capacity",
                "2,3,4",
                "--window",
                "25",
                "--with-vad-baseline",
            ],
            600,
        ),
    ]


def last_json(text: str) -> Any:
    """The JSON object a step printed (after any table it printed first)."""
    if text.startswith("{"):
        return json.loads(text)
    start = text.find("\n{")
    if start < 0:
        raise ValueError("the step printed no JSON object")
    return json.loads(text[start + 1 :])


def run_step(name: str, command: list[str], limit: float) -> dict[str, Any]:
    """Run one step in its own process group; its JSON, timings and load."""
    before = load_average()
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=out, stderr=err, start_new_session=True
        )
        try:
            code: int | None = process.wait(limit)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            # Whatever the step started goes too: serve and the API server run in
            # process groups of their own, so they are found as descendants, by id.
            how = signal.SIGKILL if code is None else signal.SIGTERM
            for pid in reversed(process_tree(process.pid)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, how)
            if code is None:  # not reaped yet: its process group id is still its own
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, how)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", errors="replace")
        stderr = err.read().decode("utf-8", errors="replace")
    record: dict[str, Any] = {
        "command": " ".join(["python", *command[1:]]),
        "seconds": round(time.monotonic() - started, 1),
        "load_average_before": before,
        "load_average_after": load_average(),
        "exit_code": code,
    }
    if code is None:
        record["error"] = f"killed after the {limit:.0f} s limit"
    elif code != 0:
        record["error"] = f"exit code {code}: {stderr.strip()[-2000:]}"
    else:
        try:
            record["result"] = last_json(stdout)
        except ValueError as exc:
            record["error"] = f"{exc}: {stdout[-500:]}"
    return record


def summary_lines(results: dict[str, Any]) -> list[str]:
    """A few headline figures per step, for the terminal."""
    lines = []
    for name, step in results["steps"].items():
        status = "ok" if "result" in step else f"FAILED ({step.get('error', '')[:200]})"
        if "skipped" in step.get("result", {}):
            status = f"skipped: {step['result']['skipped']}"
        lines.append(f"{name:<16} {step['seconds']:>6.1f} s  load {step['load_average_before']}")
        lines.append(f"{'':<16} {status}")
        calls = step.get("result", {}).get("modes", {}) if name == "calls" else {}
        for mode, report in calls.items():
            for level in report["levels"] + report["capacity_search"]:
                wire = level["latency_ms"]["wire_ms"]
                lines.append(
                    f"{'':<16} {mode} {level['concurrent_calls']:>3} calls: "
                    f"turn p50 {wire.get('p50')} ms p95 {wire.get('p95')} ms n={wire['n']}, "
                    f"frames off>5ms {level['pacing']['off_fraction']}, "
                    f"CPU/call-min {level['cpu']['per_call_minute_s']['total']} s"
                )
            lines.append(
                f"{'':<16} {mode}: max calls with p95 <= 700 ms, no drop: "
                f"{report['max_calls_meeting_p95_700ms']}; and 99% of frames within 5 ms: "
                f"{report['max_calls_also_frames_99pct_within_5ms']}; and every frame: "
                f"{report['max_calls_also_every_frame_within_5ms']} "
                f"(levels tried {report['levels_tried']})"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run every step; returns 1 if any failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 2 minutes")
    parser.add_argument("--out", type=Path, help="where to write the JSON of the whole run")
    args = parser.parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or RESULTS / f"{stamp}{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results: dict[str, Any] = {
        "started_utc": stamp,
        "quick": args.quick,
        "machine": machine(),
        "steps": {},
    }
    for name, command, limit in steps(args.quick):
        print(f"-- {name} (limit {limit:.0f} s) ...", file=sys.stderr, flush=True)
        results["steps"][name] = run_step(name, command, limit)
        out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    results["total_seconds"] = round(time.monotonic() - started, 1)
    results["load_average_after"] = load_average()
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for line in summary_lines(results):
        print(line)
    print(f"total {results['total_seconds']} s; results in {out}")
    return 1 if any("error" in step for step in results["steps"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
