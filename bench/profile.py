"""Sampling profile of a running process with py-spy, summarized as text.

    python -m bench.profile STACKS.txt [--top 25]

``start_profiler`` runs ``py-spy record --format raw`` (collapsed stacks, one line per
distinct stack with its sample count) against a pid; ``summarize`` turns such a file
into the functions holding the most samples, by own time and including callees, per
thread. py-spy is a dev tool (``pip install py-spy``), not a dependency of voicebot.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any


def start_profiler(pid: int, seconds: float, output: Path) -> subprocess.Popen[bytes]:
    """Start py-spy recording ``pid`` for ``seconds`` into ``output`` (collapsed stacks)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise RuntimeError("py-spy is not installed: pip install py-spy")
    output.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, int(seconds))),
            "--rate",
            "200",
            "--format",
            "raw",
            "--threads",
            "--nonblocking",
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _frame_name(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"; drop the line number
    # so a function's samples add up.
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.11/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})" if path else name


def summarize(stacks: Path, top: int = 25) -> dict[str, Any]:
    """Samples per thread, and the functions with the most own and inclusive samples."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    idle = 0
    total = 0
    for line in stacks.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = frames[0]
        names = [_frame_name(f) for f in frames[1:]]
        total += count
        threads[thread.split(" ")[0] + " " + thread.split(" ")[-1].strip('"')] += count
        if names and names[-1].startswith(("select ", "poll ", "epoll_wait", "wait ")):
            idle += count
        if names:
            own[names[-1]] += count
        for name in set(names):
            inclusive[name] += count
    return {
        "samples": total,
        "threads": dict(threads.most_common()),
        "own": [(name, n, round(100 * n / total, 1)) for name, n in own.most_common(top)],
        "inclusive": [
            (name, n, round(100 * n / total, 1)) for name, n in inclusive.most_common(top)
        ],
    }


def main(argv: list[str] | None = None) -> None:
    """Print the summary of a collapsed-stacks file as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    print(json.dumps(summarize(args.stacks, args.top), indent=1))


if __name__ == "__main__":
    main()
