"""Filters and sort orders of the calls list, turned into SQL conditions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from voicebot.calllog.models import Call, Turn
from voicebot.calllog.search import search_key, text_condition
from voicebot.records import CallOutcome

SORT_COLUMNS: dict[str, Any] = {
    "started_at": Call.started_at,
    "duration": Call.duration_s,
    "turn_count": Call.turn_count,
    "asr_confidence": Call.asr_confidence_mean,
    "outcome": Call.outcome,
    "department": Call.department,
    "language": Call.language,
}
"""Sort keys the API may pass (``-`` prefix for descending); anything else is refused."""

DEFAULT_SORT = "-started_at"
MAX_TEXT_LENGTH = 200


def _aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"filter {name}: naive datetime {value.isoformat()} (must be aware)")


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Which calls to list; every field set narrows the result (they are ANDed)."""

    start: datetime | None = None
    """Calls that started at or after this instant."""
    end: datetime | None = None
    """Calls that started strictly before this instant."""
    outcome: CallOutcome | None = None
    outcomes: tuple[CallOutcome, ...] = ()
    """Calls with any of these outcomes (with ``outcome``: both must hold)."""
    department: str | None = None
    intent: str | None = None
    """Calls with at least one turn routed to this intent."""
    language: str | None = None
    min_confidence: float | None = None
    """Mean ASR confidence of the call at least this (calls without speech never match)."""
    max_confidence: float | None = None
    """Mean ASR confidence of the call at most this."""
    text: str | None = None
    """Said by the caller, accents and case ignored (:mod:`voicebot.calllog.search`)."""
    contained: bool | None = None
    """Resolved by the assistant alone (True) or not (False)."""
    has_callback: bool | None = None
    """With at least one callback request (True) or none (False)."""

    def __post_init__(self) -> None:
        _aware("start", self.start)
        _aware("end", self.end)
        for outcome in (self.outcome, *self.outcomes):
            if outcome is None:
                continue
            try:
                CallOutcome(outcome)
            except ValueError:
                raise ValueError(f"filter outcome: unknown outcome {outcome!r}") from None
        for name in ("min_confidence", "max_confidence"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ValueError(f"filter {name}: {value!r} is outside 0..1")
        if self.text is not None and not 0 < len(self.text) <= MAX_TEXT_LENGTH:
            raise ValueError(f"filter text: length must be 1..{MAX_TEXT_LENGTH} characters")
        if self.text is not None and "\x00" not in self.text and not search_key(self.text):
            raise ValueError("filter text: nothing to search for (only spaces or accents)")
        for name in ("department", "intent", "language", "text"):
            value = getattr(self, name)
            # PostgreSQL refuses NUL in text parameters; no stored value can contain one.
            if value is not None and "\x00" in value:
                raise ValueError(f"filter {name}: contains a NUL character")

    def conditions(self, dialect: str) -> list[ColumnElement[bool]]:
        """SQL conditions on ``calls`` (and correlated ``turns``) for this filter, on the
        database ``dialect`` (``sqlite`` or ``postgresql``: text search differs)."""
        conditions: list[ColumnElement[bool]] = []
        if self.start is not None:
            conditions.append(Call.started_at >= self.start)
        if self.end is not None:
            conditions.append(Call.started_at < self.end)
        if self.outcome is not None:
            conditions.append(Call.outcome == str(self.outcome))
        if self.outcomes:
            conditions.append(Call.outcome.in_([str(o) for o in self.outcomes]))
        if self.contained is not None:
            conditions.append(Call.contained.is_(self.contained))
        if self.has_callback is not None:
            conditions.append(
                Call.callback_count > 0 if self.has_callback else Call.callback_count == 0
            )
        if self.department is not None:
            conditions.append(Call.department == self.department)
        if self.language is not None:
            conditions.append(Call.language == self.language)
        if self.min_confidence is not None:
            conditions.append(Call.asr_confidence_mean >= self.min_confidence)
        if self.max_confidence is not None:
            conditions.append(Call.asr_confidence_mean <= self.max_confidence)
        # An alias of turns: the turns export selects from turns itself, and EXISTS over
        # the same table would correlate away its only FROM.
        turn = aliased(Turn)
        if self.intent is not None:
            # A semi-join PostgreSQL serves from ix_turns_intent_call_pk alone.
            conditions.append(Call.id.in_(select(turn.call_pk).where(turn.intent == self.intent)))
        if self.text is not None:
            conditions.append(text_condition(dialect, self.text))
        return conditions


def order_by(sort: str) -> list[Any]:
    """ORDER BY clauses for a whitelisted sort key, with the primary key as tie-breaker."""
    descending = sort.startswith("-")
    key = sort[1:] if descending else sort
    column = SORT_COLUMNS.get(key)
    if column is None:
        raise ValueError(f"sort {sort!r}: must be one of {', '.join(sorted(SORT_COLUMNS))}")
    ordered = column.desc() if descending else column.asc()
    # NULLS LAST only where NULLs exist: on a NOT NULL column it would stop PostgreSQL from
    # reading the (started_at, id) index backwards for the default newest-first page.
    if Call.__table__.c[column.key].nullable:
        ordered = ordered.nulls_last()
    return [ordered, Call.id.desc() if descending else Call.id.asc()]
