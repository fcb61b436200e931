"""A city's recorded prompts: converted to 8 kHz, normalised, checked, cached, preferred."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyloudnorm
import pytest
import soundfile

from voicebot.speech.audio import SAMPLE_RATE, pcm_to_int16
from voicebot.speech.recordings import (
    TARGET_LUFS,
    RecordedPrompts,
    RecordingError,
    convert,
    file_name,
    key_of,
)
from voicebot.speech.tts import SpeechSynthesizer
from voicebot.speech.tts_cache import TtsCache

TEXTS = {
    "fr": {"greeting": "Bonjour.", "faq:id_card": "Une carte coûte vingt-cinq euros."},
    "nl": {"greeting": "Goeiedag."},
}


def _voice(seconds: float, rate: int, level: float = 0.1) -> npt.NDArray[np.float64]:
    """A voice-like signal: a few harmonics, syllable-rate amplitude changes."""
    t = np.arange(int(seconds * rate)) / rate
    tone = sum(np.sin(2 * np.pi * f * t) / (i + 1) for i, f in enumerate((180, 360, 720, 1400)))
    syllables = 0.55 + 0.45 * np.sin(2 * np.pi * 4 * t)
    signal: npt.NDArray[np.float64] = level * tone * syllables / 2
    return signal


def _with_silence(
    voice: npt.NDArray[np.float64], rate: int, before: float, after: float
) -> npt.NDArray[np.float64]:
    return np.concatenate([np.zeros(int(before * rate)), voice, np.zeros(int(after * rate))])


def _write(path: Path, samples: npt.NDArray[np.float64], rate: int, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), samples, rate, format=fmt)
    return path


def test_a_stereo_44k_wav_becomes_8k_mono_at_the_voice_loudness_with_its_long_silences_trimmed(
    tmp_path: Path,
) -> None:
    voice = _with_silence(_voice(2.0, 44100, level=0.05), 44100, 1.5, 2.0)
    path = _write(tmp_path / "fr" / "greeting.wav", np.stack([voice, voice], axis=1), 44100)
    pcm = convert(path)
    samples = pcm_to_int16(pcm).astype(np.float64) / 32768
    assert 2.0 <= samples.size / SAMPLE_RATE <= 2.0 + 0.1 + 0.2 + 0.05  # voice + kept margins
    loudness = pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(samples)
    assert abs(loudness - TARGET_LUFS) < 1.0
    assert np.max(np.abs(samples)) <= 10 ** (-1 / 20) + 1e-3


@pytest.mark.parametrize(("suffix", "fmt"), [(".flac", "FLAC"), (".mp3", "MP3")])
def test_flac_and_mp3_recordings_at_any_rate_convert_too(
    tmp_path: Path, suffix: str, fmt: str
) -> None:
    path = _write(tmp_path / f"x{suffix}", _voice(1.5, 22050), 22050, fmt)
    assert 1.3 <= len(convert(path)) / 2 / SAMPLE_RATE <= 1.7


def test_a_loud_recording_is_turned_down_without_clipping(tmp_path: Path) -> None:
    path = _write(tmp_path / "loud.wav", _voice(1.5, 16000, level=0.9), 16000)
    samples = pcm_to_int16(convert(path)).astype(np.float64) / 32768
    assert abs(pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(samples) - TARGET_LUFS) < 1.0


@pytest.mark.parametrize(
    ("samples", "problem"),
    [
        (np.clip(_voice(1.5, 16000, level=4.0), -1, 1), "clipped"),
        (np.zeros(16000), "silent"),
        (_with_silence(_voice(0.1, 16000), 16000, 0.5, 0.5), "too short"),
        (_voice(8.0, 16000), "too long for this prompt (at most 5 s)"),
    ],
    ids=["clipped", "silent", "short", "long"],
)
def test_unusable_recordings_are_refused_naming_the_file_and_the_problem(
    tmp_path: Path, samples: npt.NDArray[np.float64], problem: str
) -> None:
    path = _write(tmp_path / "fr" / "greeting.wav", samples, 16000)
    with pytest.raises(RecordingError, match=rf"^{re.escape(str(path))}: .*{re.escape(problem)}"):
        convert(path, max_seconds=5.0)


def test_a_file_that_is_no_audio_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fr" / "greeting.mp3"
    path.parent.mkdir()
    path.write_text("not audio")
    with pytest.raises(RecordingError, match="not a readable WAV, FLAC or MP3 file"):
        convert(path)


def test_prompt_ids_map_to_file_names_and_back() -> None:
    assert file_name("faq:id_card") == "faq.id_card"
    assert key_of(Path("fr/faq.id_card.wav")) == "faq:id_card"
    assert key_of(Path("fr/exception_hours.0830-1100,1330-1600.flac")) == (
        "exception_hours:0830-1100,1330-1600"
    )


def test_a_prompts_directory_loads_the_good_recordings_and_lists_the_refused_ones(
    tmp_path: Path,
) -> None:
    prompts = tmp_path / "prompts"
    _write(prompts / "fr" / "greeting.wav", _voice(1.2, 48000), 48000)
    _write(prompts / "fr" / "faq.id_card.flac", _voice(2.0, 16000), 16000)
    _write(prompts / "nl" / "greeting.mp3", np.zeros(8000), 8000, "MP3")  # silent
    _write(prompts / "fr" / "faq.passport.wav", _voice(1.0, 16000), 16000)  # no such prompt
    _write(prompts / "it" / "greeting.wav", _voice(1.0, 16000), 16000)  # not a KB language
    (prompts / "README.txt").write_text("notes")
    recordings, problems = RecordedPrompts.load(prompts, TEXTS, tmp_path / "cache")
    assert len(recordings) == 2
    assert recordings.get("fr", "greeting") is not None
    assert recordings.get("fr", "faq:id_card") is not None
    assert recordings.get("nl", "greeting") is None
    assert sorted(p.split(": ", 1)[1].split(" (")[0] for p in problems) == [
        "'it' is not a language of the KB",
        "no prompt 'faq:passport' in fr",
        "silent",
    ]


def test_a_recording_made_for_an_older_text_is_refused(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    _write(prompts / "fr" / "greeting.wav", _voice(1.2, 16000), 16000)
    with (prompts / "prompts.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "language", "file", "text", "seconds", "recorded"])
        writer.writerow(["greeting", "fr", "fr/greeting.wav", "Bonsoir.", "0.80", "no"])
    recordings, problems = RecordedPrompts.load(prompts, TEXTS, tmp_path / "cache")
    assert len(recordings) == 0
    assert problems == [
        f"{prompts / 'fr' / 'greeting.wav'}: recorded for an older text; the KB now says 'Bonjour.'"
    ]


def test_converted_recordings_are_cached_by_content(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    _write(prompts / "fr" / "greeting.wav", _voice(1.2, 16000), 16000)
    cache = tmp_path / "cache"
    first, _ = RecordedPrompts.load(prompts, TEXTS, cache)
    assert first.get("fr", "greeting") is not None
    cached = list(cache.glob("*.pcm"))
    assert len(cached) == 1
    # A cached conversion is read back as it is: prove it by changing the cached bytes.
    cached[0].write_bytes(b"\x01\x00" * 4000)
    second, _ = RecordedPrompts.load(prompts, TEXTS, cache)
    audio = second.get("fr", "greeting")
    assert audio is not None and audio.pcm == b"\x01\x00" * 4000
    _write(prompts / "fr" / "greeting.wav", _voice(1.3, 16000), 16000)  # new take
    third, _ = RecordedPrompts.load(prompts, TEXTS, cache)
    renewed = third.get("fr", "greeting")
    assert renewed is not None and renewed.pcm != b"\x01\x00" * 4000


async def test_the_tts_layer_plays_the_recording_of_a_prompt_without_synthesising(
    tmp_path: Path,
) -> None:
    prompts = tmp_path / "prompts"
    _write(prompts / "fr" / "greeting.wav", _voice(1.2, 16000), 16000)
    recordings, _ = RecordedPrompts.load(prompts, TEXTS, tmp_path / "cache")
    synthesizer = SpeechSynthesizer(voices={"fr": "roa/fr-be"})
    cache = TtsCache(tmp_path / "tts", synthesizer, recordings=recordings)
    audio = await cache.get("Bonjour.", "fr", "greeting")
    assert audio == recordings.get("fr", "greeting")
    assert not synthesizer.started  # espeak-ng was never asked
    await synthesizer.close()
