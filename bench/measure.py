"""Measuring helpers shared by the benchmarks: percentiles, process CPU and memory, load.

CPU and memory come straight from ``/proc`` (Linux), so no extra dependency is needed:
``utime + stime`` of ``/proc/<pid>/stat`` for CPU seconds, ``VmRSS`` of
``/proc/<pid>/status`` for resident memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import statistics
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: Iterable[float], fraction: float) -> float:
    """Linear-interpolated percentile (``fraction`` in 0..1) of a non-empty collection."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(values: Iterable[float], digits: int = 1) -> dict[str, float]:
    """n, p50, p95, max and mean of ``values`` (empty: only ``n`` = 0)."""
    data = list(values)
    if not data:
        return {"n": 0}
    return {
        "n": len(data),
        "p50": round(statistics.median(data), digits),
        "p95": round(percentile(data, 0.95), digits),
        "max": round(max(data), digits),
        "mean": round(statistics.fmean(data), digits),
    }


def _stat_fields(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    return raw[raw.rindex(")") + 2 :].split()


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants that are alive now."""
    tree, queue = [], [pid]
    while queue:
        current = queue.pop()
        with contextlib.suppress(OSError):
            queue += _children(current)
            tree.append(current)
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by one process (all its threads)."""
    fields = _stat_fields(pid)
    # After the command name: state is field 3, utime field 14, stime field 15.
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def tree_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds of ``pid`` and of each live descendant (e.g. the TTS worker)."""
    result = {}
    for member in process_tree(pid):
        with contextlib.suppress(OSError, ValueError, IndexError):
            result[member] = cpu_seconds(member)
    return result


def rss_bytes(pid: int) -> int:
    """Resident memory of one process, in bytes (``VmRSS``)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise ValueError(f"/proc/{pid}/status has no VmRSS line (kernel thread or zombie?)")


def tree_rss_bytes(pid: int) -> dict[int, int]:
    """Resident memory of ``pid`` and of each live descendant, in bytes."""
    result = {}
    for member in process_tree(pid):
        with contextlib.suppress(OSError, ValueError):
            result[member] = rss_bytes(member)
    return result


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds per thread id of one process (the main thread's id is ``pid``).

    Python 3.11 does not name its threads for the kernel, so threads are told apart by
    id: the main thread runs the event loop, the others are executors and writers.
    """
    result: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            raw = (task / "stat").read_text()
            fields = raw[raw.rindex(")") + 2 :].split()
            result[int(task.name)] = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    return result


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages."""
    return [round(value, 2) for value in os.getloadavg()]


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_kb = 0
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(memory_kb / 2**20, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load_average": load_average(),
    }


@dataclass(slots=True)
class LoopLag:
    """How late this process's event loop wakes up: the measuring side's own noise."""

    interval_s: float = 0.01
    samples_ms: list[float] | None = None
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin sampling in the background."""
        self.samples_ms = []
        self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag")

    async def stop(self) -> dict[str, float]:
        """Stop sampling; summary of wake-up delays in milliseconds."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return summarize(self.samples_ms or [], 2)

    async def _run(self) -> None:
        assert self.samples_ms is not None
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.interval_s)
            self.samples_ms.append((time.monotonic() - before - self.interval_s) * 1000)


@contextlib.contextmanager
def elapsed() -> Iterator[list[float]]:
    """``with elapsed() as out:`` puts the block's wall seconds in ``out[0]``."""
    out: list[float] = []
    started = time.perf_counter()
    try:
        yield out
    finally:
        out.append(time.perf_counter() - started)
