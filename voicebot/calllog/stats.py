"""Statistics of the call log, read from the hourly rollups (SQLAlchemy Core, both dialects).

Time handling, for every query here:

* A call counts in the hour it *started*; its turns and transfers count with it.
* ``start``/``end`` must be aware datetimes; they are rounded outward to whole UTC hours
  (the rollup grain), i.e. the hours ``floor(start) <= hour < ceil(end)`` are counted.
  :meth:`CallLogStats.not_understood` reads raw turns and uses ``start <= turn < end``.
* Buckets are in the statistics' time zone (``Europe/Brussels`` unless told otherwise):
  ``hour`` buckets are the UTC hours shown in that zone (so the repeated hour of a DST
  change stays two buckets); ``day`` buckets start at local midnight and ``week`` buckets
  on Monday at local midnight, each UTC hour being counted in the local day its start falls
  in (exact for zones with whole-hour offsets, as all of Europe). Bucket keys come back as
  aware datetimes in that zone; empty buckets are omitted.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    BigInteger,
    DateTime,
    Engine,
    Float,
    case,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement

from voicebot.calllog.clustering import Embed, TextGroup, group_similar
from voicebot.calllog.models import (
    NOT_UNDERSTOOD_MAX_CONFIDENCE,
    Call,
    CallHourly,
    IntentHourly,
    RequestHourly,
    TransferHourly,
    Turn,
    TurnHourly,
    UTCDateTime,
)
from voicebot.calllog.rollups import NO_DEPARTMENT
from voicebot.calllog.rows import NOT_UNDERSTOOD_INTENT
from voicebot.records import CallOutcome, TransferStatus

DEFAULT_TIMEZONE = "Europe/Brussels"
MAX_HOURLY_RANGE = timedelta(days=14)
"""Longest range hour buckets are served for (longer series are unreadable and slow)."""
HUMAN_OUTCOMES = (CallOutcome.TRANSFERRED.value, CallOutcome.OPERATOR.value)


class Bucket(StrEnum):
    """Time bucket of a series."""

    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


class Dimension(StrEnum):
    """What to count by: turns per intent, or calls per department, outcome or language."""

    INTENT = "intent"
    DEPARTMENT = "department"
    OUTCOME = "outcome"
    LANGUAGE = "language"


@dataclass(frozen=True, slots=True)
class CountRow:
    """A count for one key (and bucket, if bucketed)."""

    bucket: datetime | None
    key: str | None
    """Intent, department (None: no department), outcome or language."""
    count: int


@dataclass(frozen=True, slots=True)
class CallStats:
    """Headline figures for a time range or one bucket of it; rates are None without calls."""

    bucket: datetime | None
    calls: int
    contained: int
    contained_rate: float | None
    """Share of calls resolved by the assistant alone, see ``rows.is_contained``."""
    transferred: int
    """Calls put through to a person: outcome ``transferred`` or ``operator``."""
    transfer_rate: float | None
    abandoned: int
    """Calls with outcome ``abandoned`` (caller hung up before a resolution)."""
    abandonment_rate: float | None
    callbacks: int
    """Calls with at least one callback request."""
    avg_handling_time_s: float | None
    """Mean ``ended_at - started_at`` over calls with an end time."""
    turns: int
    avg_asr_confidence: float | None
    """Mean ASR confidence over turns that had speech."""
    avg_turn_latency_ms: float | None


@dataclass(frozen=True, slots=True)
class DepartmentTransfers:
    """Transfers to one department (or ``operator``) over a time range."""

    department: str
    calls: int
    """Calls whose recorded department is this one."""
    share: float | None
    """``calls`` over all calls in the range."""
    attempts: int
    """Transfer attempts to this target."""
    answered: int
    """Attempts Asterisk reported as ``ANSWER``."""
    success_rate: float | None


@dataclass(frozen=True, slots=True)
class Scope:
    """Which calls a statistic covers besides its time range: every field set narrows it."""

    language: str | None = None
    """Calls in this language (the call's language)."""
    department: str | None = None
    """Calls for this department: put through to it, or asked for it while it was closed
    (``calls.department``); transfers *to* it for the transfer figures."""

    def where(self, table: Any) -> list[ColumnElement[bool]]:
        """Conditions on a rollup table with ``language`` and ``department`` columns."""
        conditions: list[ColumnElement[bool]] = []
        if self.language is not None:
            conditions.append(table.language == self.language)
        if self.department is not None:
            conditions.append(table.department == self.department)
        return conditions


ALL = Scope()


def _count_rows(
    rows: list[tuple[Any, ...]], bucket: Bucket | None, *, department_keys: bool = False
) -> list[CountRow]:
    result = [
        CountRow(
            bucket=row_bucket,
            key=None if department_keys and value == NO_DEPARTMENT else value,
            count=int(count),
        )
        for row_bucket, value, count in rows
    ]
    if bucket is None:
        result.sort(key=lambda row: (-row.count, row.key or ""))
    else:
        result.sort(key=lambda row: (row.bucket, row.key or ""))
    return result


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean(total: float, n: int) -> float | None:
    return total / n if n else None


def _check_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"statistics {name}: naive datetime {value.isoformat()}")
    if end <= start:
        raise ValueError(f"statistics range: end {end.isoformat()} is not after start")
    low = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    high = end.astimezone(UTC)
    if high != high.replace(minute=0, second=0, microsecond=0):
        high = high.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return low, high


