"""Barge-in reaction time: from the caller's speech onset to the detector firing.

    python -m bench.barge_in

The assistant is speaking (detector armed); the caller starts talking after a pause of
silence frames. Speech onset = the first 20 ms frame of the caller's synthesized speech
louder than -40 dBFS. Detection time = end of the VAD chunk that completed the run
(the earliest moment the session can act; it then stops playback within one frame).
Sentences in the four languages, real Silero VAD with the session's defaults
(3 consecutive voiced chunks). Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import statistics

from voicebot.speech.audio import FRAME_BYTES, rms_dbfs, split_frames
from voicebot.speech.tts import SpeechSynthesizer
from voicebot.speech.vad import BargeInDetector, SileroVad

SENTENCES = {
    "fr": [
        "excusez moi je voudrais parler à quelqu un",
        "non non c est pour mes poubelles",
        "attendez j ai une autre question",
        "bonjour c est pour un passeport",
    ],
    "nl": ["sorry ik wil iemand spreken", "nee het is voor mijn vuilniszakken"],
    "en": ["sorry i want to talk to someone", "no it is about my bins"],
    "de": ["entschuldigung ich möchte jemanden sprechen", "nein es geht um den müll"],
}
LEAD_SILENCE_FRAMES = 25  # 0.5 s before the caller starts
FRAME_S = 0.02


def reaction_ms(pcm: bytes) -> float | None:
    """Milliseconds from speech onset to barge-in detection, None if never detected."""
    frames = [bytes(FRAME_BYTES)] * LEAD_SILENCE_FRAMES + split_frames(pcm)
    onset = next((i * FRAME_S for i, frame in enumerate(frames) if rms_dbfs(frame) > -40.0), None)
    vad = SileroVad()
    detector = BargeInDetector()
    detector.arm()
    for frame in frames:
        event = detector.observe_all(vad.process(frame))
        if event is not None and onset is not None:
            return round((event.detected_at - onset) * 1000, 1)
    return None


async def main() -> None:
    synthesizer = SpeechSynthesizer()
    await synthesizer.start()
    results: dict[str, list[float]] = {}
    missed = 0
    try:
        for language, sentences in SENTENCES.items():
            for text in sentences:
                audio = await synthesizer.synthesize(text, language)
                value = reaction_ms(audio.pcm)
                if value is None:
                    missed += 1
                else:
                    results.setdefault(language, []).append(value)
    finally:
        await synthesizer.close()
    everything = sorted(v for values in results.values() for v in values)
    print(
        json.dumps(
            {
                "per_language_ms": results,
                "median_ms": statistics.median(everything),
                "max_ms": everything[-1],
                "missed": missed,
                "goal_ms": 200,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
