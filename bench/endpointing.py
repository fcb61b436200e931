"""Where the turn ends: silence counted from the VAD's last "speech" vs from the last voiced
frame (energy and VAD together), side by side on the same audio (issue 14 item 6).

Usage::

    python -m bench.endpointing [--silence-ms 300]

Builds caller utterances from espeak-ng speech (fr, nl, en): each is two halves of a
sentence with a mid-sentence pause of 150, 200 or 250 ms between them (and a reference
set with no pause), on a telephone line's hiss (white noise at -60 dBFS), followed by
1.5 s of that hiss. Every utterance is fed frame by frame (20 ms, timestamps on the
audio's own clock) through the real Silero VAD and the real endpointer, as the call
listener does, twice: once counting the trailing silence from the VAD's last speech
chunk (before), once from the last voiced frame (after). Reports, per pause length and
overall, how long after the last voiced sample the end of turn is detected (p50/p95) and
how many utterances were cut off in their pause (ended before their second half). Prints
a table and a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
from typing import Any

import numpy as np
import numpy.typing as npt

from voicebot.speech.audio import FRAME_BYTES, SAMPLE_RATE, int16_to_pcm, pcm_to_int16
from voicebot.speech.endpointing import Endpointer, EndpointerConfig, EndpointEventType
from voicebot.speech.tts import SpeechSynthesizer
from voicebot.speech.vad import SileroVad
from voicebot.speech.voicing import VoicedFrames

SENTENCES: dict[str, list[tuple[str, str]]] = {
    "fr": [
        ("je voudrais renouveler", "ma carte d'identité"),
        ("mes poubelles", "n'ont pas été ramassées"),
        ("c'est pour un permis", "de bâtir une véranda"),
        ("bonjour je cherche", "le service population"),
        ("est-ce que je peux", "prendre rendez-vous demain"),
        ("il y a un trou", "dans la rue devant chez moi"),
        ("je voudrais déclarer", "la naissance de mon fils"),
        ("à quelle heure", "ferme la maison communale"),
    ],
    "nl": [
        ("ik wil graag", "mijn identiteitskaart vernieuwen"),
        ("mijn vuilnis", "is niet opgehaald"),
        ("hoe laat sluit", "het gemeentehuis vandaag"),
    ],
    "en": [
        ("i would like to renew", "my identity card"),
        ("my bins", "were not collected this week"),
        ("what time does", "the town hall close today"),
    ],
}
PAUSES_MS = (0, 150, 200, 250)
HISS_DBFS = -60.0
TAIL_S = 1.5
VOICE_DBFS = -45.0
"""A sample louder than this counts as voice when locating the true end of speech."""

_Samples = npt.NDArray[np.float64]


def _hiss(samples: int, rng: np.random.Generator) -> _Samples:
    noise: _Samples = rng.standard_normal(samples) * 32767 * 10 ** (HISS_DBFS / 20)
    return noise


def _last_voiced_sample(speech: _Samples) -> int:
    loud = np.nonzero(np.abs(speech) > 32767 * 10 ** (VOICE_DBFS / 20))[0]
    return int(loud[-1]) if loud.size else 0


async def _render() -> dict[str, list[tuple[_Samples, _Samples]]]:
    synthesizer = SpeechSynthesizer()
    await synthesizer.start()
    try:
        rendered: dict[str, list[tuple[_Samples, _Samples]]] = {}
        for language, pairs in SENTENCES.items():
            rendered[language] = []
            for first, second in pairs:
                a = await synthesizer.synthesize(first, language)
                b = await synthesizer.synthesize(second, language)
                rendered[language].append(
                    (
                        pcm_to_int16(a.pcm).astype(np.float64),
                        pcm_to_int16(b.pcm).astype(np.float64),
                    )
                )
        return rendered
    finally:
        await synthesizer.close()


def _utterance(
    first: _Samples, second: _Samples, pause_ms: int, rng: np.random.Generator
) -> tuple[bytes, float, float]:
    """PCM of the caller's turn, when its second half starts and when its voice ends (s)."""
    # Trim each half to its voice, then join them with exactly ``pause_ms`` of hiss.
    a = first[: _last_voiced_sample(first) + 1]
    b_start = int(np.argmax(np.abs(second) > 32767 * 10 ** (VOICE_DBFS / 20)))
    b = second[b_start : _last_voiced_sample(second) + 1]
    lead = _hiss(int(0.3 * SAMPLE_RATE), rng)
    pause = _hiss(int(pause_ms / 1000 * SAMPLE_RATE), rng)
    tail = _hiss(int(TAIL_S * SAMPLE_RATE), rng)
    voice = np.concatenate([a, pause, b])
    voice = voice + _hiss(voice.size, rng)
    signal = np.concatenate([lead, voice, tail])
    second_start = (lead.size + a.size + pause.size) / SAMPLE_RATE
    voice_end = (lead.size + voice.size) / SAMPLE_RATE
    return int16_to_pcm(signal), second_start, voice_end