class CallLogStats:
    """Statistics queries over one call log database; every method is one or two SELECTs."""

    def __init__(self, engine: Engine, timezone: str = DEFAULT_TIMEZONE) -> None:
        try:
            self.timezone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {timezone!r}") from None
        self.engine = engine
        self._dialect = engine.dialect.name

    # ----------------------------------------------------------- bucketing

    def _offsets(self, low: datetime, high: datetime) -> list[tuple[datetime, int]]:
        """(UTC instant from which it applies, UTC offset in seconds) over [low, high)."""

        def offset(at: datetime) -> int:
            delta = at.astimezone(self.timezone).utcoffset()
            return int(delta.total_seconds()) if delta is not None else 0

        changes = [(low, offset(low))]
        day = low
        while day < high:
            following = min(day + timedelta(days=1), high)
            # Offsets change at most a few times a year: look at hours only around a change.
            if offset(following) != changes[-1][1]:
                hour = day + timedelta(hours=1)
                while hour <= following:
                    if offset(hour) != changes[-1][1]:
                        changes.append((hour, offset(hour)))
                    hour += timedelta(hours=1)
            day = following
        return changes

    def _bucket_expr(
        self, column: Any, bucket: Bucket, low: datetime, high: datetime
    ) -> ColumnElement[Any]:
        if bucket is Bucket.HOUR:
            # Plain DateTime: the conversion to the statistics' zone happens once per bucket.
            return type_coerce(column, DateTime(timezone=True))
        if self._dialect == "postgresql":
            return func.date_trunc(str(bucket), column, self.timezone.key)
        # SQLite has no time zones: shift each UTC hour by the offset in force at that time.
        offsets = self._offsets(low, high)
        modifier: ColumnElement[Any] = literal(f"{offsets[-1][1]:+d} seconds")
        if len(offsets) > 1:
            modifier = case(
                *(
                    (column < literal(until, UTCDateTime()), f"{seconds:+d} seconds")
                    for (_, seconds), (until, _) in itertools.pairwise(offsets)
                ),
                else_=f"{offsets[-1][1]:+d} seconds",
            )
        if bucket is Bucket.DAY:
            return func.date(column, modifier)
        # Back six days then forward to the next Monday: the Monday on or before the day.
        return func.date(column, modifier, "-6 days", "weekday 1")

    def _bucket_value(self, value: Any, bucket: Bucket | None) -> datetime | None:
        if bucket is None:
            return None
        if isinstance(value, str):
            day = date.fromisoformat(value[:10])
            return datetime(day.year, day.month, day.day, tzinfo=self.timezone)
        if isinstance(value, datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=UTC)
            return moment.astimezone(self.timezone)
        raise TypeError(f"unexpected bucket value {value!r}")

    def _grouped(
        self,
        hour_column: Any,
        keys: Sequence[Any],
        measures: Sequence[Any],
        start: datetime,
        end: datetime,
        bucket: Bucket | None,
        where: Sequence[ColumnElement[bool]] = (),
    ) -> list[tuple[Any, ...]]:
        """Sum ``measures`` per (bucket, *keys) over the range and ``where``; bucket is None
        if unbucketed."""
        low, high = _check_range(start, end)
        if bucket is Bucket.HOUR and end - start > MAX_HOURLY_RANGE:
            raise ValueError(
                f"hour buckets are limited to {MAX_HOURLY_RANGE.days} days; "
                "use day or week buckets for longer ranges"
            )
        columns = [key.label(f"k{i}") for i, key in enumerate(keys)]
        if bucket is not None:
            columns.insert(0, self._bucket_expr(hour_column, bucket, low, high).label("bucket"))
        columns += [measure.label(f"m{i}") for i, measure in enumerate(measures)]
        inner = select(*columns).where(hour_column >= low, hour_column < high, *where).subquery()
        group = [inner.c[column.name] for column in columns[: len(columns) - len(measures)]]
        # Integer sums cast back to BIGINT: PostgreSQL widens them to NUMERIC (Decimal).
        sums = [
            func.sum(inner.c[f"m{i}"]).cast(
                Float if isinstance(measure.type, Float) else BigInteger
            )
            for i, measure in enumerate(measures)
        ]
        # No ORDER BY: callers sort in Python, the same way on both dialects (collations differ).
        query = select(*group, *sums).group_by(*group)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        if bucket is None:
            return [(None, *row) for row in rows]
        # Few distinct buckets, many rows: convert each bucket value once.
        converted: dict[Any, datetime | None] = {}
        result = []
        for row in rows:
            value = converted.get(row[0])
            if value is None:
                value = converted[row[0]] = self._bucket_value(row[0], bucket)
            result.append((value, *row[1:]))
        return result

    # --------------------------------------------------------------- queries

    def counts(
        self,
        dimension: Dimension,
        start: datetime,
        end: datetime,
        bucket: Bucket | None = None,
        *,
        scope: Scope = ALL,
    ) -> list[CountRow]:
        """Turns per intent, or calls per department/outcome/language, per bucket.

        Unbucketed results are sorted by decreasing count then key, bucketed ones by bucket
        then key (None, for calls without department, first).
        """
        dimension = Dimension(dimension)
        table: Any = CallHourly
        measure: Any = CallHourly.calls
        if dimension is Dimension.INTENT:
            # Unfiltered counts by intent read the small all-languages rollup.
            table = TurnHourly if scope != ALL else IntentHourly
            measure = table.turns
        rows = self._grouped(
            table.hour_bucket,
            [getattr(table, str(dimension))],
            [measure],
            start,
            end,
            bucket,
            scope.where(table),
        )
        return _count_rows(rows, bucket, department_keys=dimension is Dimension.DEPARTMENT)

    def requests(
        self,
        start: datetime,
        end: datetime,
        bucket: Bucket | None = None,
        *,
        scope: Scope = ALL,
    ) -> list[CountRow]:
        """Calls per thing asked for (FAQ entry, department, operator), each call counted
        once per request however many turns it took; dialog acts and turns not understood
        are not requests (see :mod:`voicebot.calllog.intents`)."""
        rows = self._grouped(
            RequestHourly.hour_bucket,
            [RequestHourly.request],
            [RequestHourly.calls],
            start,
            end,
            bucket,
            scope.where(RequestHourly),
        )
        return _count_rows(rows, bucket)

    def summary(
        self,
        start: datetime,
        end: datetime,
        bucket: Bucket | None = None,
        *,
        scope: Scope = ALL,
    ) -> list[CallStats]:
        """Headline figures over the range (one item) or per bucket (one item per bucket)."""
        calls = CallHourly.calls
        call_rows = self._grouped(
            CallHourly.hour_bucket,
            [],
            [
                calls,
                CallHourly.contained,
                case((CallHourly.outcome.in_(HUMAN_OUTCOMES), calls), else_=0),
                case((CallHourly.outcome == CallOutcome.ABANDONED.value, calls), else_=0),
                CallHourly.callbacks,
                CallHourly.duration_sum_s,
                CallHourly.duration_n,
                CallHourly.turns,
                CallHourly.asr_confidence_sum,
                CallHourly.asr_confidence_n,
                CallHourly.latency_sum_ms,
                CallHourly.latency_n,
            ],
            start,
            end,
            bucket,
            scope.where(CallHourly),
        )
        call_sums = {row[0]: [float(v or 0) for v in row[1:]] for row in call_rows}
        keys: list[datetime | None] = [None]
        if bucket is not None:
            keys = sorted(key for key, sums in call_sums.items() if key is not None and sums[0])
        result = []
        for key in keys:
            sums = call_sums.get(key, [0.0] * 12)
            calls_n, contained, human, abandoned, callbacks, dur_sum, dur_n, turns = sums[:8]
            conf_sum, conf_n, lat_sum, lat_n = sums[8:]
            result.append(
                CallStats(
                    bucket=key,
                    calls=int(calls_n),
                    contained=int(contained),
                    contained_rate=_rate(int(contained), int(calls_n)),
                    transferred=int(human),
                    transfer_rate=_rate(int(human), int(calls_n)),
                    abandoned=int(abandoned),
                    abandonment_rate=_rate(int(abandoned), int(calls_n)),
                    callbacks=int(callbacks),
                    avg_handling_time_s=_mean(dur_sum, int(dur_n)),
                    turns=int(turns),
                    avg_asr_confidence=_mean(conf_sum, int(conf_n)),
                    avg_turn_latency_ms=_mean(lat_sum, int(lat_n)),
                )
            )
        return result

    def transfers_by_department(
        self, start: datetime, end: datetime, *, scope: Scope = ALL
    ) -> list[DepartmentTransfers]:
        """Per department: calls sent there, their share of all calls, and dial outcomes."""
        language_only = Scope(language=scope.language)
        call_rows = self._grouped(
            CallHourly.hour_bucket,
            [CallHourly.department],
            [CallHourly.calls],
            start,
            end,
            None,
            language_only.where(CallHourly),
        )
        transfer_where = language_only.where(TransferHourly)
        if scope.department is not None:
            transfer_where.append(TransferHourly.target == scope.department)
        transfer_rows = self._grouped(
            TransferHourly.hour_bucket,
            [TransferHourly.target],
            [
                TransferHourly.attempts,
                case(
                    (
                        TransferHourly.dial_status == TransferStatus.ANSWER.value,
                        TransferHourly.attempts,
                    ),
                    else_=0,
                ),
            ],
            start,
            end,
            None,
            transfer_where,
        )
        total = sum(int(count) for _, _, count in call_rows)
        calls = {dept: int(count) for _, dept, count in call_rows if dept != NO_DEPARTMENT}
        if scope.department is not None:
            calls = {d: n for d, n in calls.items() if d == scope.department}
        dials: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
        for _, target, attempts, answered in transfer_rows:
            dials[target] = (int(attempts), int(answered))
        result = [
            DepartmentTransfers(
                department=department,
                calls=calls.get(department, 0),
                share=_rate(calls.get(department, 0), total),
                attempts=dials[department][0],
                answered=dials[department][1],
                success_rate=_rate(dials[department][1], dials[department][0]),
            )
            for department in set(calls) | set(dials)
        ]
        return sorted(result, key=lambda d: (-d.calls, -d.attempts, d.department))

    def not_understood(
        self,
        start: datetime,
        end: datetime,
        embed: Embed,
        *,
        threshold: float = 0.8,
        low_confidence: float = NOT_UNDERSTOOD_MAX_CONFIDENCE,
        limit: int = 10,
        examples: int = 3,
        max_texts: int = 1000,
        scope: Scope = ALL,
    ) -> list[TextGroup]:
        """The most frequent questions the assistant did not understand, similar ones grouped.

        A turn is *not understood* when its intent is ``none`` or its ASR confidence is below
        ``low_confidence``, and it has a (not purged, non-empty) transcript. Thresholds up to
        ``NOT_UNDERSTOOD_MAX_CONFIDENCE`` (0.5) are served by a partial index; higher ones
        scan the turns of the range. The ``max_texts``
        most frequent distinct transcripts in ``start <= started_at < end`` are embedded with
        ``embed`` and grouped greedily at cosine ``threshold``
        (see :func:`voicebot.calllog.clustering.group_similar`); the ``limit`` largest groups
        are returned. ``scope`` narrows to questions in a language (the turn's) and to the
        calls for a department.
        """
        for name, value in (("start", start), ("end", end)):
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"statistics {name}: naive datetime {value.isoformat()}")
        if not math.isfinite(low_confidence) or not 0.0 <= low_confidence <= 1.0:
            raise ValueError(f"low_confidence {low_confidence!r} is outside 0..1")
        if not 1 <= max_texts <= 20_000 or limit < 1:
            raise ValueError("not_understood needs 1 <= max_texts <= 20000 and limit >= 1")
        count = func.count().label("n")
        query = (
            select(Turn.transcript, count)
            .where(
                Turn.started_at >= start,
                Turn.started_at < end,
                Turn.transcript.is_not(None),
                Turn.transcript != "",
                # Literal values let PostgreSQL match the partial index ix_turns_not_understood.
                (Turn.intent == literal(NOT_UNDERSTOOD_INTENT, literal_execute=True))
                | (Turn.asr_confidence < literal(float(low_confidence), literal_execute=True)),
            )
            .group_by(Turn.transcript)
            .order_by(count.desc(), Turn.transcript)
            .limit(max_texts)
        )
        # The question's own language (the turn's): no join with the calls for it.
        if scope.language is not None:
            query = query.where(Turn.language == scope.language)
        if scope.department is not None:
            query = query.join(Call, Turn.call_pk == Call.id).where(
                Call.department == scope.department
            )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        texts = [str(row[0]) for row in rows]
        counts = [int(row[1]) for row in rows]
        groups = group_similar(texts, counts, embed, threshold=threshold, examples=examples)
        return groups[:limit]
