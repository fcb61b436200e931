"""Catalogue phrases relabelled through the links; city examples override them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voicebot.knowledge.catalogue_loader import load_catalogue
from voicebot.routing.decision import NONE
from voicebot.routing.facets import DELAY, PRICE, facets, narrow_facets
from voicebot.routing.index import Example, Origin
from voicebot.routing.linking import CatalogueLinks, Link
from voicebot.routing.training_set import FaqScope, drop_overridden, route_catalogue_examples

CATALOGUE = load_catalogue(Path(__file__).parent.parent / "data" / "catalogue")


def _phrase(label: str, text: str = "une phrase") -> Example:
    return Example(label, "fr", text, Origin.CATALOGUE)


def _links(*pairs: tuple[str, str]) -> CatalogueLinks:
    return CatalogueLinks(tuple(Link(cid, target, True, 1.0) for cid, target in pairs))


def test_a_shared_service_gives_its_phrases_to_every_holder() -> None:
    links = _links(("roads", "works"), ("roads", "mobility"))
    routed, sources = route_catalogue_examples([_phrase("roads")], CATALOGUE, links)
    assert [e.label for e in routed] == ["works", "mobility"]
    assert sources == [0, 0]


def test_an_intent_without_an_faq_entry_goes_to_the_holder_of_its_service() -> None:
    links = _links(("population", "identity"))
    routed, _ = route_catalogue_examples([_phrase("passport")], CATALOGUE, links)
    assert [e.label for e in routed] == ["identity"]


def test_an_intent_held_by_an_faq_entry_goes_there() -> None:
    links = _links(("population", "identity"), ("passport", "faq:passport_price"))
    routed, _ = route_catalogue_examples([_phrase("passport")], CATALOGUE, links)
    assert [e.label for e in routed] == ["faq:passport_price"]


def test_unheld_services_add_nothing_and_external_matters_are_out_of_scope() -> None:
    phrases = [_phrase("waste"), _phrase("federal_tax"), _phrase(NONE)]
    routed, sources = route_catalogue_examples(phrases, CATALOGUE, _links())
    assert [(e.label, e.origin) for e in routed] == [
        (NONE, Origin.NEGATIVE),
        (NONE, Origin.NEGATIVE),
    ]
    assert sources == [1, 2]


def test_a_catalogue_phrase_close_to_a_city_example_of_another_target_is_dropped() -> None:
    catalogue = [_phrase("waste"), _phrase("waste"), _phrase("roads")]
    city = [Example("roads", "fr", "un exemple")]
    near, far = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    vectors = np.stack([near, far, near]).astype(np.float32)
    keep = drop_overridden(catalogue, vectors, city, near[None, :].astype(np.float32))
    assert keep.tolist() == [False, True, True]


def test_a_part_of_a_service_goes_to_the_department_holding_that_part() -> None:
    links = CatalogueLinks(
        (
            Link("population", "formalities", True, 1.0),
            Link("population", "identity", True, 1.0, ("passport",)),
        )
    )
    phrases = [_phrase("population"), _phrase("population"), _phrase("passport")]
    routed, _ = route_catalogue_examples(phrases, CATALOGUE, links, [None, "passport", "passport"])
    assert [e.label for e in routed] == ["formalities", "identity", "identity"]


def test_a_price_entry_takes_the_price_questions_of_its_intent_and_no_others() -> None:
    links = _links(("population", "identity"), ("passport", "faq:price"))
    scope = FaqScope({"faq:price": frozenset({PRICE})}, {})
    phrases = [
        _phrase("passport", "combien coûte un passeport"),
        _phrase("passport", "il faut un rendez vous pour le passeport"),
    ]
    routed, sources = route_catalogue_examples(phrases, CATALOGUE, links, scope=scope)
    assert [(e.label, sources[i]) for i, e in enumerate(routed)] == [
        ("faq:price", 0),
        ("identity", 1),
    ]


def test_an_entry_with_a_general_question_keeps_its_whole_intent() -> None:
    questions = [("combien coûte un passeport", "fr"), ("comment refaire mon passeport", "fr")]
    assert narrow_facets(questions) == frozenset()
    assert narrow_facets(questions[:1]) == {PRICE}
    assert facets("how long does it take", "en") == {DELAY}
