"""Lexical similarity: TF-IDF over character n-grams inside words.

Character n-grams tolerate what dense sentence embeddings handle badly in
transcripts: a misrecognised ending ("encombrant" / "encombrants"), a split word
("carte d identité"), a rare domain word the embedding model has never seen
("concession", "IRISbox"). It complements, not replaces, the dense score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sklearn.feature_extraction.text import TfidfVectorizer

from voicebot.routing.text import fold_accents
from voicebot.routing.tfidf import QueryTfidf

FEW_QUERIES = 8
"""Up to this many queries are scored row by row (a call's utterance or its n-best list);
more (calibration's thousands) go through one sparse product."""


class LexicalIndex:
    """Cosine similarity between a query and every example, on char n-gram TF-IDF."""

    def __init__(self, examples: Sequence[str]) -> None:
        self._vectorizer = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(3, 5),
            sublinear_tf=True,
            preprocessor=fold_accents,
            dtype=np.float32,
        )
        self._matrix = self._vectorizer.fit_transform(list(examples)).T.tocsr()
        """(n-grams, examples): row g lists the examples holding n-gram g."""
        self._query = QueryTfidf(self._vectorizer)

    def restricted(self, columns: npt.NDArray[np.intp]) -> LexicalIndex:
        """The same vocabulary and weights over the examples at ``columns`` only."""
        view = object.__new__(LexicalIndex)
        view._vectorizer = self._vectorizer
        view._matrix = self._matrix[:, columns].tocsr()
        view._query = self._query
        return view

    def similarities(self, query: str) -> npt.NDArray[np.float32]:
        """Cosine similarity of ``query`` with each example, in example order."""
        row: npt.NDArray[np.float32] = self.similarity_matrix([query])[0]
        return row

    def similarity_matrix(self, queries: Sequence[str]) -> npt.NDArray[np.float32]:
        """(len(queries), n_examples) cosine similarities."""
        if len(queries) > FEW_QUERIES:
            vectors = self._vectorizer.transform(list(queries))
            return np.asarray((vectors @ self._matrix).toarray(), dtype=np.float32)
        rows = np.empty((len(queries), self._matrix.shape[1]), dtype=np.float32)
        for row, query in enumerate(queries):
            rows[row] = self._row(*self._query.terms(query))
        return rows

    def _row(self, ids: npt.NDArray[np.intp], weights: npt.NDArray[np.float64]) -> np.ndarray:
        # The sum of the query's n-gram rows, each scaled by its weight: gathered straight
        # from the CSR arrays (scikit-learn's transform and a one-row sparse product
        # took twice the CPU).
        matrix = self._matrix
        starts = matrix.indptr[ids]
        lengths = matrix.indptr[ids + 1] - starts
        offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        offsets += np.arange(int(lengths.sum()))
        return np.bincount(
            matrix.indices[offsets],
            weights=matrix.data[offsets] * np.repeat(weights, lengths),
            minlength=matrix.shape[1],
        )
