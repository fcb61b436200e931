"""Time to the first 20 ms frame of a reply: uncached synthesis vs the render cache.

Usage::

    python -m bench.tts_latency [--repeat 3]

Measures, for French replies, the time from asking ``TtsCache.get`` to holding the first
320-byte frame: uncached (pyttsx3/espeak-ng in the worker process, resampling, disk
write), cached on disk (fresh cache, cold memory) and cached in memory. Also the plain
synthesis time of a short and a long sentence. Prints a table and a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from voicebot.speech.tts import SpeechSynthesizer
from voicebot.speech.tts_cache import TtsCache

SHORT = "Bonjour."
LONG = (
    "Bonjour, vous êtes bien à l'administration communale. Pour l'état civil, dites "
    "état civil ; pour l'urbanisme, dites urbanisme ; pour toute autre question, "
    "posez-la simplement après le signal sonore, et je vous orienterai."
)
REPLIES = [
    "Le service population est ouvert du lundi au vendredi de huit heures à midi.",
    "Je vous passe le service des travaux.",
    "Pour une carte d'identité, prenez rendez-vous en ligne ou au guichet.",
    "Je n'ai pas bien compris. Pouvez-vous reformuler votre question ?",
    "Un instant, je vous mets en relation avec un agent.",
    "Les encombrants sont collectés le premier mardi du mois.",
    "Merci de votre appel, au revoir.",
    "La bibliothèque communale ferme à dix-huit heures le samedi.",
]


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def stats_ms(values: list[float]) -> dict[str, float]:
    """p50 / p95 / max in milliseconds."""
    return {
        "p50_ms": round(1000 * statistics.median(values), 2),
        "p95_ms": round(1000 * percentile(values, 0.95), 2),
        "max_ms": round(1000 * max(values), 2),
        "n": len(values),
    }


async def first_frame_s(cache: TtsCache, text: str) -> float:
    """Seconds from the request to the first frame in hand."""
    started = time.perf_counter()
    audio = await cache.get(text, "fr")
    audio.frames()[0]
    return time.perf_counter() - started


async def run(repeat: int) -> dict[str, object]:
    """Run every measurement; return the summary."""
    synthesizer = SpeechSynthesizer()
    started = time.perf_counter()
    await synthesizer.start()
    worker_start_s = time.perf_counter() - started
    try:
        synthesis: dict[str, object] = {}
        for name, text in (("short", SHORT), ("long", LONG)):
            times = []
            duration = 0.0
            for _ in range(max(3, repeat)):
                t0 = time.perf_counter()
                audio = await synthesizer.synthesize(text, "fr")
                times.append(time.perf_counter() - t0)
                duration = audio.duration_s
            synthesis[name] = {"chars": len(text), "audio_s": round(duration, 2), **stats_ms(times)}
        with tempfile.TemporaryDirectory(prefix="tts-bench-") as directory:
            uncached: list[float] = []
            for round_index in range(repeat):
                cache = TtsCache(Path(directory) / str(round_index), synthesizer)
                for text in REPLIES:
                    uncached.append(await first_frame_s(cache, text))
            disk: list[float] = []
            memory: list[float] = []
            for round_index in range(repeat):
                cold = TtsCache(Path(directory) / str(round_index), synthesizer)
                for text in REPLIES:
                    disk.append(await first_frame_s(cold, text))
                for text in REPLIES:
                    memory.append(await first_frame_s(cold, text))
    finally:
        await synthesizer.close()
    return {
        "synthesizer": synthesizer.version,
        "worker_start_s": round(worker_start_s, 2),
        "synthesis": synthesis,
        "first_frame": {
            "uncached": stats_ms(uncached),
            "cached_disk": stats_ms(disk),
            "cached_memory": stats_ms(memory),
        },
    }


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a table and a JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    summary = asyncio.run(run(args.repeat))
    first_frame = summary["first_frame"]
    assert isinstance(first_frame, dict)
    print(f"{'first frame':<14} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, row in first_frame.items():
        print(f"{name:<14} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['max_ms']:>8}")
    print(json.dumps(summary, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
