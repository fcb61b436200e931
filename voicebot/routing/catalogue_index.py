"""Build the example index of a KB together with the catalogue: embed, link, relabel, merge.

Embeddings are cached in two groups: the catalogue's phrases with the generic negatives
(the same for every KB of the same languages, embedded once), and the KB's own phrases
(re-embedded when the KB changes: a few hundred phrases, a second or less).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from voicebot.knowledge.catalogue_model import Catalogue
from voicebot.knowledge.model import KnowledgeBase
from voicebot.pickle_cache import load_pickle, save_pickle
from voicebot.routing.catalogue_examples import catalogue_examples, target_profiles
from voicebot.routing.decision import FAQ_PREFIX
from voicebot.routing.embedders import Embedder, Matrix
from voicebot.routing.facets import entry_facets
from voicebot.routing.index import (
    INDEX_FORMAT,
    Example,
    ExampleIndex,
    embed_cached,
    kb_examples,
    negative_examples,
)
from voicebot.routing.linking import CatalogueLinks, LinkEvidence, link_evidence, resolve_links
from voicebot.routing.service_parts import part_labels
from voicebot.routing.training_set import FaqScope, drop_overridden, route_catalogue_examples


class _Vectors:
    """Unique texts of one group, embedded (or loaded) once."""

    def __init__(
        self, texts: Sequence[str], embedder: Embedder, cache_dir: Path | None, group: str
    ) -> None:
        unique = sorted(set(texts))
        self._row = {text: row for row, text in enumerate(unique)}
        self._matrix = embed_cached(unique, embedder, cache_dir, group)

    def of(self, examples: Sequence[Example]) -> Matrix:
        rows = np.asarray([self._row[e.text] for e in examples], dtype=np.intp)
        return np.asarray(self._matrix[rows], dtype=np.float32)


def build_catalogue_index(
    kb: KnowledgeBase,
    embedder: Embedder,
    catalogue: Catalogue,
    cache_dir: Path | None = None,
    infer: bool = True,
    service_parts: bool = True,
    faq_facets: bool = True,
) -> tuple[ExampleIndex, CatalogueLinks]:
    """The KB's examples, the catalogue's through its links, and the negatives, embedded.

    ``service_parts``: score and route the parts of broad services (``service_parts.py``);
    ``faq_facets``: narrow FAQ entries take only their facets' phrases (``facets.py``).
    Both off: the router as it was before them (the benchmarks run it side by side).

    The result is cached by KB content, catalogue content, model and the three switches:
    relabelling and merging eight thousand phrases takes more than the second a cached
    build may take.
    """
    switches = (infer, service_parts, faq_facets)
    built_path = _built_path(cache_dir, kb, catalogue, embedder.model_id, switches)
    cached = load_pickle(built_path)
    if (
        isinstance(cached, tuple)
        and len(cached) == 2
        and isinstance(cached[0], ExampleIndex)
        and isinstance(cached[1], CatalogueLinks)
    ):
        return cached[0], cached[1]
    built = _build(kb, embedder, catalogue, cache_dir, switches)
    save_pickle(built_path, built)
    return built


def _build(
    kb: KnowledgeBase,
    embedder: Embedder,
    catalogue: Catalogue,
    cache_dir: Path | None,
    switches: tuple[bool, bool, bool],
) -> tuple[ExampleIndex, CatalogueLinks]:
    infer, service_parts, faq_facets = switches
    city = kb_examples(kb)
    negatives = negative_examples(kb)
    from_catalogue = catalogue_examples(catalogue, kb.city.languages)
    profiles = target_profiles(kb)
    shared = _Vectors(
        [e.text for e in from_catalogue + negatives], embedder, cache_dir, "catalogue"
    )
    own = _Vectors([e.text for e in city + profiles], embedder, cache_dir, "kb")

    found = None
    parts: list[str | None] = []
    infer = infer and _leaves_links_open(kb)
    declared_parts = any(
        service in catalogue.intent_ids for d in kb.departments for service in d.services
    )
    if service_parts and (infer or declared_parts):
        catalogue_index = ExampleIndex.from_examples(
            from_catalogue, shared.of(from_catalogue), embedder.model_id, "catalogue"
        )
        parts = part_labels(catalogue, catalogue_index)
    if infer:
        path = _evidence_path(cache_dir, catalogue, embedder.model_id, kb, profiles, service_parts)
        cached = load_pickle(path)
        if isinstance(cached, LinkEvidence):
            found = cached
        else:
            catalogue_index = ExampleIndex.from_examples(
                from_catalogue, shared.of(from_catalogue), embedder.model_id, "catalogue"
            )
            profile_index = ExampleIndex.from_examples(
                profiles, own.of(profiles), embedder.model_id, "profiles"
            )
            found = link_evidence(catalogue, catalogue_index, profile_index, parts)
            save_pickle(path, found)
    links = resolve_links(kb, catalogue, found, faq_facets)

    scope = _faq_scope(kb) if faq_facets else None
    routed, sources = route_catalogue_examples(from_catalogue, catalogue, links, parts, scope)
    routed_vectors = shared.of(from_catalogue)[np.asarray(sources, dtype=np.intp)]
    city_vectors = own.of(city)
    keep = drop_overridden(routed, routed_vectors, city, city_vectors)
    routed = [e for e, kept in zip(routed, keep, strict=True) if kept]
    examples = city + negatives + routed
    vectors = np.vstack([city_vectors, shared.of(negatives), routed_vectors[keep]])
    key = _key(kb, catalogue, embedder.model_id, examples)
    return ExampleIndex.from_examples(examples, vectors, embedder.model_id, key), links


def _built_path(
    cache_dir: Path | None,
    kb: KnowledgeBase,
    catalogue: Catalogue,
    model_id: str,
    switches: tuple[bool, bool, bool],
) -> Path | None:
    if cache_dir is None:
        return None
    fingerprint = (
        f"{BUILT_FORMAT}\0{INDEX_FORMAT}\0{EVIDENCE_FORMAT}\0{model_id}\0{kb.content_hash}\0"
        f"{catalogue.content_hash}\0{switches}"
    )
    return (
        cache_dir / f"catalogue-index-{hashlib.sha256(fingerprint.encode()).hexdigest()[:32]}.pkl"
    )


BUILT_FORMAT = 2
"""Bump when linking, relabelling or merging changes: it keys the cached index."""

EVIDENCE_FORMAT = 2
"""Bump when ``link_evidence`` changes: it keys the cached evidence."""


def _evidence_path(
    cache_dir: Path | None,
    catalogue: Catalogue,
    model_id: str,
    kb: KnowledgeBase,
    profiles: list[Example],
    service_parts: bool,
) -> Path | None:
    # The evidence depends on the catalogue, the model, the KB's languages and its
    # targets' profiles only (seconds of lexical fitting and scoring that a cached build
    # must not redo).
    if cache_dir is None:
        return None
    digest = hashlib.sha256(
        f"{EVIDENCE_FORMAT}\0{INDEX_FORMAT}\0{model_id}\0{catalogue.content_hash}\0"
        f"{','.join(kb.city.languages)}\0{service_parts}\0".encode()
    )
    for example in profiles:
        digest.update(f"{example.label}\0{example.language}\0{example.text}\n".encode())
    return cache_dir / f"links-{digest.hexdigest()[:32]}.pkl"


def _faq_scope(kb: KnowledgeBase) -> FaqScope:
    limited = {FAQ_PREFIX + entry.id: entry_facets(entry) for entry in kb.faq}
    return FaqScope(
        {target: found for target, found in limited.items() if found},
        {FAQ_PREFIX + f.id: f.department for f in kb.faq if f.department},
    )


def _leaves_links_open(kb: KnowledgeBase) -> bool:
    return any(not d.services for d in kb.departments) or any(not f.intent for f in kb.faq)


def _key(kb: KnowledgeBase, catalogue: Catalogue, model_id: str, examples: list[Example]) -> str:
    digest = hashlib.sha256(
        f"{INDEX_FORMAT}\0catalogue\0{model_id}\0{kb.content_hash}\0{catalogue.content_hash}\0".encode()
    )
    for example in examples:
        digest.update(
            f"{example.label}\0{example.language}\0{example.origin}\0{example.text}\n".encode()
        )
    return digest.hexdigest()[:32]
