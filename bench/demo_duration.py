"""How long ``voicebot demo`` takes warm, before and after a change, side by side (issue 14).

Usage::

    python -m bench.demo_duration [--runs 5] [--before REV] [--out FILE.json]

Each variant gets a home of its own (its ``var/``, the cache of rendered prompts and of
the embedding index shared) and one untimed warm-up run, so that every timed run is
warm, as a newcomer's second ``make demo``. Then the variants take turns, run by run, so
that the other load on the machine falls on both alike. Every run is the real command
under ``/usr/bin/time -v`` (wall clock, CPU share, peak memory, exit code).

``--before REV`` runs the demo of that commit: its tree is extracted with ``git archive``
(catalogues compiled as ``make setup`` does) and put first on ``PYTHONPATH``, with this
checkout's virtualenv. Without it, only the current tree is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.measure import load_average, machine

ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT_S = 600
_TIME_FIELDS = {
    "wall_s": "Elapsed (wall clock) time (h:mm:ss or m:ss)",
    "cpu_percent": "Percent of CPU this job got",
    "max_rss_kb": "Maximum resident set size (kbytes)",
    "exit_status": "Exit status",
}


def _seconds(clock: str) -> float:
    """``m:ss.ss`` or ``h:mm:ss`` as seconds."""
    total = 0.0
    for part in clock.split(":"):
        total = total * 60 + float(part)
    return total


def parse_time_v(stderr: str) -> dict[str, float]:
    """The figures of ``/usr/bin/time -v`` that this benchmark reports."""
    found: dict[str, float] = {}
    for name, label in _TIME_FIELDS.items():
        match = re.search(rf"^\s*{re.escape(label)}: (.+)$", stderr, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"/usr/bin/time -v printed no {label!r}:\n{stderr[-2000:]}")
        value = match.group(1).strip()
        found[name] = _seconds(value) if name == "wall_s" else float(value.rstrip("%"))
    return found


def extract(rev: str, into: Path) -> Path:
    """The tree of ``rev`` in ``into``, ready to import (translations compiled)."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    subprocess.run(
        [
            str(Path(sys.executable).with_name("pybabel")),
            "-q",
            "compile",
            "-d",
            str(into / "voicebot" / "i18n" / "locale"),
        ],
        check=True,
    )
    return into


def run_once(home: Path, source: Path | None) -> dict[str, Any]:
    """One ``voicebot demo`` in ``home`` (``source`` first on the path when given)."""
    env = {**os.environ, "VOICEBOT_DATA_DIR": str(home / "var"), "HF_HUB_OFFLINE": "1"}
    if source is not None:
        env["PYTHONPATH"] = str(source)
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "voicebot.cli", "demo"]
    load_before = load_average()[0]
    done = subprocess.run(
        command,
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    figures: dict[str, Any] = parse_time_v(done.stderr)
    figures["load_1min_before"] = load_before
    if figures["exit_status"] != 0:
        figures["error"] = (done.stdout + done.stderr)[-1500:]
    return figures


def measure(runs: int, before: str | None) -> dict[str, Any]:
    """Warm-up, then ``runs`` alternating timed runs of each variant."""
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        variants: dict[str, Path | None] = {}
        if before is not None:
            variants[f"before ({before})"] = extract(before, Path(tmp) / "before-src")
        variants["after (this tree)"] = None
        homes = {}
        # One cache for both (prompts and the index are keyed by content): a single cold
        # render, then each variant's warm-up only warms its own call log and the OS.
        cache = Path(tmp) / "cache"
        cache.mkdir()
        for number, (name, source) in enumerate(variants.items()):
            homes[name] = Path(tmp) / f"home-{number}"
            (homes[name] / "var").mkdir(parents=True)
            (homes[name] / "var" / "cache").symlink_to(cache, target_is_directory=True)
            warm_up = run_once(homes[name], source)
            print(f"{name}: warm-up {warm_up['wall_s']:.1f} s", file=sys.stderr, flush=True)
        timed: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
        for run in range(1, runs + 1):
            for name, source in variants.items():
                figures = run_once(homes[name], source)
                timed[name].append(figures)
                print(
                    f"{name}: run {run}: {figures['wall_s']:.1f} s, exit "
                    f"{figures['exit_status']:.0f}, load {figures['load_1min_before']:.1f}",
                    file=sys.stderr,
                    flush=True,
                )
    return {
        "machine": machine(),
        "command": "voicebot demo (warm: after one untimed run in the same data directory)",
        "runs": runs,
        "variants": {name: _summary(results) for name, results in timed.items()},
    }


def _summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    walls = [r["wall_s"] for r in results]
    return {
        "wall_s_median": round(statistics.median(walls), 1),
        "wall_s_min": round(min(walls), 1),
        "wall_s_max": round(max(walls), 1),
        "cpu_percent_median": statistics.median(r["cpu_percent"] for r in results),
        "max_rss_mb_median": round(statistics.median(r["max_rss_kb"] for r in results) / 1024),
        "failed_runs": sum(1 for r in results if r["exit_status"] != 0),
        "load_1min_median": round(statistics.median(r["load_1min_before"] for r in results), 1),
        "runs": results,
    }


def markdown(result: dict[str, Any]) -> str:
    """The table of docs/benchmarks.md."""
    lines = [
        "| variant | wall median | min – max | CPU | peak RSS | failed runs | load (1 min) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in result["variants"].items():
        lines.append(
            f"| {name} | {s['wall_s_median']:.1f} s | {s['wall_s_min']:.1f} – "
            f"{s['wall_s_max']:.1f} s | {s['cpu_percent_median']:.0f} % | "
            f"{s['max_rss_mb_median']} MB | {s['failed_runs']} of {result['runs']} | "
            f"{s['load_1min_median']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per variant")
    parser.add_argument("--before", metavar="REV", help="also measure the demo of this commit")
    parser.add_argument("--out", type=Path, help="write the JSON here too")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    result = measure(args.runs, args.before)
    text = json.dumps(result, indent=2)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    print(markdown(result))


if __name__ == "__main__":
    main()
