"""Rejection settings fitted to each KB by cross-validation over its own examples.

Two knobs decide what is out of scope: a floor under which the nearest-neighbour score
means "resembles nothing in the KB", and a margin by which the generic out-of-scope
pseudo-target must beat the best real target. Both depend on the KB: a city with few
examples per department sees its real requests score lower and lose to the generic
negatives more often. Held-out KB examples play the part of real requests: each fold
is scored by a classifier trained without it and with its examples masked out of the
nearest-neighbour search, and the knobs are set so that only a small, fixed share of
them would be rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from voicebot.routing.classifier import LabelClassifier
from voicebot.routing.scoring import Scorer, Scores

FOLDS = 5
MAX_NONE_MARGIN = 0.25


@dataclass(frozen=True, slots=True)
class Calibration:
    """Per-language floors, the out-of-scope margin, and held-out accuracy of the KB."""

    thresholds: dict[str, float]
    default: float
    none_margin: float
    heldout_accuracy: dict[str, float] = field(default_factory=dict)
    """Top-1 accuracy on held-out KB examples, per language: a check of the KB itself."""


ClassifierFactory = Callable[[np.ndarray], LabelClassifier]


def calibrate(
    scorer: Scorer,
    languages: tuple[str, ...],
    none_label: int,
    train: ClassifierFactory | None,
) -> Calibration:
    """Cross-validate over the index's examples; ``train(mask)`` fits on examples in ``mask``."""
    index = scorer.index
    knn, blended = _heldout_scores(scorer, train)
    labels = index.label_of
    positive = labels != none_label if none_label >= 0 else np.ones(len(labels), dtype=bool)
    in_scope = blended.copy()
    if none_label >= 0:
        in_scope[:, none_label] = -np.inf
    best = in_scope.max(axis=1)
    predicted = in_scope.argmax(axis=1)
    best_knn = knn[np.arange(len(labels)), predicted]
    rate = scorer.config.max_in_scope_rejection

    none_margin = 0.0
    if none_label >= 0 and scorer.config.negatives_as_class:
        gap = blended[:, none_label] - best
        none_margin = _pick_margin(gap[positive], gap[~positive], rate)

    thresholds: dict[str, float] = {}
    accuracy: dict[str, float] = {}
    for language in languages:
        mask = positive & np.array([e.language == language for e in index.examples])
        if not mask.any():
            continue
        accuracy[language] = round(float((predicted[mask] == labels[mask]).mean()), 4)
        thresholds[language] = round(float(np.quantile(best_knn[mask], rate / 2)), 4)
    default = float(np.median(list(thresholds.values()))) if thresholds else 0.0
    return Calibration(thresholds, default, round(none_margin, 4), accuracy)


def _pick_margin(positive_gap: Scores, negative_gap: Scores, rate: float) -> float:
    """The margin that keeps the most held-out requests and catches the most negatives.

    ``gap`` is how far the out-of-scope pseudo-target beats the best real target. The
    search stops at the margin that already keeps all but ``rate`` of the KB's requests:
    a larger one only lets more out-of-scope talk through. Measured on two cities, this
    beat both the bare bound (it lost out-of-scope recall on a KB with many examples)
    and no margin (it rejected a fifth of real requests on a KB with few).
    """
    upper = float(np.clip(np.quantile(positive_gap, 1 - rate), 0.0, MAX_NONE_MARGIN))
    best_margin, best_value = upper, -1.0
    for margin in np.linspace(0.0, upper, 26):
        kept = float((positive_gap <= margin).mean())
        caught = float((negative_gap > margin).mean()) if negative_gap.size else 0.0
        value = kept + caught
        if value > best_value + 1e-9:
            best_margin, best_value = float(margin), value
    return best_margin


def _heldout_scores(scorer: Scorer, train: ClassifierFactory | None) -> tuple[Scores, Scores]:
    """Scores of every example by a model that never saw it."""
    index = scorer.index
    count = len(index.examples)
    folds = np.arange(count) % FOLDS
    texts = [e.text for e in index.examples]
    dense_all = index.vectors @ index.vectors.T
    lexical_all = scorer.lexical.similarity_matrix(texts)
    sums = np.add.reduceat(index.vectors, index.starts, axis=0)
    knn = np.empty((count, len(index.labels)), dtype=np.float32)
    blended = np.empty_like(knn)
    for fold in range(FOLDS):
        rows = np.flatnonzero(folds == fold)
        dense = dense_all[rows].copy()
        lexical = lexical_all[rows].copy()
        dense[:, rows] = -1.0
        lexical[:, rows] = -1.0
        # Centroids without the fold's examples.
        fold_sums = sums - np.add.reduceat(
            np.where((folds == fold)[:, None], index.vectors, 0.0), index.starts, axis=0
        )
        centroids = fold_sums / np.maximum(np.linalg.norm(fold_sums, axis=1, keepdims=True), 1e-9)
        vectors = index.vectors[rows]
        fold_knn = scorer.neighbour_scores(vectors, lexical, dense, vectors @ centroids.T)
        knn[rows] = fold_knn
        if train is None:
            blended[rows] = fold_knn
        else:
            classifier = train(folds != fold)
            probabilities = classifier.probabilities([texts[i] for i in rows], vectors)
            blended[rows] = scorer.blend(fold_knn, probabilities)
    return knn, blended
