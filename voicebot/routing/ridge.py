"""A closed-form ridge classifier, fast enough for thousands of catalogue phrases.

The logistic regression of ``classifier.py`` took 70-80 s to fit on a KB with the
catalogue (4,500 phrases, 89 labels) and calibration fits it six times: far over the
60-second build budget. Ridge regression onto one-hot targets, over the sentence
embedding and the most frequent word uni- and bigrams, is one linear solve (about a
second), and a cross-validation fold is the same solve with the fold's rows taken out
of the Gram matrix. Rows are weighted so that every label weighs the same (a
department with eight examples is not drowned by a thousand out-of-scope phrases) and
a city's own examples weigh more than the catalogue's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from voicebot.routing.embedders import Matrix
from voicebot.routing.text import fold_accents
from voicebot.routing.tfidf import QueryTfidf

Float64 = npt.NDArray[np.float64]

FEW_QUERIES = 8
"""Up to this many texts get their word features without ``TfidfVectorizer.transform``."""


class RidgeFeatures:
    """Sentence embedding + word TF-IDF (most frequent n-grams) + a constant."""

    def __init__(self, texts: Sequence[str], max_words: int) -> None:
        self._words: TfidfVectorizer | None = None
        if max_words:
            self._words = TfidfVectorizer(
                analyzer="word",
                ngram_range=(1, 2),
                sublinear_tf=True,
                preprocessor=fold_accents,
                max_features=max_words,
                min_df=2,
            )
            try:
                self._words.fit(list(texts))
            except ValueError:  # every n-gram under min_df: a tiny KB
                self._words = None
        self._query = QueryTfidf(self._words) if self._words is not None else None

    def words(self, texts: Sequence[str]) -> sp.csr_matrix | None:
        """The word n-gram part of the features, sparse (None: no word features)."""
        if self._words is None or self._query is None:
            return None
        if len(texts) <= FEW_QUERIES:
            return self._query.transform(texts)
        return sp.csr_matrix(self._words.transform(list(texts)))

    def transform(self, texts: Sequence[str], vectors: Matrix) -> Float64:
        """(n, d) dense feature rows."""
        parts: list[Float64] = [np.asarray(vectors, dtype=np.float64)]
        if self._words is not None:
            words = self._words.transform(list(texts))
            parts.append(np.asarray(sp.csr_matrix(words).toarray(), dtype=np.float64))
        parts.append(np.ones((len(texts), 1)))
        return np.hstack(parts)


class RidgeGram:
    """The weighted Gram matrix of all rows, from which any subset's classifier is solved."""

    def __init__(
        self,
        features: Float64,
        labels: npt.NDArray[np.intp],
        n_labels: int,
        weights: Float64,
        regularisation: float,
    ) -> None:
        self.features = features
        self.targets = np.zeros((len(labels), n_labels))
        self.targets[np.arange(len(labels)), labels] = 1.0
        self.weights = weights
        self.regularisation = regularisation
        weighted = features * weights[:, None]
        self.gram = weighted.T @ features
        self.moment = weighted.T @ self.targets

    def solve(self, without: npt.NDArray[np.intp] | None = None) -> Float64:
        """Coefficients fitted on every row except ``without``."""
        gram, moment = self.gram, self.moment
        if without is not None and len(without):
            rows = self.features[without]
            weighted = rows * self.weights[without][:, None]
            gram = gram - weighted.T @ rows
            moment = moment - weighted.T @ self.targets[without]
        penalty = self.regularisation * np.eye(gram.shape[0])
        penalty[-1, -1] = 1e-6  # the constant is not shrunk
        coefficients: Float64 = np.asarray(
            np.linalg.solve(gram + penalty, moment), dtype=np.float64
        )
        return coefficients


class RidgeTargetClassifier:
    """Label scores in [0, 1] from ridge regression; same interface as ``TargetClassifier``."""

    def __init__(self, features: RidgeFeatures, coefficients: Float64) -> None:
        self._features = features
        self._coefficients = coefficients.astype(np.float32)

    def probabilities(self, texts: Sequence[str], vectors: Matrix) -> npt.NDArray[np.float32]:
        """(len(texts), n_labels) scores, columns in the index's label order."""
        # The features' three blocks (embedding, words, constant) times their rows of
        # the coefficients: the word block stays sparse, where a dense row of 3,000
        # mostly-zero columns cost more than the product itself.
        coefficients = self._coefficients
        dim = vectors.shape[1]
        scores = np.asarray(vectors, dtype=np.float32) @ coefficients[:dim]
        scores += coefficients[-1]
        words = self._features.words(texts)
        if words is not None:
            scores += np.asarray(words @ coefficients[dim:-1], dtype=np.float32)
        return np.asarray(np.clip(scores, 0.0, 1.0), dtype=np.float32)


def balanced_weights(
    labels: npt.NDArray[np.intp], n_labels: int, boost: npt.NDArray[np.float64]
) -> Float64:
    """Row weights: each label sums to the same total; ``boost`` multiplies single rows."""
    boosted = np.bincount(labels, weights=boost, minlength=n_labels)
    weights: Float64 = boost / np.maximum(boosted[labels], 1e-9)
    return weights * (len(labels) / n_labels)
