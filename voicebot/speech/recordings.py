"""A city's own recordings of the fixed prompts, preferred over synthesis.

Layout: ``<prompts_dir>/<language>/<prompt id>.wav|.flac|.mp3``, where the prompt id is
the one ``voicebot prompts export`` lists with its ``:`` written ``.`` (``faq:id_card`` →
``fr/faq.id_card.wav``). Any sample rate, mono or stereo. Each file is decoded
(libsndfile through soundfile), mixed to mono, resampled to 8 kHz with soxr, trimmed of
long silences at both ends and loudness-normalised to the level of the synthesised
voice (ITU-R BS.1770 through pyloudnorm), then checked: not clipped, not silent, not too
short or too long. Converted audio is cached on disk by the file's content. When the
export (``prompts.csv``) lies beside the recordings, a recording whose text has changed
in the KB since is refused: the caller would hear the old words.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyloudnorm
import soundfile
import soxr

from voicebot.speech.audio import SAMPLE_RATE, int16_to_pcm
from voicebot.speech.tts import RenderedAudio

_LOGGER = logging.getLogger(__name__)

EXTENSIONS = (".wav", ".flac", ".mp3")
"""Formats a city may record in."""
MANIFEST = "prompts.csv"
"""The export kept beside the recordings: the texts they were made for."""
TARGET_LUFS = -21.0
"""Integrated loudness of the synthesised voice (espeak-ng, measured): recordings match it."""
PEAK_CEILING_DBFS = -1.0
"""Normalisation never pushes a peak above this (the gain is lowered instead)."""
CLIPPED_FRACTION = 0.001
"""More samples than this at full scale, before any gain: the recording clipped."""
SILENCE_DBFS = -45.0
"""Below this a 20 ms window counts as silence (trimming, silent files)."""
KEEP_SILENCE_S = (0.1, 0.2)
"""Silence kept before and after the voice when trimming."""
MIN_SECONDS = 0.3
DEFAULT_MAX_SECONDS = 30.0
PIPELINE = "recording-8k-v1"
"""Bumped whenever the conversion changes: invalidates the converted cache."""

_FloatArray = npt.NDArray[np.float64]


class RecordingError(ValueError):
    """A recording is unusable; the message is one line: ``file: problem``."""


@dataclass(frozen=True, slots=True)
class Recording:
    """A converted recording of one prompt."""

    key: str
    language: str
    source: Path
    audio: RenderedAudio


def file_name(key: str) -> str:
    """The recording's file name without extension: ``faq:id_card`` → ``faq.id_card``."""
    return key.replace(":", ".", 1)


def key_of(path: Path) -> str:
    """The prompt id a recording file stands for (inverse of :func:`file_name`)."""
    return path.stem.replace(".", ":", 1)


def convert(path: Path, max_seconds: float = DEFAULT_MAX_SECONDS) -> bytes:
    """Decode, check and normalise one recording to 8 kHz slin16; :class:`RecordingError`."""
    try:
        samples, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as exc:
        raise RecordingError(f"{path}: not a readable WAV, FLAC or MP3 file ({exc})") from None
    mono: _FloatArray = samples.mean(axis=1)
    clipped = int(np.count_nonzero(np.abs(samples) >= 0.999))
    if mono.size and clipped > CLIPPED_FRACTION * samples.size:
        raise RecordingError(
            f"{path}: clipped ({clipped} samples at full scale): record again at a lower level"
        )
    audio: _FloatArray = np.asarray(soxr.resample(mono, rate, SAMPLE_RATE, quality="VHQ"))
    audio, voiced = _trim(audio)
    if audio.size == 0:
        raise RecordingError(f"{path}: silent (nothing above {SILENCE_DBFS:.0f} dBFS)")
    seconds = audio.size / SAMPLE_RATE
    if voiced < MIN_SECONDS:
        raise RecordingError(f"{path}: {voiced:.2f} s of voice is too short (at least 0.3 s)")
    if seconds > max_seconds:
        raise RecordingError(
            f"{path}: {seconds:.1f} s is too long for this prompt (at most {max_seconds:.0f} s)"
        )
    return int16_to_pcm(_normalise(audio) * 32767.0)


