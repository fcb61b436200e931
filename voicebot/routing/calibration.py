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
import numpy.typing as npt

from voicebot.routing.classifier import LabelClassifier
from voicebot.routing.index import ExampleIndex, Origin
from voicebot.routing.scoring import Scorer, Scores

FOLDS = 5
MAX_NONE_MARGIN = 0.25
CALIBRATION_SAMPLE: dict[Origin, int | None] = {
    Origin.CITY: None,
    Origin.CATALOGUE: 3000,
    Origin.NEGATIVE: 1200,
}
"""Budget calibration: how many distinct phrases of each origin are held out (None: all)."""
MARGIN_SHARE = 2 / 3
"""Budget calibration: share of the rejection budget spent by the out-of-scope margin (the
rest by the per-language floors)."""


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
    budget = scorer.config.calibration == "budget"
    folds = _budget_folds(index) if budget else np.arange(len(index.examples)) % FOLDS
    knn, blended = heldout_scores(scorer, train, folds)
    held = np.flatnonzero(folds >= 0)
    knn, blended = knn[held], blended[held]
    examples = [index.examples[i] for i in held]
    labels = index.label_of[held]
    positive = labels != none_label if none_label >= 0 else np.ones(len(labels), dtype=bool)
    in_scope = blended.copy()
    if none_label >= 0:
        in_scope[:, none_label] = -np.inf
    best = in_scope.max(axis=1)
    predicted = in_scope.argmax(axis=1)
    best_knn = knn[np.arange(len(labels)), predicted]
    rate = scorer.config.budget_rejection if budget else scorer.config.max_in_scope_rejection
    none_margin = 0.0
    if none_label >= 0 and scorer.config.negatives_as_class:
        gap = blended[:, none_label] - best
        if budget:
            none_margin = _budget_margin(gap[positive], rate * MARGIN_SHARE)
        else:
            none_margin = _pick_margin(gap[positive], gap[~positive], rate)
    floor_rate = rate * (1 - MARGIN_SHARE) if budget else rate / 2

    thresholds: dict[str, float] = {}
    accuracy: dict[str, float] = {}
    for language in languages:
        mask = positive & np.array([e.language == language for e in examples])
        if not mask.any():
            continue
        accuracy[language] = round(float((predicted[mask] == labels[mask]).mean()), 4)
        thresholds[language] = round(float(np.quantile(best_knn[mask], floor_rate)), 4)
    default = float(np.median(list(thresholds.values()))) if thresholds else 0.0
    return Calibration(thresholds, default, round(none_margin, 4), accuracy)


def _budget_margin(positive_gap: Scores, rate: float) -> float:
    """The most rejecting margin that still keeps all but ``rate`` of the held-out requests.

    With the catalogue, held-out requests number in the thousands and cover every linked
    service in every language, so the rejection budget can be spent exactly; the margin
    may be negative (reject when out-of-scope talk comes *close* to the best target).
    """
    return float(np.clip(np.quantile(positive_gap, 1 - rate), -MAX_NONE_MARGIN, MAX_NONE_MARGIN))


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


def _budget_folds(index: ExampleIndex, seed: int = 0) -> npt.NDArray[np.intp]:
    """Fold of each example (-1: never held out) for the budget calibration.

    Every city example is held out once; the catalogue's phrases and the negatives are
    sampled (thousands would cost minutes of scoring and tell no more). An example shares
    its fold with every example of the same text (a shared service's phrase appears once
    per holder: holding out one copy while the other stays would score it 1.0).
    """
    rng = np.random.default_rng(seed)
    chosen: set[str] = set()
    for origin, cap in CALIBRATION_SAMPLE.items():
        texts = sorted({e.text for e in index.examples if e.origin is origin})
        if cap is not None and len(texts) > cap:
            texts = list(rng.choice(texts, size=cap, replace=False))
        chosen.update(texts)
    fold_of = {text: position % FOLDS for position, text in enumerate(sorted(chosen))}
    return np.asarray([fold_of.get(e.text, -1) for e in index.examples], dtype=np.intp)


def heldout_scores(
    scorer: Scorer, train: ClassifierFactory | None, folds: npt.NDArray[np.intp]
) -> tuple[Scores, Scores]:
    """Scores of every held-out example (fold >= 0) by a model that never saw it."""
    index = scorer.index
    texts = [e.text for e in index.examples]
    sums = np.add.reduceat(index.vectors, index.starts, axis=0)
    knn = np.zeros((len(index.examples), len(index.labels)), dtype=np.float32)
    blended = np.zeros_like(knn)
    for fold in range(FOLDS):
        held = folds == fold
        rows = np.flatnonzero(held)
        if not rows.size:
            continue
        vectors = index.vectors[rows]
        dense = vectors @ index.vectors.T
        lexical = scorer.lexical.similarity_matrix([texts[i] for i in rows])
        dense[:, rows] = -1.0
        lexical[:, rows] = -1.0
        foreign = scorer.foreign([index.examples[i].language for i in rows])
        if foreign is not None:  # as a query of that language is scored (scoring.py)
            dense[foreign] = -1.0
            lexical[foreign] = -1.0
        # Centroids without the fold's examples.
        fold_sums = sums - np.add.reduceat(
            np.where(held[:, None], index.vectors, 0.0), index.starts, axis=0
        )
        centroids = fold_sums / np.maximum(np.linalg.norm(fold_sums, axis=1, keepdims=True), 1e-9)
        fold_knn = scorer.neighbour_scores(vectors, lexical, dense, vectors @ centroids.T)
        knn[rows] = fold_knn
        if train is None:
            blended[rows] = fold_knn
        else:
            classifier = train(~held)
            probabilities = classifier.probabilities([texts[i] for i in rows], vectors)
            blended[rows] = scorer.blend(fold_knn, probabilities)
    return knn, blended
