"""Scoring: how much an utterance looks like each routing target.

Nearest-neighbour score of a target = weighted sum of
- the best dense (sentence embedding) cosine over its examples,
- the cosine to the centroid of its examples (robust to one odd example),
- the best lexical (char n-gram TF-IDF) cosine over its examples (robust to ASR errors).
The final score blends it with a classifier's probability (see ``classifier.py``).

With the catalogue, an utterance's nearest neighbours are sought among the city's own
examples (every language) and the catalogue phrases and negatives *of its language* only:
the transcript comes from that language's recogniser, each catalogue entry has phrases in
every KB language, and the other languages' thousands of phrases would only double or
triple the memory one query streams through (the index is 14 MB with them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voicebot.routing.classifier import LabelClassifier
from voicebot.routing.embedders import Matrix
from voicebot.routing.index import ExampleIndex, Origin
from voicebot.routing.lexical import LexicalIndex

Scores = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class ScoringConfig:
    """Weights and rules of the scorer (defaults chosen by measurement: docs/benchmarks.md)."""

    dense_weight: float = 0.6
    centroid_weight: float = 0.1
    lexical_weight: float = 0.3
    classifier_weight: float = 0.3
    """Share of the classifier's probability in the final score (0: nearest neighbours only)."""
    strip_fillers: bool = True
    negatives_as_class: bool = True
    """Reject when the generic out-of-scope pseudo-target beats every real target."""
    ambiguity_margin: float = 0.03
    """Top two different targets closer than this: ask which one the caller means."""
    max_in_scope_rejection: float = 0.03
    """Calibration: share of the KB's own (held-out) examples allowed to be rejected."""
    top_candidates: int = 5
    catalogue: bool = True
    """Add the municipal service catalogue's phrases through the KB's links (False: the
    router as it was before the catalogue, KB examples and generic negatives only)."""
    infer_links: bool = True
    """Where the KB declares no links, use the confident inferred ones."""
    service_parts: bool = True
    """Link and route the parts of broad catalogue services (a mairie's identity-documents
    department holds the identity-card part of ``population``: ``service_parts.py``)."""
    faq_facets: bool = True
    """An FAQ entry whose questions are all about a price, a delay or the papers takes only
    its intent's phrases about that (``facets.py``); the rest go to the department."""
    city_weight: float = 3.0
    """Catalogue mode: weight of a city's own example against a catalogue phrase."""
    ridge_words: int = 3000
    """Catalogue mode: word n-gram features of the ridge classifier."""
    ridge_regularisation: float = 1.0
    budget_rejection: float = 0.045
    """Budget calibration: share of held-out KB and catalogue phrases it may reject. Chosen
    by measurement on three cities (docs/benchmarks.md): 0.03 let out-of-scope recall fall
    to 0.84-0.89, 0.06 rejected 6 % of a hard city's real requests."""
    calibration: str = "budget"
    """``budget``: spend the rejection budget on held-out KB and catalogue phrases (the
    margin may be negative); ``kb``: the search over the KB's own examples used before the
    catalogue (a margin of at least zero). ``Router.build`` uses ``kb`` without catalogue."""
    classifier: str = "auto"
    """``logistic`` (slow, the router before the catalogue), ``ridge``, or ``auto``: ridge
    when the index holds catalogue phrases (logistic regression cannot fit them in time)."""
    same_language_neighbours: bool = True
    """Nearest neighbours among the city's examples and the other phrases of the
    utterance's language only (without catalogue phrases in the index it changes nothing)."""


