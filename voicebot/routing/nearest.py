"""Nearest-example labels between two example sets: the evidence both catalogue links
(``linking``) and the parts of broad services (``service_parts``) are counted from."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from voicebot.routing.index import ExampleIndex
from voicebot.routing.lexical import LexicalIndex
from voicebot.routing.scoring import Scorer, ScoringConfig


def subset(index: ExampleIndex, rows: Sequence[int]) -> ExampleIndex:
    """The examples of ``index`` at ``rows``, with their vectors."""
    chosen = np.asarray(rows, dtype=np.intp)
    return ExampleIndex.from_examples(
        [index.examples[row] for row in rows], index.vectors[chosen], index.model_id, "subset"
    )


def nearest_labels(queries: ExampleIndex, references: ExampleIndex) -> list[str]:
    """For each example of ``queries``, the label of ``references`` it is nearest to."""
    return [references.labels[column] for column in nearest_columns(queries, references)]


def nearest_columns(queries: ExampleIndex, references: ExampleIndex) -> np.ndarray:
    """For each example of ``queries``, the column of the nearest example of ``references``."""
    scorer = Scorer(
        references,
        LexicalIndex([e.text for e in references.examples]),
        None,
        ScoringConfig(centroid_weight=0.0, same_language_neighbours=False),
    )
    texts = [e.text for e in queries.examples]
    scores = scorer.neighbour_scores(queries.vectors, scorer.lexical.similarity_matrix(texts))
    return np.asarray(scores.argmax(axis=1))