def _end_of_turn(pcm: bytes, silence_s: float, use_energy: bool) -> float | None:
    """When the listener would end the turn (audio clock, s); None if it never did."""
    vad = SileroVad()
    endpointer = Endpointer(
        EndpointerConfig(trailing_silence=silence_s, no_input_timeout=30.0), start_time=0.0
    )
    voiced = VoicedFrames()
    for index in range(len(pcm) // FRAME_BYTES):
        frame = pcm[index * FRAME_BYTES : (index + 1) * FRAME_BYTES]
        now = (index + 1) * FRAME_BYTES / 2 / SAMPLE_RATE
        voiced.observe(now, frame)
        events = []
        for chunk in vad.process(frame):
            voiced_at = voiced.last_voiced if use_energy else None
            events += endpointer.observe(now, chunk.probability >= 0.5, voiced_at)
        events += endpointer.tick(now)
        for event in events:
            if event.type in (EndpointEventType.SPEECH_END, EndpointEventType.MAX_UTTERANCE):
                return event.timestamp
    return None


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(silence_ms: int, seed: int = 7) -> dict[str, Any]:
    """Both ways of counting the trailing silence, on the same utterances."""
    rendered = asyncio.run(_render())
    rng = np.random.default_rng(seed)
    rows: dict[str, dict[int, dict[str, list[float] | int]]] = {
        way: {p: {"delays_ms": [], "cut_off": 0, "missed": 0} for p in PAUSES_MS}
        for way in ("before", "after")
    }
    for pairs in rendered.values():
        for first, second in pairs:
            for pause in PAUSES_MS:
                pcm, second_start, voice_end = _utterance(first, second, pause, rng)
                for way in ("before", "after"):
                    ended = _end_of_turn(pcm, silence_ms / 1000, use_energy=way == "after")
                    row = rows[way][pause]
                    if ended is None:
                        row["missed"] += 1  # type: ignore[operator]
                    elif ended < second_start:
                        row["cut_off"] += 1  # type: ignore[operator]
                    else:
                        row["delays_ms"].append(round((ended - voice_end) * 1000, 1))  # type: ignore[union-attr]
    result: dict[str, Any] = {
        "silence_ms": silence_ms,
        "utterances_per_pause": sum(len(p) for p in SENTENCES.values()),
        "languages": list(SENTENCES),
        "pauses_ms": list(PAUSES_MS),
    }
    for way, by_pause in rows.items():
        everything = [d for r in by_pause.values() for d in r["delays_ms"]]  # type: ignore[union-attr]
        result[way] = {
            "end_after_voice_ms": {
                "p50": round(statistics.median(everything), 1),
                "p95": round(_percentile(everything, 0.95), 1),
                "n": len(everything),
            },
            "cut_off": {str(p): r["cut_off"] for p, r in by_pause.items()},
            "missed": sum(r["missed"] for r in by_pause.values()),  # type: ignore[misc]
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--silence-ms", type=int, default=300)
    args = parser.parse_args()
    result = measure(args.silence_ms)
    n = result["utterances_per_pause"]
    print(f"trailing silence {args.silence_ms} ms; {n} utterances per pause length")
    print("counting from        end after voice p50 / p95   cut off at pause 0/150/200/250 ms")
    for way, label in (("before", "VAD's last speech"), ("after", "last voiced frame")):
        r = result[way]
        cuts = " / ".join(str(r["cut_off"][str(p)]) for p in PAUSES_MS)
        latency = r["end_after_voice_ms"]
        print(f"{label:<20} {latency['p50']:>6.1f} / {latency['p95']:>6.1f} ms         {cuts}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
