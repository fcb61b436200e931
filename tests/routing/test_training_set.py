"""Catalogue phrases relabelled through the links; city examples override them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voicebot.knowledge.catalogue_loader import load_catalogue
from voicebot.routing.decision import NONE
from voicebot.routing.index import Example, Origin
from voicebot.routing.linking import CatalogueLinks, Link
from voicebot.routing.training_set import drop_overridden, route_catalogue_examples

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
