"""What the learning loop reads from the call log: decisions taken with a low margin, and
operators' routing corrections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Row, and_, func, insert, not_, or_, select, update

from voicebot.calllog.intents import DIALOG_ACT_PREFIXES, DIALOG_ACTS, NOT_UNDERSTOOD
from voicebot.calllog.models import Call, Turn
from voicebot.calllog.rows import utc_now
from voicebot.calllog.staff_models import (
    CORRECTION_STATUSES,
    LOW_MARGIN_INDEX_LIMIT,
    RoutingCorrection,
)

MAX_ROWS = 500


class CorrectionNotFoundError(LookupError):
    """No routing correction has this id."""


@dataclass(frozen=True, slots=True)
class LowMarginTurn:
    """A request the router decided with little margin over the runner-up."""

    call_id: str
    started_at: datetime
    language: str
    transcript: str
    intent: str
    score: float | None
    margin: float


@dataclass(frozen=True, slots=True)
class Correction:
    """An operator's "should have been X" on a transferred call."""

    id: int
    created_at: datetime
    actor: str
    call_id: str | None
    language: str | None
    routed_to: str | None
    should_be: str
    phrases: tuple[str, ...]
    status: str
    handled_by: str | None
    handled_at: datetime | None


def _request_intent() -> ColumnElement[bool]:
    """SQL condition: the turn's intent is a request (not a dialog act, not none)."""
    return and_(
        Turn.intent != NOT_UNDERSTOOD,
        Turn.intent.not_in(sorted(DIALOG_ACTS)),
        not_(or_(*(Turn.intent.startswith(prefix) for prefix in DIALOG_ACT_PREFIXES))),
    )


class LearningQueries:
    """Reads and writes of the learning loop."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def low_margin_turns(
        self, start: datetime, end: datetime, *, max_margin: float, limit: int = 100
    ) -> list[LowMarginTurn]:
        """Requests (with a transcript) decided with ``margin < max_margin``, newest first."""
        if not 0 < max_margin <= LOW_MARGIN_INDEX_LIMIT:
            raise ValueError(f"max_margin: must be in (0, {LOW_MARGIN_INDEX_LIMIT}]")
        if not 1 <= limit <= MAX_ROWS:
            raise ValueError(f"limit: must be 1..{MAX_ROWS}")
        query = (
            select(
                Call.call_id,
                Turn.started_at,
                Turn.language,
                Turn.transcript,
                Turn.intent,
                Turn.score,
                Turn.margin,
            )
            .join(Call, Call.id == Turn.call_pk)
            .where(
                Turn.started_at >= start,
                Turn.started_at < end,
                Turn.margin < LOW_MARGIN_INDEX_LIMIT,  # lets the partial index serve
                Turn.margin < max_margin,
                Turn.transcript.is_not(None),
                _request_intent(),
            )
            .order_by(Turn.started_at.desc(), Turn.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [LowMarginTurn(**row._asdict()) for row in connection.execute(query)]

    def add_correction(
        self,
        *,
        actor: str,
        call_id: str | None,
        language: str | None,
        routed_to: str | None,
        should_be: str,
        phrases: list[str],
        now: datetime | None = None,
    ) -> Correction:
        """Record an operator's correction (open until a KB editor applies or dismisses it)."""
        with self.engine.begin() as connection:
            new_id = connection.execute(
                insert(RoutingCorrection)
                .values(
                    created_at=now or utc_now(),
                    actor=actor[:128],
                    call_id=call_id,
                    language=language,
                    routed_to=routed_to,
                    should_be=should_be,
                    phrases=phrases,
                    status="open",
                )
                .returning(RoutingCorrection.id)
            ).scalar_one()
        return self.correction(int(new_id))

    def correction(self, correction_id: int) -> Correction:
        """One correction; :class:`CorrectionNotFoundError` if none has this id."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(RoutingCorrection).where(RoutingCorrection.id == correction_id)
            ).first()
        if row is None:
            raise CorrectionNotFoundError(f"no routing correction with id {correction_id}")
        return _correction(row)

    def corrections(
        self, status: str | None = "open", *, limit: int = 100, offset: int = 0
    ) -> tuple[list[Correction], int]:
        """Corrections, newest first (``status`` None: all), and how many match."""
        conditions: list[ColumnElement[bool]] = (
            [] if status is None else [RoutingCorrection.status == status]
        )
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(RoutingCorrection)
                .where(*conditions)
                .order_by(RoutingCorrection.created_at.desc(), RoutingCorrection.id.desc())
                .limit(limit)
                .offset(offset)
            ).all()
            total = connection.execute(
                select(func.count()).select_from(RoutingCorrection).where(*conditions)
            ).scalar_one()
        return [_correction(row) for row in rows], int(total)

    def close_correction(
        self, correction_id: int, status: str, actor: str, *, now: datetime | None = None
    ) -> Correction:
        """Mark a correction applied (its phrase was added) or dismissed."""
        if status not in CORRECTION_STATUSES or status == "open":
            raise ValueError("status: must be applied or dismissed")
        self.correction(correction_id)
        with self.engine.begin() as connection:
            connection.execute(
                update(RoutingCorrection)
                .where(RoutingCorrection.id == correction_id)
                .values(status=status, handled_by=actor[:128], handled_at=now or utc_now())
            )
        return self.correction(correction_id)


def _correction(row: Row[Any]) -> Correction:
    values = row._asdict()
    values["phrases"] = tuple(str(p) for p in values.get("phrases") or ())
    return Correction(**values)
