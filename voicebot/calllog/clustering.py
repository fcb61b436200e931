"""Greedy similarity grouping of short texts by cosine similarity of their embeddings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Embed = Callable[[list[str]], npt.NDArray[np.floating]]
"""Texts in, one vector per text out (shape ``(len(texts), dim)``), unit length expected."""


@dataclass(frozen=True, slots=True)
class TextGroup:
    """Similar texts: the most frequent one represents them all."""

    count: int
    """Occurrences of all member texts together."""
    representative: str
    examples: tuple[str, ...]
    """Most frequent member texts, representative first."""
    distinct: int
    """How many different texts the group holds."""


def _unit_vectors(embed: Embed, texts: list[str]) -> npt.NDArray[np.float32]:
    vectors = np.asarray(embed(texts), dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(texts):
        raise ValueError(
            f"embed returned shape {vectors.shape} for {len(texts)} texts; "
            "expected (number of texts, dimension)"
        )
    if not np.all(np.isfinite(vectors)):
        raise ValueError("embed returned non-finite values")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("embed returned a zero vector: cannot measure cosine similarity")
    # Re-normalised so a slightly-off embedder cannot skew the threshold.
    unit: npt.NDArray[np.float32] = vectors / norms
    return unit


def group_similar(
    texts: Sequence[str],
    counts: Sequence[int],
    embed: Embed,
    *,
    threshold: float = 0.8,
    examples: int = 3,
) -> list[TextGroup]:
    """Group texts greedily: each text joins the most similar group leader if the cosine is
    at least ``threshold``, else leads a new group.

    Texts are taken in decreasing ``counts`` order (ties keep input order), so every leader
    is the most frequent text of its group. Groups come back by decreasing total count.
    """
    if len(texts) != len(counts):
        raise ValueError(f"{len(texts)} texts but {len(counts)} counts")
    if not -1.0 <= threshold <= 1.0:
        raise ValueError(f"threshold {threshold} is not a cosine (-1..1)")
    if examples < 1:
        raise ValueError(f"examples must be at least 1, got {examples}")
    if not texts:
        return []
    order = sorted(range(len(texts)), key=lambda i: -counts[i])
    ordered = [texts[i] for i in order]
    vectors = _unit_vectors(embed, ordered)
    leaders = np.empty_like(vectors)
    members: list[list[int]] = []
    for position, vector in enumerate(vectors):
        if members:
            similarities = leaders[: len(members)] @ vector
            best = int(np.argmax(similarities))
            if similarities[best] >= threshold:
                members[best].append(position)
                continue
        leaders[len(members)] = vector
        members.append([position])
    groups = [
        TextGroup(
            count=sum(counts[order[p]] for p in group),
            representative=ordered[group[0]],
            examples=tuple(ordered[p] for p in group[:examples]),
            distinct=len(group),
        )
        for group in members
    ]
    # Stable: equal totals keep the order of their leaders (most frequent first).
    return sorted(groups, key=lambda g: -g.count)
