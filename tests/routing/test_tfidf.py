"""The query-time TF-IDF path gives what scikit-learn's transform gives (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from voicebot.routing.lexical import FEW_QUERIES, LexicalIndex
from voicebot.routing.ridge import RidgeFeatures, RidgeTargetClassifier
from voicebot.routing.text import fold_accents
from voicebot.routing.tfidf import QueryTfidf

EXAMPLES = [
    "je voudrais renouveler ma carte d identité",
    "mes poubelles n ont pas été ramassées",
    "le camion poubelle n est pas passé",
    "ik wil mijn identiteitskaart vernieuwen",
    "my bins were not collected this week",
    "une concession au cimetière",
    "carte carte carte d identité identité",
]
QUERIES = [
    "carte d identite perdue",  # accents folded like the examples
    "poubelle poubelle poubelle",  # repeated n-grams: sublinear tf
    "zzz qqq",  # nothing in the vocabulary
    "",
    "mijn identiteitskaart is gestolen",
]


@pytest.mark.parametrize(
    "vectorizer",
    [
        TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(3, 5),
            sublinear_tf=True,
            preprocessor=fold_accents,
            dtype=np.float32,
        ),
        TfidfVectorizer(
            analyzer="word", ngram_range=(1, 2), sublinear_tf=True, preprocessor=fold_accents
        ),
        TfidfVectorizer(analyzer="word", min_df=2, max_features=5),
    ],
    ids=["char_wb", "word_bigrams", "word_capped"],
)
def test_query_rows_equal_the_vectorizers_transform(vectorizer: TfidfVectorizer) -> None:
    vectorizer.fit(EXAMPLES)
    expected = vectorizer.transform(QUERIES)
    got = QueryTfidf(vectorizer).transform(QUERIES)
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got.toarray(), expected.toarray(), atol=1e-6)


def test_query_tfidf_refuses_a_vectorizer_it_does_not_reproduce() -> None:
    vectorizer = TfidfVectorizer(binary=True).fit(EXAMPLES)
    with pytest.raises(ValueError, match="l2-normalised, non-binary"):
        QueryTfidf(vectorizer)


def test_lexical_rows_of_one_query_equal_the_batch_product() -> None:
    index = LexicalIndex(EXAMPLES)
    batch = QUERIES * (FEW_QUERIES // len(QUERIES) + 1)  # over FEW_QUERIES: sparse product
    assert len(batch) > FEW_QUERIES
    expected = index.similarity_matrix(batch)[: len(QUERIES)]
    np.testing.assert_allclose(index.similarity_matrix(QUERIES), expected, atol=1e-6)
    np.testing.assert_allclose(index.similarities(QUERIES[0]), expected[0], atol=1e-6)
    bins = index.similarities(QUERIES[1])
    assert set(np.argsort(-bins)[:2]) == {1, 2}  # the two examples with "poubelle"


def test_ridge_scores_of_few_queries_equal_the_dense_feature_product() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((len(QUERIES), 16)).astype(np.float32)
    features = RidgeFeatures(EXAMPLES, max_words=50)
    width = features.transform(QUERIES, vectors).shape[1]
    coefficients = rng.standard_normal((width, 3)) * 0.3 + 0.3
    classifier = RidgeTargetClassifier(features, coefficients)
    dense = features.transform(QUERIES, vectors).astype(np.float32) @ coefficients.astype(
        np.float32
    )
    expected = np.clip(dense, 0.0, 1.0)
    np.testing.assert_allclose(classifier.probabilities(QUERIES, vectors), expected, atol=1e-5)