def _trim(audio: _FloatArray) -> tuple[_FloatArray, float]:
    """Drop silence beyond a short margin at both ends (long pauses feel like a dead line);
    also return the seconds from the first to the last voiced 20 ms window."""
    window = SAMPLE_RATE // 50
    count = audio.size // window
    if count == 0:
        return audio[:0], 0.0
    frames = audio[: count * window].reshape(count, window)
    level = 10.0 * np.log10(np.mean(np.square(frames), axis=1) + 1e-12)
    voiced = np.nonzero(level > SILENCE_DBFS)[0]
    if voiced.size == 0:
        return audio[:0], 0.0
    before, after = (int(s * SAMPLE_RATE) for s in KEEP_SILENCE_S)
    start = max(0, int(voiced[0]) * window - before)
    end = min(audio.size, (int(voiced[-1]) + 1) * window + after)
    return audio[start:end], (int(voiced[-1]) + 1 - int(voiced[0])) * window / SAMPLE_RATE


def _normalise(audio: _FloatArray) -> _FloatArray:
    meter = pyloudnorm.Meter(SAMPLE_RATE, block_size=min(0.4, audio.size / SAMPLE_RATE))
    loudness = float(meter.integrated_loudness(audio))
    gain_db = TARGET_LUFS - loudness if math.isfinite(loudness) else 0.0
    peak = float(np.max(np.abs(audio)))
    if peak > 0:
        gain_db = min(gain_db, PEAK_CEILING_DBFS - 20.0 * math.log10(peak))
    scaled: _FloatArray = audio * 10.0 ** (gain_db / 20.0)
    return scaled


class RecordedPrompts:
    """The usable recordings of one prompts directory, by (language, prompt id)."""

    def __init__(self, recordings: Mapping[tuple[str, str], Recording]) -> None:
        self._recordings = dict(recordings)

    def get(self, language: str, key: str) -> RenderedAudio | None:
        """The recording of ``key`` in ``language``, if the city provided a usable one."""
        recording = self._recordings.get((language, key))
        return recording.audio if recording is not None else None

    def __len__(self) -> int:
        return len(self._recordings)

    def __contains__(self, item: tuple[str, str]) -> bool:
        return item in self._recordings

    @classmethod
    def load(
        cls,
        directory: Path,
        texts: Mapping[str, Mapping[str, str]],
        cache_dir: Path,
        max_seconds: Mapping[str, float] | None = None,
    ) -> tuple[RecordedPrompts, list[str]]:
        """Convert (or reuse) every recording for a prompt in ``texts`` (language → id →
        text); return the usable ones and one line per refused file."""
        if not directory.is_dir():
            return cls({}), [f"{directory}: prompts directory not found"]
        recorded_for = _manifest_texts(directory / MANIFEST)
        recordings: dict[tuple[str, str], Recording] = {}
        problems: list[str] = []
        for path in sorted(directory.glob("*/*")):
            if path.suffix.lower() not in EXTENSIONS or not path.is_file():
                continue
            language, key = path.parent.name, key_of(path)
            known = texts.get(language)
            if known is None:
                problems.append(f"{path}: {language!r} is not a language of the KB")
                continue
            if key not in known:
                problems.append(f"{path}: no prompt {key!r} in {language} (see prompts export)")
                continue
            old = recorded_for.get((language, key))
            if old is not None and old != known[key]:
                problems.append(
                    f"{path}: recorded for an older text; the KB now says {known[key]!r}"
                )
                continue
            if (language, key) in recordings:
                problems.append(f"{path}: a second recording of {key!r} in {language}")
                continue
            limit = (max_seconds or {}).get(key.split(":", 1)[0], DEFAULT_MAX_SECONDS)
            try:
                pcm = _cached_convert(path, cache_dir, limit)
            except RecordingError as exc:
                problems.append(str(exc))
                continue
            recordings[(language, key)] = Recording(key, language, path, RenderedAudio(pcm))
        for problem in problems:
            _LOGGER.warning("recorded prompt refused, synthesis used instead: %s", problem)
        return cls(recordings), problems


def _cached_convert(path: Path, cache_dir: Path, max_seconds: float) -> bytes:
    data = path.read_bytes()
    identity = hashlib.sha256(data + f"|{PIPELINE}|{TARGET_LUFS}|{max_seconds}".encode())
    cached = cache_dir / f"{identity.hexdigest()}.pcm"
    if cached.is_file():
        return cached.read_bytes()
    pcm = convert(path, max_seconds)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    tmp.write_bytes(pcm)
    tmp.replace(cached)
    return pcm


def _manifest_texts(path: Path) -> dict[tuple[str, str], str]:
    """(language, id) → text from an export kept beside the recordings (empty if none)."""
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {
            (row["language"], row["id"]): row["text"]
            for row in csv.DictReader(handle)
            if row.get("language") and row.get("id") and row.get("text") is not None
        }
