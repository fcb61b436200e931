"""What the router decides for one utterance."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

OPERATOR = "operator"
NONE = "none"
FAQ_PREFIX = "faq:"


class RouteKind(StrEnum):
    """The kind of destination a decision points to."""

    FAQ = "faq"
    DEPARTMENT = "department"
    OPERATOR = "operator"
    UNKNOWN = "unknown"


def kind_of(label: str) -> RouteKind:
    """The kind of a routing label (``faq:<id>``, ``operator``, ``none`` or a department id)."""
    if label.startswith(FAQ_PREFIX):
        return RouteKind.FAQ
    if label == OPERATOR:
        return RouteKind.OPERATOR
    if label == NONE:
        return RouteKind.UNKNOWN
    return RouteKind.DEPARTMENT


@dataclass(frozen=True, slots=True)
class Candidate:
    """One scored target."""

    label: str
    score: float


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """The ranked outcome of routing one utterance."""

    label: str
    """Best target (``faq:<id>``, a department id, ``operator``) or ``none`` when rejected."""
    score: float
    """Score of the best target (0..1, higher is more confident)."""
    margin: float
    """Score difference to the best *different* target."""
    ambiguous: bool
    """Two different targets are too close to choose: ask a clarifying question."""
    candidates: tuple[Candidate, ...]
    """Top targets, best first (including the best even when rejected)."""
    language: str
    threshold: float
    """Rejection threshold in force for this language."""

    @property
    def kind(self) -> RouteKind:
        """Kind of the chosen target."""
        return kind_of(self.label)

    @property
    def target(self) -> str | None:
        """Department or FAQ id without prefix; None for operator and unknown."""
        if self.kind is RouteKind.FAQ:
            return self.label[len(FAQ_PREFIX) :]
        if self.kind is RouteKind.DEPARTMENT:
            return self.label
        return None

    @property
    def runner_up(self) -> Candidate | None:
        """The best candidate whose label differs from the top one."""
        return self.candidates[1] if len(self.candidates) > 1 else None
