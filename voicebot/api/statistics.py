"""Statistics per language, on top of :class:`~voicebot.calllog.stats.CallLogStats`.

The call rollups (``call_hourly``) are kept per language, the turn rollups are not. A
language filter is therefore served for call figures (counts by department, outcome or
language; the call side of the summary) by summing only that language's rollup rows, and
refused for turn figures (counts by intent); the summary's turn averages (ASR confidence,
latency) are left out (null) when filtered by language.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case

from voicebot.calllog.models import CallHourly
from voicebot.calllog.records import CallOutcome
from voicebot.calllog.rollups import NO_DEPARTMENT
from voicebot.calllog.stats import (
    HUMAN_OUTCOMES,
    Bucket,
    CallLogStats,
    CallStats,
    CountRow,
    Dimension,
)


class LanguageFilterError(ValueError):
    """The statistic asked for is not kept per language."""


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def counts(
    stats: CallLogStats,
    dimension: Dimension,
    start: datetime,
    end: datetime,
    bucket: Bucket | None,
    language: str | None,
) -> list[CountRow]:
    """Like :meth:`CallLogStats.counts`, restricted to calls in ``language`` when given."""
    if language is None:
        return stats.counts(dimension, start, end, bucket)
    if dimension is Dimension.INTENT:
        raise LanguageFilterError(
            "counts by intent cannot be filtered by language (turn statistics are not kept "
            "per language); use dimension department, outcome or language"
        )
    key = getattr(CallHourly, str(dimension))
    measure = case((CallHourly.language == language, CallHourly.calls), else_=0)
    rows = stats._grouped(CallHourly.hour_bucket, [key], [measure], start, end, bucket)
    result = [
        CountRow(
            bucket=row_bucket,
            key=None if dimension is Dimension.DEPARTMENT and value == NO_DEPARTMENT else value,
            count=int(count),
        )
        for row_bucket, value, count in rows
        if count
    ]
    if bucket is None:
        result.sort(key=lambda row: (-row.count, row.key or ""))
    else:
        result.sort(key=lambda row: (row.bucket, row.key or ""))
    return result


def summary(
    stats: CallLogStats,
    start: datetime,
    end: datetime,
    bucket: Bucket | None,
    language: str | None,
) -> list[CallStats]:
    """Like :meth:`CallLogStats.summary`, restricted to calls in ``language`` when given."""
    if language is None:
        return stats.summary(start, end, bucket)
    same = CallHourly.language == language

    def only(value: Any, condition: Any = same) -> Any:
        return case((condition, value), else_=0)

    rows = stats._grouped(
        CallHourly.hour_bucket,
        [],
        [
            only(CallHourly.calls),
            only(CallHourly.contained),
            only(CallHourly.calls, and_(same, CallHourly.outcome.in_(HUMAN_OUTCOMES))),
            only(CallHourly.calls, and_(same, CallHourly.outcome == CallOutcome.ABANDONED.value)),
            only(CallHourly.callbacks),
            only(CallHourly.duration_sum_s),
            only(CallHourly.duration_n),
            only(CallHourly.turns),
        ],
        start,
        end,
        bucket,
    )
    sums = {row[0]: [float(v or 0) for v in row[1:]] for row in rows}
    keys: list[datetime | None] = (
        [None] if bucket is None else sorted(k for k, v in sums.items() if k and v[0])
    )
    result = []
    for key in keys:
        calls, contained, human, abandoned, callbacks, dur_sum, dur_n, turns = sums.get(
            key, [0.0] * 8
        )
        result.append(
            CallStats(
                bucket=key,
                calls=int(calls),
                contained=int(contained),
                contained_rate=_rate(int(contained), int(calls)),
                transferred=int(human),
                transfer_rate=_rate(int(human), int(calls)),
                abandoned=int(abandoned),
                abandonment_rate=_rate(int(abandoned), int(calls)),
                callbacks=int(callbacks),
                avg_handling_time_s=dur_sum / dur_n if dur_n else None,
                turns=int(turns),
                avg_asr_confidence=None,
                avg_turn_latency_ms=None,
            )
        )
    return result
