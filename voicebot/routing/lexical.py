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

    def similarities(self, query: str) -> npt.NDArray[np.float32]:
        """Cosine similarity of ``query`` with each example, in example order."""
        vector = self._vectorizer.transform([query])
        return np.asarray((vector @ self._matrix).toarray()[0], dtype=np.float32)

    def similarity_matrix(self, queries: Sequence[str]) -> npt.NDArray[np.float32]:
        """(len(queries), n_examples) cosine similarities."""
        vectors = self._vectorizer.transform(list(queries))
        return np.asarray((vectors @ self._matrix).toarray(), dtype=np.float32)
