"""The router's examples: the city's own, the catalogue's through the links, and negatives.

- A service's phrases become examples of every target holding it (two departments sharing
  a service both get them: the city's own examples then decide, and where they do not,
  the margin stays small and the caller is asked which one).
- An FAQ intent's phrases go to the FAQ entry holding it; an intent the city has no entry
  for goes to the target holding the intent's service (a passport-price question in a
  city without that FAQ goes to the department that issues passports).
- A service no target holds contributes nothing: nothing says whether that city treats it
  (a residence permit is the commune's job in Belgium, the prefecture's in France).
- External matters and near misses going nowhere join the out-of-scope pseudo-target.
- The city overrides the catalogue: a catalogue phrase nearly identical to a city example
  of another target is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from voicebot.knowledge.catalogue_model import Catalogue, EntryKind
from voicebot.routing.decision import NONE
from voicebot.routing.embedders import Matrix
from voicebot.routing.index import Example, Origin
from voicebot.routing.linking import CatalogueLinks

OVERRIDE_COSINE = 0.9
"""A catalogue phrase this close to a city example of another target is dropped."""


def route_catalogue_examples(
    examples: Sequence[Example], catalogue: Catalogue, links: CatalogueLinks
) -> tuple[list[Example], list[int]]:
    """Relabel catalogue-id examples with the KB targets holding them.

    Returns the new examples and, for each, the position of the phrase it comes from (a
    shared service's phrase appears once per holder and keeps one vector).
    """
    kinds = {entry.id: entry.kind for entry in catalogue.entries()}
    intent_service = {intent.id: intent.service for intent in catalogue.faq_intents}
    routed: list[Example] = []
    sources: list[int] = []
    for position, example in enumerate(examples):
        for label in _targets(example.label, kinds, intent_service, links):
            origin = Origin.NEGATIVE if label == NONE else Origin.CATALOGUE
            routed.append(Example(label, example.language, example.text, origin))
            sources.append(position)
    return routed, sources


def _targets(
    catalogue_id: str,
    kinds: dict[str, EntryKind],
    intent_service: dict[str, str | None],
    links: CatalogueLinks,
) -> tuple[str, ...]:
    if catalogue_id == NONE or kinds.get(catalogue_id) is EntryKind.EXTERNAL:
        return (NONE,)
    held = links.targets_of(catalogue_id)
    if held or kinds.get(catalogue_id) is not EntryKind.FAQ_INTENT:
        return held
    service = intent_service.get(catalogue_id)
    return links.targets_of(service) if service else ()


def drop_overridden(
    catalogue: Sequence[Example],
    catalogue_vectors: Matrix,
    city: Sequence[Example],
    city_vectors: Matrix,
) -> np.ndarray:
    """Mask of catalogue examples to keep: those no city example of another target contradicts."""
    keep = np.ones(len(catalogue), dtype=bool)
    if not len(catalogue) or not len(city):
        return keep
    similarity = catalogue_vectors @ city_vectors.T
    city_labels = np.asarray([e.label for e in city])
    for row, example in enumerate(catalogue):
        close = similarity[row] >= OVERRIDE_COSINE
        if close.any() and (city_labels[close] != example.label).any():
            keep[row] = False
    return keep
