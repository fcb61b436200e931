"""KB links to the catalogue: departments declare services, FAQ entries their intent."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicebot.knowledge.catalogue_loader import load_catalogue
from voicebot.knowledge.loader import KnowledgeBaseError, load_kb

DATA = Path(__file__).parent.parent / "data"
MINIMAL = DATA / "kb" / "minimal.yaml"
CATALOGUE = load_catalogue(DATA / "catalogue")


def _linked(
    tmp_path: Path, services: str = "[waste, roads]", intent: str = "opening_hours"
) -> Path:
    text = MINIMAL.read_text(encoding="utf-8")
    text = text.replace(
        "    examples:\n      fr: [mes poubelles n'ont pas été ramassées]\n"
        "      en: [my bins were not collected]\n",
        f"    services: {services}\n",
    )
    text = text.replace(
        "    department: population\n", f"    department: population\n    intent: {intent}\n"
    )
    path = tmp_path / "linked.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_a_department_with_services_and_no_examples_loads(tmp_path: Path) -> None:
    kb = load_kb(_linked(tmp_path), CATALOGUE)
    waste = kb.department("waste")
    assert waste.services == ("waste", "roads")
    assert waste.examples == {}
    assert kb.faq_entry("opening_hours").intent == "opening_hours"
    assert kb.department("population").services == ()


def test_an_unknown_service_is_named_with_its_line_and_a_suggestion(tmp_path: Path) -> None:
    path = _linked(tmp_path, services="[waste, road]")
    with pytest.raises(KnowledgeBaseError) as info:
        load_kb(path, CATALOGUE)
    assert info.value.line == _line_of(path, "services: [waste, road]")
    assert info.value.field == "departments[1].services[1]"
    assert info.value.problem == "unknown catalogue service 'road' (did you mean 'roads'?)"


def test_an_unknown_intent_is_named(tmp_path: Path) -> None:
    path = _linked(tmp_path, intent="opening_hour")
    with pytest.raises(KnowledgeBaseError) as info:
        load_kb(path, CATALOGUE)
    assert info.value.field == "faq[0].intent"
    assert "did you mean 'opening_hours'" in info.value.problem


@pytest.mark.parametrize(
    ("services", "problem"),
    [
        ("[waste, waste]", "non-unique"),
        ("waste", "is not of type 'array'"),
        ("[Waste]", "wrong format"),
    ],
)
def test_malformed_service_lists_are_refused(tmp_path: Path, services: str, problem: str) -> None:
    with pytest.raises(KnowledgeBaseError) as info:
        load_kb(_linked(tmp_path, services=services), CATALOGUE)
    assert info.value.field.startswith("departments[1].services")
    assert problem in info.value.problem
