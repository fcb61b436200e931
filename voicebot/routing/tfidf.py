"""TF-IDF rows of a few query texts, exactly as a fitted ``TfidfVectorizer`` makes them.

Routing one utterance used to call ``TfidfVectorizer.transform`` twice (the lexical index
and the ridge classifier's words): about 0.6 ms of CPU each, nearly all of it input
validation around a transform whose real work (split a dozen words into n-grams, look
them up, weigh them) takes a tenth of that. ``QueryTfidf`` does that real work with the
vectorizer's own analyzer, vocabulary and idf; ``tests/routing/test_tfidf.py`` checks it
against ``transform``. Batches (index build, calibration) still go through ``transform``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer


class QueryTfidf:
    """The rows ``vectorizer.transform`` would return, without its per-call overhead."""

    def __init__(self, vectorizer: TfidfVectorizer) -> None:
        # The supported subset of TfidfVectorizer; anything else must use transform.
        if vectorizer.norm != "l2" or vectorizer.binary or not vectorizer.use_idf:
            raise ValueError("QueryTfidf supports l2-normalised, non-binary tf-idf only")
        self._analyze = vectorizer.build_analyzer()
        self._vocabulary: dict[str, int] = vectorizer.vocabulary_
        self._idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self._sublinear = bool(vectorizer.sublinear_tf)
        self._dtype = np.dtype(vectorizer.dtype)
        self.n_features = len(self._vocabulary)

    def terms(self, text: str) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
        """Feature ids of ``text`` (ascending) and their l2-normalised tf-idf weights."""
        counts: dict[int, int] = {}
        vocabulary = self._vocabulary
        for gram in self._analyze(text):
            feature = vocabulary.get(gram)
            if feature is not None:
                counts[feature] = counts.get(feature, 0) + 1
        ids = np.fromiter(sorted(counts), dtype=np.intp, count=len(counts))
        tf = np.fromiter((counts[i] for i in ids), dtype=np.float64, count=len(ids))
        weights = (np.log(tf) + 1.0 if self._sublinear else tf) * self._idf[ids]
        norm = float(np.sqrt(weights @ weights))
        if norm > 0:
            weights /= norm
        return ids, weights

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """(len(texts), n_features) CSR rows, as ``TfidfVectorizer.transform``."""
        rows = [self.terms(text) for text in texts]
        indptr = np.zeros(len(rows) + 1, dtype=np.intp)
        np.cumsum([len(ids) for ids, _ in rows], out=indptr[1:])
        indices = np.concatenate([ids for ids, _ in rows]) if rows else np.zeros(0, np.intp)
        data = np.concatenate([w for _, w in rows]) if rows else np.zeros(0)
        return sp.csr_matrix(
            (data.astype(self._dtype), indices, indptr), shape=(len(rows), self.n_features)
        )
