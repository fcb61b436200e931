"""The parts of a broad catalogue service: its phrases grouped by the FAQ intent they are about.

``population`` covers identity cards, passports, certificates, change of address, driving
licences and the criminal record; many French mairies split it: a "Titres d'identité"
department for cards and passports, the certificates at the general affairs desk. Such a
department holds a fifth of the service's phrases, too few to be linked to the whole
service, yet nearly all of its identity-card phrases. The catalogue already names the
parts of a service: its FAQ intents (``id_card``, ``passport``, ``residence_certificate``
for ``population``). Each phrase of the service is given the part of the intent whose
phrases it is nearest to (the router's own nearest-neighbour score), and each phrase of an
intent is its own part. Linking then scores a department on each part (``linking.py``),
and routing sends a part's phrases to the department holding that part.
"""

from __future__ import annotations

from collections import defaultdict

from voicebot.knowledge.catalogue_model import Catalogue
from voicebot.routing.index import ExampleIndex
from voicebot.routing.nearest import nearest_labels, subset

MIN_PARTS = 2
"""A service with fewer intents has no parts (one part is the whole service)."""
WHOLE_ONLY = frozenset({"reception"})
"""Services never split: the reception's intents (hours, address, appointments, holidays)
are about the whole town hall, not a job one department does."""


def parts_of_services(catalogue: Catalogue) -> dict[str, tuple[str, ...]]:
    """Service id → its parts (the intents attached to it), for services with several."""
    parts: dict[str, list[str]] = defaultdict(list)
    for intent in catalogue.faq_intents:
        if intent.service and intent.service not in WHOLE_ONLY:
            parts[intent.service].append(intent.id)
    return {service: tuple(ids) for service, ids in parts.items() if len(ids) >= MIN_PARTS}


def part_labels(catalogue: Catalogue, index: ExampleIndex) -> list[str | None]:
    """For each example of ``index`` (catalogue phrases labelled by id): its part, or None.

    An intent's phrase is its own part; a service's phrase the intent it is nearest to;
    phrases of services without parts, of external matters and negatives have none.
    """

    parts = parts_of_services(catalogue)
    intent_service = {intent: service for service, ids in parts.items() for intent in ids}
    labels: list[str | None] = [
        example.label if example.label in intent_service else None for example in index.examples
    ]
    by_label: dict[str, list[int]] = defaultdict(list)
    for position, example in enumerate(index.examples):
        by_label[example.label].append(position)
    for service, intents in parts.items():
        queries = by_label.get(service, [])
        references = [row for intent in intents for row in by_label.get(intent, [])]
        if not queries or not references:
            continue
        nearest = nearest_labels(subset(index, queries), subset(index, references))
        for row, part in zip(queries, nearest, strict=True):
            labels[row] = part
    return labels


__all__ = ["part_labels", "parts_of_services"]
