"""The simulated recognition errors: seeded, at the rate asked, of the kinds documented."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voicebot.routing.asr_noise import NoiseModel, phonetic_key, word_error_rate

CASES = Path(__file__).parent.parent.parent / "voicebot" / "routing" / "evalsets"


def _texts() -> list[tuple[str, str]]:
    lines = (CASES / "woluwe-saint-pierre.fr.jsonl").read_text(encoding="utf-8").splitlines()
    cases = [json.loads(line) for line in lines if line.strip()]
    return [(c["text"], c["lang"]) for c in cases]


def test_the_same_seed_gives_the_same_errors_and_another_seed_others() -> None:
    texts = _texts()[:50]
    first = [NoiseModel(0.3, seed=7).corrupt(t, lang) for t, lang in texts]
    again = [NoiseModel(0.3, seed=7).corrupt(t, lang) for t, lang in texts]
    other = [NoiseModel(0.3, seed=8).corrupt(t, lang) for t, lang in texts]
    assert first == again
    assert first != other


@pytest.mark.parametrize("wer", [0.15, 0.30])
def test_the_measured_error_rate_is_close_to_the_one_asked(wer: float) -> None:
    texts = _texts()
    model = NoiseModel(wer, seed=1)
    heard = [model.corrupt(t, lang) for t, lang in texts]
    assert abs(word_error_rate([t for t, _ in texts], heard) - wer) < 0.03


def test_zero_noise_changes_nothing_but_the_normalisation() -> None:
    assert NoiseModel(0.0).corrupt("Bonjour, j'ai perdu ma carte !", "fr") == (
        "bonjour j ai perdu ma carte"
    )


def test_substitutes_are_sound_alike_words_of_the_vocabulary() -> None:
    assert phonetic_key("sans", "fr") == phonetic_key("cent", "fr")
    assert phonetic_key("wijk", "nl") == phonetic_key("weik", "nl")
    model = NoiseModel(1.0, seed=3)
    heard = model.corrupt("passeport", "fr").split()
    assert heard and heard != ["passeport"]


def test_word_error_rate_counts_substitutions_deletions_and_insertions() -> None:
    assert word_error_rate(["a b c d"], ["a x c"]) == 0.5
    assert word_error_rate(["a b"], ["a b c"]) == 0.5
    assert word_error_rate([""], [""]) == 0.0
