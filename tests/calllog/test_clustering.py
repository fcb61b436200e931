"""Greedy cosine grouping of texts."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from voicebot.calllog.clustering import group_similar

VECTORS = {
    "a1": [1.0, 0.0, 0.0],
    "a2": [0.9, 0.1, 0.0],
    "b1": [0.0, 1.0, 0.0],
    "ab": [0.7, 0.7, 0.0],
    "c1": [0.0, 0.0, 1.0],
}


def lookup_embed(texts: list[str]) -> npt.NDArray[np.float64]:
    """Fixed vectors per text, deliberately not unit length (the grouping normalises)."""
    return np.array([VECTORS[text] for text in texts])


def test_texts_join_the_most_similar_leader_above_the_threshold() -> None:
    groups = group_similar(["a1", "a2", "b1", "c1"], [5, 2, 4, 1], lookup_embed, threshold=0.9)
    assert [(g.representative, g.count, g.examples, g.distinct) for g in groups] == [
        ("a1", 7, ("a1", "a2"), 2),
        ("b1", 4, ("b1",), 1),
        ("c1", 1, ("c1",), 1),
    ]


def test_below_the_threshold_a_text_leads_its_own_group() -> None:
    # cos(ab, a1) = cos(ab, b1) = 0.707: joins at 0.7, not at 0.8.
    loose = group_similar(["a1", "b1", "ab"], [3, 2, 1], lookup_embed, threshold=0.7)
    assert [(g.representative, g.count) for g in loose] == [("a1", 4), ("b1", 2)]
    strict = group_similar(["a1", "b1", "ab"], [3, 2, 1], lookup_embed, threshold=0.8)
    assert [(g.representative, g.count) for g in strict] == [("a1", 3), ("b1", 2), ("ab", 1)]


def test_the_most_frequent_text_represents_its_group() -> None:
    groups = group_similar(["a2", "a1"], [1, 9], lookup_embed, threshold=0.9, examples=1)
    assert [(g.representative, g.examples, g.count) for g in groups] == [("a1", ("a1",), 10)]


def test_no_texts_no_groups() -> None:
    assert group_similar([], [], lookup_embed) == []


@pytest.mark.parametrize(
    ("embed", "message"),
    [
        (lambda texts: np.ones(len(texts)), "expected \\(number of texts, dimension\\)"),
        (lambda texts: np.ones((len(texts) + 1, 3)), "expected \\(number of texts"),
        (lambda texts: np.zeros((len(texts), 3)), "zero vector"),
        (lambda texts: np.full((len(texts), 3), np.nan), "non-finite"),
    ],
)
def test_bad_embeddings_are_refused(embed: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        group_similar(["a1", "b1"], [1, 1], embed)  # type: ignore[arg-type]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="2 texts but 1 counts"):
        group_similar(["a1", "b1"], [1], lookup_embed)
    with pytest.raises(ValueError, match="not a cosine"):
        group_similar(["a1"], [1], lookup_embed, threshold=1.5)