class Scorer:
    """Turns embedded utterances into (nearest-neighbour, final) score matrices."""

    def __init__(
        self,
        index: ExampleIndex,
        lexical: LexicalIndex,
        classifier: LabelClassifier | None,
        config: ScoringConfig,
    ) -> None:
        self.index = index
        self.lexical = lexical
        self.classifier = classifier
        self.config = config
        self.centroids = _centroids(index)
        self._views = _language_views(index, lexical) if config.same_language_neighbours else {}

    def score(
        self, texts: list[str], vectors: Matrix, languages: Sequence[str] | None = None
    ) -> tuple[Scores, Scores]:
        """(n, n_labels) nearest-neighbour scores and final blended scores."""
        if languages is None or not self._views:
            knn = self.neighbour_scores(vectors, self.lexical.similarity_matrix(texts))
        else:
            knn = np.empty((len(texts), len(self.index.labels)), dtype=np.float32)
            for language in set(languages):
                rows = [i for i, lang in enumerate(languages) if lang == language]
                knn[rows] = self._language_scores(
                    [texts[i] for i in rows], vectors[rows], self._views.get(language)
                )
        if self.classifier is None:
            return knn, knn
        return knn, self.blend(knn, self.classifier.probabilities(texts, vectors))

    def foreign(self, languages: Sequence[str]) -> npt.NDArray[np.bool_] | None:
        """(len(languages), n_examples): examples an utterance of each language is not
        compared with (None: every example counts). What calibration masks out."""
        if not self._views:
            return None
        example_languages = np.asarray([e.language for e in self.index.examples])
        shared = np.asarray([e.origin is Origin.CITY for e in self.index.examples])
        mask: npt.NDArray[np.bool_] = np.asarray(languages)[:, None] != example_languages[None, :]
        known = np.isin(np.asarray(languages), list(self._views))
        mask &= ~shared[None, :] & known[:, None]
        return mask

    def _language_scores(self, texts: list[str], vectors: Matrix, view: _View | None) -> Scores:
        if view is None:  # a language the KB does not offer: every example
            return self.neighbour_scores(vectors, self.lexical.similarity_matrix(texts))
        cfg = self.config
        scores = np.full((len(texts), len(self.index.labels)), -1.0, dtype=np.float32)
        dense = np.maximum.reduceat(vectors @ view.vectors.T, view.starts, axis=1)
        lexical = np.maximum.reduceat(view.lexical.similarity_matrix(texts), view.starts, axis=1)
        scores[:, view.labels] = cfg.dense_weight * dense + cfg.lexical_weight * lexical
        # A label without an example in the view scores as if its examples were masked.
        scores[:, view.missing] = -(cfg.dense_weight + cfg.lexical_weight)
        if cfg.centroid_weight:
            scores += cfg.centroid_weight * (vectors @ self.centroids.T)
        return scores

    def neighbour_scores(
        self,
        vectors: Matrix,
        lexical: Scores,
        dense: Scores | None = None,
        centroid: Scores | None = None,
    ) -> Scores:
        """Nearest-neighbour scores; ``dense``/``centroid`` may be given with examples masked."""
        cfg = self.config
        if dense is None:
            dense = vectors @ self.index.vectors.T
        starts = self.index.starts
        scores = cfg.dense_weight * np.maximum.reduceat(dense, starts, axis=1)
        if cfg.centroid_weight:
            if centroid is None:
                centroid = vectors @ self.centroids.T
            scores += cfg.centroid_weight * centroid
        if cfg.lexical_weight:
            scores += cfg.lexical_weight * np.maximum.reduceat(lexical, starts, axis=1)
        return np.asarray(scores, dtype=np.float32)

    def blend(self, knn: Scores, probabilities: Scores) -> Scores:
        """Final score: nearest neighbours and classifier probability, weighted."""
        weight = self.config.classifier_weight
        return np.asarray((1 - weight) * knn + weight * probabilities, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class _View:
    """The examples an utterance of one language is compared with."""

    vectors: Matrix
    lexical: LexicalIndex
    labels: npt.NDArray[np.intp]
    """Labels present in the view, ascending; ``starts`` are their first rows."""
    starts: npt.NDArray[np.intp]
    missing: npt.NDArray[np.intp]


def _language_views(index: ExampleIndex, lexical: LexicalIndex) -> dict[str, _View]:
    if not any(e.origin is Origin.CATALOGUE for e in index.examples):
        return {}
    views: dict[str, _View] = {}
    for language in sorted({e.language for e in index.examples}):
        rows = np.asarray(
            [
                i
                for i, e in enumerate(index.examples)
                if e.origin is Origin.CITY or e.language == language
            ],
            dtype=np.intp,
        )
        row_labels = index.label_of[rows]  # ascending: the index is grouped by label
        labels, starts = np.unique(row_labels, return_index=True)
        missing = np.setdiff1d(np.arange(len(index.labels)), labels)
        views[language] = _View(
            np.ascontiguousarray(index.vectors[rows]),
            lexical.restricted(rows),
            labels.astype(np.intp),
            starts.astype(np.intp),
            missing.astype(np.intp),
        )
    return views


def _centroids(index: ExampleIndex) -> Matrix:
    # One contiguous block sum per label: reduceat along rows took 0.2 s on 7,000 rows.
    ends = [*index.starts[1:], len(index.vectors)]
    sums = np.vstack(
        [
            index.vectors[start:end].sum(axis=0)
            for start, end in zip(index.starts, ends, strict=True)
        ]
    )
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return np.asarray(sums / np.maximum(norms, 1e-9), dtype=np.float32)
