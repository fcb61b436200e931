"""A linear classifier over the KB's own examples, blended with nearest-neighbour scores.

Nearest neighbours judge an utterance by its single closest example; a classifier
weighs every feature against every target at once, learning for instance that
"concession" points to cemeteries whatever else the caller says. Features are the
sentence embedding plus character and word TF-IDF, so both meaning and wording count.
Trained at index build time in well under a second on a KB of a few thousand phrases.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from voicebot.routing.embedders import Matrix
from voicebot.routing.text import fold_accents


class LabelClassifier(Protocol):
    """What the scorer needs of a classifier: label probabilities for utterances."""

    def probabilities(self, texts: Sequence[str], vectors: Matrix) -> npt.NDArray[np.float32]:
        """(len(texts), n_labels) scores in [0, 1], columns in the index's label order."""
        ...


class TargetClassifier:
    """Multinomial logistic regression: P(target | utterance) for every index label."""

    def __init__(
        self,
        texts: Sequence[str],
        vectors: Matrix,
        labels: Sequence[str],
        label_order: Sequence[str],
        regularisation: float = 30.0,
    ) -> None:
        self._chars = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, preprocessor=fold_accents
        )
        self._words = TfidfVectorizer(
            analyzer="word", ngram_range=(1, 2), sublinear_tf=True, preprocessor=fold_accents
        )
        features = sp.hstack(
            [
                sp.csr_matrix(vectors),
                self._chars.fit_transform(list(texts)),
                self._words.fit_transform(list(texts)),
            ]
        ).tocsr()
        # Balanced weights: a target with few examples must not lose to a wordy one.
        self._model = LogisticRegression(C=regularisation, max_iter=3000, class_weight="balanced")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self._model.fit(features, list(labels))
        # A label absent from the training data (possible in a cross-validation fold)
        # gets probability 0 through a trailing zero column.
        classes = {label: position for position, label in enumerate(self._model.classes_)}
        missing = len(classes)
        self._columns = np.asarray(
            [classes.get(label, missing) for label in label_order], dtype=np.intp
        )

    def probabilities(self, texts: Sequence[str], vectors: Matrix) -> npt.NDArray[np.float32]:
        """(len(texts), n_labels) probabilities, columns in the index's label order."""
        features = sp.hstack(
            [
                sp.csr_matrix(vectors),
                self._chars.transform(list(texts)),
                self._words.transform(list(texts)),
            ]
        ).tocsr()
        probs = self._model.predict_proba(features)
        padded = np.hstack([probs, np.zeros((probs.shape[0], 1))])
        return np.asarray(padded[:, self._columns], dtype=np.float32)
