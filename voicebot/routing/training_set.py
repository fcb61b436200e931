"""The router's examples: the city's own, the catalogue's through the links, and negatives.

- A service's phrases become examples of every target holding it (two departments sharing
  a service both get them: the city's own examples then decide, and where they do not,
  the margin stays small and the caller is asked which one).
- A service's phrase about one of its parts (``service_parts.py``) goes to the department
  holding that part, if one does, else to the holders of the whole service.
- An FAQ intent's phrases go to the FAQ entry holding it; an intent the city has no entry
  for goes to the target holding the intent's service (a passport-price question in a
  city without that FAQ goes to the department that issues passports).
- An FAQ entry whose questions are all about one facet (the price, the delay, the papers:
  ``facets.py``) takes only the intent's phrases about that facet; the others go to the
  department doing the job (the holder of the intent's part or service, else the entry's
  own department): "combien coûte une carte d identité" to the price entry, "il faut
  prendre rendez vous pour la carte" to the identity-documents department.
- A service no target holds contributes nothing: nothing says whether that city treats it
  (a residence permit is the commune's job in Belgium, the prefecture's in France).
- External matters and near misses going nowhere join the out-of-scope pseudo-target.
- The city overrides the catalogue: a catalogue phrase nearly identical to a city example
  of another target is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from voicebot.knowledge.catalogue_model import Catalogue, EntryKind
from voicebot.routing.decision import NONE
from voicebot.routing.embedders import Matrix
from voicebot.routing.facets import facets
from voicebot.routing.index import Example, Origin
from voicebot.routing.linking import CatalogueLinks

OVERRIDE_COSINE = 0.9
"""A catalogue phrase this close to a city example of another target is dropped."""


@dataclass(frozen=True, slots=True)
class FaqScope:
    """What the KB's FAQ entries answer, beyond the intent they hold."""

    facets: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """FAQ target → the facets it is limited to (absent or empty: the whole intent)."""
    departments: Mapping[str, str] = field(default_factory=dict)
    """FAQ target → its department, where the entry names one."""


def route_catalogue_examples(
    examples: Sequence[Example],
    catalogue: Catalogue,
    links: CatalogueLinks,
    parts: Sequence[str | None] = (),
    scope: FaqScope | None = None,
) -> tuple[list[Example], list[int]]:
    """Relabel catalogue-id examples with the KB targets holding them.

    ``parts`` gives each example its part of a service (``service_parts.part_labels``);
    ``scope`` limits narrow FAQ entries to their facets. Returns the new examples and, for
    each, the position of the phrase it comes from (a shared service's phrase appears once
    per holder and keeps one vector).
    """
    kinds = {entry.id: entry.kind for entry in catalogue.entries()}
    intent_service = {intent.id: intent.service for intent in catalogue.faq_intents}
    scope = scope or FaqScope()
    routed: list[Example] = []
    sources: list[int] = []
    for position, example in enumerate(examples):
        part = parts[position] if parts else None
        targets = _targets(example.label, part, kinds, intent_service, links)
        if kinds.get(example.label) is EntryKind.FAQ_INTENT and scope.facets:
            targets = _within_scope(example, targets, intent_service, links, scope)
        for label in targets:
            origin = Origin.NEGATIVE if label == NONE else Origin.CATALOGUE
            routed.append(Example(label, example.language, example.text, origin))
            sources.append(position)
    return routed, sources


def _targets(
    catalogue_id: str,
    part: str | None,
    kinds: dict[str, EntryKind],
    intent_service: dict[str, str | None],
    links: CatalogueLinks,
) -> tuple[str, ...]:
    if catalogue_id == NONE or kinds.get(catalogue_id) is EntryKind.EXTERNAL:
        return (NONE,)
    kind = kinds.get(catalogue_id)
    if kind is EntryKind.SERVICE:
        return links.holders(catalogue_id, part)
    held = links.targets_of(catalogue_id)
    if held or kind is not EntryKind.FAQ_INTENT:
        return held
    service = intent_service.get(catalogue_id)
    return links.holders(service, catalogue_id) if service else ()


def _within_scope(
    example: Example,
    targets: tuple[str, ...],
    intent_service: dict[str, str | None],
    links: CatalogueLinks,
    scope: FaqScope,
) -> tuple[str, ...]:
    """An intent's phrase stays with the FAQ entries whose facets it asks about; one that
    asks about something else goes to the department doing the job, or nowhere."""
    own = facets(example.text, example.language)
    narrow = [t for t in targets if scope.facets.get(t)]
    if not narrow:
        return targets
    kept = tuple(t for t in targets if not scope.facets.get(t) or own & scope.facets[t])
    if kept:
        return kept
    service = intent_service.get(example.label)
    doing = links.holders(service, example.label) if service else ()
    if not doing:
        doing = tuple(dict.fromkeys(scope.departments[t] for t in narrow if t in scope.departments))
    return doing


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
