"""The municipal service catalogue as typed, immutable objects.

The catalogue (``voicebot/knowledge/catalogue/``) lists the requests every Belgian or
French commune receives, once for every city: canonical services, matters that belong
elsewhere (``external``), frequent FAQ intents, and many ways callers ask for each, per
language. A city's departments link to its services and its FAQ entries to its intents,
so that a first, small knowledge base already routes (see docs/decisions/routing-catalogue.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

NOWHERE = "none"
"""``goes`` of a near miss that is no matter for any town hall."""


class EntryKind(StrEnum):
    """Which list of ``services.yaml`` an entry comes from."""

    SERVICE = "services"
    EXTERNAL = "external"
    FAQ_INTENT = "faq_intents"


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """A municipal service, an external matter or an FAQ intent, with its caller phrases."""

    id: str
    kind: EntryKind
    name: dict[str, str]
    """Language → what a town hall calls it."""
    description: dict[str, str]
    """Language → what callers bring to it."""
    phrases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Language → ways callers ask for it, in the Vosk transcript style."""
    service: str | None = None
    """FAQ intents only: the service such a question goes to when the city has no answer."""
    answer_hint: dict[str, str] = field(default_factory=dict)
    """FAQ intents only: what the city should write in its answer."""


@dataclass(frozen=True, slots=True)
class NearMiss:
    """A phrase that looks like one service (``not``) but belongs elsewhere (``goes``)."""

    text: str
    language: str
    not_: str
    """The service it resembles."""
    goes: str
    """A service id, an external id, or ``none`` (no matter for any town hall)."""


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Everything the catalogue knows, for every city."""

    services: tuple[CatalogueEntry, ...]
    external: tuple[CatalogueEntry, ...]
    faq_intents: tuple[CatalogueEntry, ...]
    near_misses: tuple[NearMiss, ...] = ()
    source: str = "<memory>"
    content_hash: str = ""
    """Hash of the catalogue's files: keys the cached embeddings of its phrases."""

    def entries(self) -> tuple[CatalogueEntry, ...]:
        """Services, external matters and FAQ intents, in that order."""
        return self.services + self.external + self.faq_intents

    def entry(self, entry_id: str) -> CatalogueEntry:
        """The entry with this id, whatever its kind (KeyError if none)."""
        for entry in self.entries():
            if entry.id == entry_id:
                return entry
        raise KeyError(entry_id)

    @property
    def service_ids(self) -> tuple[str, ...]:
        """Ids of the municipal services."""
        return tuple(s.id for s in self.services)

    @property
    def intent_ids(self) -> tuple[str, ...]:
        """Ids of the FAQ intents."""
        return tuple(i.id for i in self.faq_intents)

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages that have phrases, sorted."""
        found = {lang for entry in self.entries() for lang in entry.phrases}
        return tuple(sorted(found | {m.language for m in self.near_misses}))
