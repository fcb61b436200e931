"""Scoring: how much an utterance looks like each routing target.

Nearest-neighbour score of a target = weighted sum of
- the best dense (sentence embedding) cosine over its examples,
- the cosine to the centroid of its examples (robust to one odd example),
- the best lexical (char n-gram TF-IDF) cosine over its examples (robust to ASR errors).
The final score blends it with a classifier's probability (see ``classifier.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voicebot.routing.classifier import LabelClassifier
from voicebot.routing.embedders import Matrix
from voicebot.routing.index import ExampleIndex
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

    def score(self, texts: list[str], vectors: Matrix) -> tuple[Scores, Scores]:
        """(n, n_labels) nearest-neighbour scores and final blended scores."""
        knn = self.neighbour_scores(vectors, self.lexical.similarity_matrix(texts))
        if self.classifier is None:
            return knn, knn
        return knn, self.blend(knn, self.classifier.probabilities(texts, vectors))

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


def _centroids(index: ExampleIndex) -> Matrix:
    sums = np.add.reduceat(index.vectors, index.starts, axis=0)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return np.asarray(sums / np.maximum(norms, 1e-9), dtype=np.float32)
