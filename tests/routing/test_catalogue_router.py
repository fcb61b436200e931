"""The router with the service catalogue (real USE v3 and the shipped catalogue)."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicebot.knowledge.loader import load_kb
from voicebot.routing.embedders import Embedder
from voicebot.routing.index import ExampleIndex
from voicebot.routing.router import Router, ScoringConfig

MINIMAL = Path(__file__).parent.parent / "data" / "kb" / "minimal.yaml"
WASTE_EXAMPLES = (
    "    examples:\n      fr: [mes poubelles n'ont pas été ramassées]\n"
    "      en: [my bins were not collected]\n"
)


def _kb_file(tmp_path: Path, old: str, new: str) -> Path:
    text = MINIMAL.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "kb.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def linked(
    use_embedder: Embedder, router_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> Router:
    """Waste: a name, a description, services and no example at all; population: unlinked."""
    path = _kb_file(tmp_path_factory.mktemp("kb"), WASTE_EXAMPLES, "    services: [waste]\n")
    return Router.build(load_kb(path), use_embedder, router_cache)


def test_a_department_with_zero_examples_linked_to_a_service_routes(linked: Router) -> None:
    assert linked.kb.department("waste").examples == {}
    for text, language in (
        ("le camion poubelle n est pas passé dans ma rue ce matin", "fr"),
        ("nobody emptied the recycling bin this week", "en"),
    ):
        decision = linked.route(text, language)
        assert decision.label == "waste", decision.candidates


def test_a_catalogue_intent_without_faq_entry_goes_to_the_holder_of_its_service(
    linked: Router,
) -> None:
    """Nothing in the KB speaks of passports but the inferred population link."""
    assert linked.links is not None
    assert "population" in linked.links.targets_of("population")
    assert linked.route("combien coûte un passeport pour un enfant", "fr").label == "population"


def test_links_are_inferred_where_the_kb_declares_none(linked: Router) -> None:
    assert linked.links is not None
    inferred = {(link.catalogue_id, link.target) for link in linked.links.inferred}
    declared = {(link.catalogue_id, link.target) for link in linked.links.links if link.declared}
    assert ("population", "population") in inferred
    assert ("waste", "waste") in declared
    assert ("reception", "operator") in declared


def test_departments_sharing_a_service_ask_which_one(
    use_embedder: Embedder, router_cache: Path, tmp_path: Path
) -> None:
    path = _kb_file(tmp_path, WASTE_EXAMPLES, "    services: [roads]\n")
    text = path.read_text(encoding="utf-8").replace(
        "      en: [i need to renew my identity card]\n",
        "      en: [i need to renew my identity card]\n    services: [roads]\n",
    )
    path.write_text(text, encoding="utf-8")
    router = Router.build(load_kb(path), use_embedder, router_cache)
    decision = router.route("il y a un gros nid de poule devant chez moi", "fr")
    assert {c.label for c in decision.candidates[:2]} == {"population", "waste"}
    assert decision.ambiguous, decision


def test_the_router_before_the_catalogue_stays_reachable(
    use_embedder: Embedder, router_cache: Path
) -> None:
    kb = load_kb(MINIMAL)
    today = Router.build(kb, use_embedder, router_cache, ScoringConfig(catalogue=False))
    assert today.links is None
    assert today.index.examples == ExampleIndex.build(kb, use_embedder, router_cache).examples


def test_a_cached_build_links_fits_and_calibrates_nothing_again(
    linked: Router, use_embedder: Embedder, router_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import voicebot.routing.catalogue_index as catalogue_index
    import voicebot.routing.router as router_module

    def rebuilt(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached build redid work")

    monkeypatch.setattr(catalogue_index, "_build", rebuilt)
    monkeypatch.setattr(router_module, "LexicalIndex", rebuilt)
    monkeypatch.setattr(router_module, "calibrate", rebuilt)
    again = Router.build(linked.kb, use_embedder, router_cache)
    text = "le camion poubelle n est pas passé dans ma rue ce matin"
    assert again.route(text, "fr") == linked.route(text, "fr")
