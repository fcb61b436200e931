"""Nearest neighbours of an utterance: the city's examples and the phrases of its language.

No model needed: the vectors are random unit rows, the texts short phrases.
"""

from __future__ import annotations

import numpy as np
import pytest

from voicebot.routing.index import Example, ExampleIndex, Origin
from voicebot.routing.lexical import LexicalIndex
from voicebot.routing.scoring import Scorer, ScoringConfig

EXAMPLES = [
    Example("population", "fr", "carte d identité perdue", Origin.CITY),
    Example("population", "nl", "identiteitskaart verloren", Origin.CATALOGUE),
    Example("population", "fr", "renouveler mon passeport", Origin.CATALOGUE),
    Example("waste", "fr", "poubelles pas ramassées", Origin.CATALOGUE),
    Example("waste", "nl", "vuilniszakken niet opgehaald", Origin.CATALOGUE),
    Example("waste", "nl", "grofvuil ophalen", Origin.CITY),
    Example("none", "fr", "je cherche un plombier", Origin.NEGATIVE),
    Example("none", "nl", "ik zoek een loodgieter", Origin.NEGATIVE),
]


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((len(EXAMPLES), 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = ExampleIndex.from_examples(EXAMPLES, vectors, "random", "key")
    lexical = LexicalIndex([e.text for e in index.examples])
    return Scorer(index, lexical, None, ScoringConfig(classifier_weight=0.0))


def test_a_phrase_of_another_language_is_no_neighbour_unless_the_city_wrote_it(
    scorer: Scorer,
) -> None:
    index = scorer.index
    row = next(i for i, e in enumerate(index.examples) if e.text == "vuilniszakken niet opgehaald")
    waste = index.labels.index("waste")
    text, vector = [index.examples[row].text], index.vectors[row : row + 1]
    as_dutch, _ = scorer.score(text, vector, ["nl"])
    as_french, _ = scorer.score(text, vector, ["fr"])
    # Its own text and vector: a perfect neighbour for a Dutch caller only.
    assert as_dutch[0, waste] > as_french[0, waste] + 0.5
    city = next(i for i, e in enumerate(index.examples) if e.text == "grofvuil ophalen")
    text, vector = [index.examples[city].text], index.vectors[city : city + 1]
    # The city's own example counts in every language: its perfect match either way.
    as_dutch, _ = scorer.score(text, vector, ["nl"])
    as_french, _ = scorer.score(text, vector, ["fr"])
    assert as_french[0, waste] == pytest.approx(as_dutch[0, waste])
    assert as_french[0].argmax() == waste


def test_queries_are_scored_as_calibration_masks_held_out_examples(scorer: Scorer) -> None:
    index = scorer.index
    texts = ["ma carte d identité", "opgehaald vuilniszakken", "un plombier svp", "grofvuil"]
    languages = ["fr", "nl", "fr", "de"]  # de: not a language of the index, every example
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((len(texts), 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    knn, _ = scorer.score(texts, vectors, languages)

    foreign = scorer.foreign(languages)
    assert foreign is not None
    assert not foreign[3].any()
    dense = vectors @ index.vectors.T
    lexical = scorer.lexical.similarity_matrix(texts)
    dense[foreign] = -1.0
    lexical[foreign] = -1.0
    expected = scorer.neighbour_scores(vectors, lexical, dense)
    np.testing.assert_allclose(knn, expected, atol=1e-5)


def test_without_catalogue_phrases_every_example_counts() -> None:
    examples = [Example(e.label, e.language, e.text, Origin.CITY) for e in EXAMPLES]
    vectors = np.eye(len(examples), 16, dtype=np.float32)
    index = ExampleIndex.from_examples(examples, vectors, "random", "key")
    scorer = Scorer(index, LexicalIndex([e.text for e in index.examples]), None, ScoringConfig())
    assert scorer.foreign(["fr"]) is None
