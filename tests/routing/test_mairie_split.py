"""A French mairie's first KB: identity documents split from the rest of population.

The KB (tests/data/mairies/saint-martin-des-champs.yaml) has a "Titres d'identité"
department with three examples, a formalities desk holding certificates and the census,
and an FAQ entry about the price of an identity card or passport. Before service parts and
FAQ facets, the identity department had no catalogue link and the price entry took the
callers who want a card renewed (real USE v3 and the shipped catalogue).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from voicebot.kbcheck.suggest import suggestion_yaml
from voicebot.knowledge.loader import load_kb
from voicebot.routing.embedders import Embedder
from voicebot.routing.router import Router

MAIRIE = Path(__file__).parent.parent / "data" / "mairies" / "saint-martin-des-champs.yaml"


@pytest.fixture(scope="module")
def mairie(use_embedder: Embedder, router_cache: Path) -> Router:
    return Router.build(load_kb(MAIRIE), use_embedder, router_cache)


def test_the_identity_department_holds_the_identity_parts_of_population(mairie: Router) -> None:
    assert mairie.links is not None
    (link,) = [
        link for link in mairie.links.of_target("titres") if link.catalogue_id == "population"
    ]
    assert {"id_card", "passport"} <= set(link.parts)
    assert "residence_certificate" not in link.parts
    assert mairie.links.holders("population", "id_card") == ("titres",)
    assert mairie.links.holders("population", "residence_certificate") == ("formalites",)


@pytest.mark.parametrize(
    "text",
    [
        "ma carte nationale d identité a expiré le mois dernier",
        "je voudrais un créneau pour déposer mon dossier de passeport",
        "il faut faire un passeport pour ma fille de six ans",
        "on m a prévenu que ma carte était prête je passe la récupérer",
        "quelle photo je dois donner pour la carte d identité",
    ],
)
def test_identity_card_requests_go_to_the_department_not_the_price_entry(
    mairie: Router, text: str
) -> None:
    decision = mairie.route(text, "fr")
    assert decision.label == "titres", decision.candidates


@pytest.mark.parametrize(
    "text", ["combien je paie pour un passeport adulte", "la carte d identité c est gratuit"]
)
def test_price_questions_still_go_to_the_price_entry(mairie: Router, text: str) -> None:
    decision = mairie.route(text, "fr")
    assert decision.label == "faq:tarifs_cni_passeport", decision.candidates


def test_birth_certificate_and_market_entries_get_their_intents(mairie: Router) -> None:
    assert mairie.links is not None
    assert mairie.links.targets_of("civil_records") == ("faq:acte_de_naissance",)
    assert mairie.links.targets_of("markets") == ("faq:jours_de_marche",)
    assert mairie.route("le marché du vendredi commence à quelle heure", "fr").label == (
        "faq:jours_de_marche"
    )


def test_kb_suggest_prints_the_parts_a_department_can_declare(mairie: Router) -> None:
    assert mairie.links is not None
    text = suggestion_yaml(mairie.kb, mairie.links, lambda message: message)
    block = text.split("  - id: titres\n", 1)[1].split("  - id:", 1)[0]
    services = block.splitlines()[0]
    assert services.startswith("    services: [") and "(population)" in services, block
    assert {"id_card", "passport"} <= set(services.split("[")[1].split("]")[0].split(", "))
