"""Link inference from phrase shares and evidence: pure rules, no model."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicebot.knowledge.catalogue_loader import load_catalogue
from voicebot.knowledge.loader import load_kb
from voicebot.routing import service_parts
from voicebot.routing.linking import LinkEvidence, resolve_links

DATA = Path(__file__).parent.parent / "data"
CATALOGUE = load_catalogue(DATA / "catalogue")
KB = load_kb(DATA / "kb" / "minimal.yaml", CATALOGUE)


def _evidence(
    shares: dict[str, dict[str, float]], evidence: dict[str, dict[str, int]]
) -> LinkEvidence:
    phrases = {cid: 40 for cid in shares}
    return LinkEvidence(shares, evidence, phrases, {"population": 30, "waste": 30})


def test_a_service_goes_to_the_department_its_phrases_resemble_and_that_speaks_of_it() -> None:
    found = _evidence(
        {"waste": {"waste": 0.5, "population": 0.1, "none": 0.4}},
        {"waste": {"waste": 5}},
    )
    links = resolve_links(KB, CATALOGUE, found)
    assert links.targets_of("waste") == ("waste",)
    (link,) = links.inferred
    assert link.target == "waste" and not link.declared
    assert link.confidence == round(0.5 / 0.6, 3)


def test_no_link_without_the_departments_own_evidence() -> None:
    """Residence permits land near an identity-card office, which never speaks of them."""
    found = _evidence({"roads": {"population": 0.6, "none": 0.4}}, {"population": {"roads": 1}})
    links = resolve_links(KB, CATALOGUE, found)
    assert links.targets_of("roads") == ()
    assert [p.target for p in links.proposals] == ["population"]


def test_two_departments_share_a_service_when_both_hold_a_large_share() -> None:
    found = _evidence(
        {"roads": {"population": 0.4, "waste": 0.35, "none": 0.25}},
        {"population": {"roads": 4}, "waste": {"roads": 4}},
    )
    assert set(resolve_links(KB, CATALOGUE, found).targets_of("roads")) == {"population", "waste"}


def test_declared_links_are_kept_and_not_inferred_again(tmp_path: Path) -> None:
    text = (DATA / "kb" / "minimal.yaml").read_text(encoding="utf-8")
    text = text.replace("    hours: always\n", "    hours: always\n    services: [roads]\n")
    path = tmp_path / "kb.yaml"
    path.write_text(text, encoding="utf-8")
    kb = load_kb(path, CATALOGUE)
    found = _evidence(
        {"roads": {"population": 0.9}, "waste": {"waste": 0.9}},
        {"population": {"roads": 9}, "waste": {"waste": 9}},
    )
    links = resolve_links(kb, CATALOGUE, found)
    assert links.targets_of("roads") == ("waste",)  # declared, not the inferred population
    assert links.targets_of("waste") == ()  # the waste department declared its services
    assert all(link.declared for link in links.links)


def test_the_operator_holds_reception_unless_a_department_does() -> None:
    assert resolve_links(KB, CATALOGUE).targets_of("reception") == ("operator",)
    found = _evidence({"reception": {"population": 0.8}}, {"population": {"reception": 6}})
    assert resolve_links(KB, CATALOGUE, found).targets_of("reception") == ("population",)


def test_an_intent_goes_to_the_faq_entry_whose_questions_are_about_it() -> None:
    found = _evidence(
        {"opening_hours": {"faq:opening_hours": 0.7, "population": 0.3}},
        {"faq:opening_hours": {"opening_hours": 2}},
    )
    assert resolve_links(KB, CATALOGUE, found).targets_of("opening_hours") == ("faq:opening_hours",)


def test_too_few_catalogue_phrases_never_make_a_link() -> None:
    found = LinkEvidence(
        {"waste": {"waste": 1.0}}, {"waste": {"waste": 5}}, {"waste": 3}, {"waste": 30}
    )
    assert resolve_links(KB, CATALOGUE, found).targets_of("waste") == ()


def test_a_department_nearest_to_most_of_one_part_holds_that_part(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An identity-documents office: too little of population, but most of its passport part."""
    monkeypatch.setattr(service_parts, "MIN_PARTS", 1)  # the fixture has one population intent
    found = LinkEvidence(
        {"population": {"population": 0.03, "waste": 0.17, "none": 0.8}},
        {"population": {"population": 4}},
        {"population": 40},
        {"population": 30, "waste": 30},
        {"passport": {"population": 6.0 / 9, "waste": 3.0 / 9}},
        {"passport": 9},
    )
    links = resolve_links(KB, CATALOGUE, found)
    (link,) = links.of_target("population")
    assert (link.catalogue_id, link.parts, link.declarable) == (
        "population",
        ("passport",),
        ("passport",),
    )
    assert links.holders("population", "passport") == ("population",)
    assert links.holders("population", None) == ()


def test_a_department_may_declare_a_part_of_a_service(tmp_path: Path) -> None:
    text = (DATA / "kb" / "minimal.yaml").read_text(encoding="utf-8")
    text = text.replace("    hours: always\n", "    hours: always\n    services: [passport]\n")
    path = tmp_path / "kb.yaml"
    path.write_text(text, encoding="utf-8")
    links = resolve_links(load_kb(path, CATALOGUE), CATALOGUE)
    assert links.holders("population", "passport") == ("waste",)
    assert links.holders("population") == ()
