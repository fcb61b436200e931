"""Every city KB under tests/data/kb that ships a case file agrees with it.

A case labelled with a target its KB does not have (a renamed department, a dropped FAQ) would
silently count as a routing miss in the benchmarks; a case in a language the KB does not offer
could never be right. The transcripts must also look like the recogniser's output, as the
evaluation sets' README requires, or the figures measure punctuation handling.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from voicebot.knowledge.loader import load_kb
from voicebot.routing.evaluation import load_cases

DATA = Path(__file__).parent.parent / "data" / "kb"
CITIES = sorted(path.name.removesuffix(".cases.jsonl") for path in DATA.glob("*.cases.jsonl"))
# Sets written in the recogniser's style. saint-germain-en-laye keeps written apostrophes and
# hyphens (over half of its lines), so it is left out of the style check rather than rewritten
# by someone who must not read it.
TRANSCRIPT_STYLE = ["etterbeek"]


def test_the_new_city_set_is_present() -> None:
    # The learning curve of issue 10 needs a third city written without the catalogue.
    assert "etterbeek" in CITIES


@pytest.mark.parametrize("city", CITIES)
def test_case_labels_and_languages_exist_in_the_city_kb(city: str) -> None:
    kb = load_kb(DATA / f"{city}.yaml")
    targets = {d.id for d in kb.departments} | {f"faq:{f.id}" for f in kb.faq}
    targets |= {"operator", "none"}
    cases = load_cases([DATA / f"{city}.cases.jsonl"])
    assert cases
    unknown = sorted({c.expected for c in cases} - targets)
    assert not unknown, f"{city}: labels not in the KB: {unknown}"
    languages = sorted({c.lang for c in cases} - set(kb.city.languages))
    assert not languages, f"{city}: languages not in the KB: {languages}"


@pytest.mark.parametrize("city", TRANSCRIPT_STYLE)
def test_cases_are_written_as_transcripts(city: str) -> None:
    bad = [
        number
        for number, case in enumerate(load_cases([DATA / f"{city}.cases.jsonl"]), start=1)
        if case.text != " ".join(case.text.split())
        or not all(word.isalpha() and word == word.lower() for word in case.text.split())
    ]
    assert not bad, f"{city}.cases.jsonl: not lower-case words and single spaces on lines {bad}"


@pytest.mark.parametrize("city", CITIES)
def test_cases_are_not_repeated(city: str) -> None:
    texts = [case.text for case in load_cases([DATA / f"{city}.cases.jsonl"])]
    repeated = sorted({number for number, text in enumerate(texts, 1) if texts.count(text) > 1})
    assert not repeated, f"{city}.cases.jsonl: the same transcript on lines {repeated}"
