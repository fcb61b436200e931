"""The manager dashboard's content: figures and charts for a date range and language."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup

from voicebot.api.services import ApiServices
from voicebot.calllog.clustering import TextGroup
from voicebot.calllog.stats import Bucket, CallStats, CountRow, Dimension
from voicebot.web.charts import Series, bar_chart, format_percent, line_chart

TOP_INTENTS = 6
MAX_DAYS = 366
OTHER = "other"


class DashboardQueryError(ValueError):
    """A dashboard filter is wrong; the message names it."""


@dataclass(frozen=True, slots=True)
class DashboardQuery:
    """The dashboard's filters: inclusive local dates, language, bucket."""

    start: date
    end: date
    language: str | None
    bucket: Bucket

    @classmethod
    def parse(
        cls,
        today: date,
        start: str | None,
        end: str | None,
        language: str | None,
        bucket: str | None,
    ) -> DashboardQuery:
        """From the query string; defaults: the last 30 days, all languages, per day."""

        def day(name: str, text: str | None, default: date) -> date:
            if not text:
                return default
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise DashboardQueryError(f"{name}: {text!r} is not a date (YYYY-MM-DD)") from None

        end_day = day("end", end, today)
        start_day = day("start", start, end_day - timedelta(days=29))
        if start_day > end_day:
            raise DashboardQueryError("start: must not be after end")
        if (end_day - start_day).days >= MAX_DAYS:
            raise DashboardQueryError(f"the range is limited to {MAX_DAYS} days")
        if bucket not in (None, "", Bucket.DAY.value, Bucket.WEEK.value):
            raise DashboardQueryError(f"bucket: {bucket!r} must be day or week")
        if language is not None and (len(language) > 16 or not language.isalpha()):
            raise DashboardQueryError(f"language: {language!r} is not a language code")
        return cls(start_day, end_day, language or None, Bucket(bucket or Bucket.DAY.value))

    def span(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """Local midnight of ``start`` to local midnight after ``end``."""
        low = datetime(self.start.year, self.start.month, self.start.day, tzinfo=zone)
        after = self.end + timedelta(days=1)
        return low, datetime(after.year, after.month, after.day, tzinfo=zone)

    def buckets(self) -> list[date]:
        """Every bucket start of the range, empty ones included."""
        first = self.start
        step = timedelta(days=1)
        if self.bucket is Bucket.WEEK:
            first = self.start - timedelta(days=self.start.weekday())
            step = timedelta(days=7)
        result = []
        while first <= self.end:
            result.append(first)
            first += step
        return result


@dataclass(frozen=True, slots=True)
class Dashboard:
    """Everything the dashboard template shows."""

    query: DashboardQuery
    summary: CallStats
    intents_chart: Markup
    outcomes_chart: Markup
    departments_chart: Markup
    contained_chart: Markup
    not_understood: list[TextGroup] | None
    """None when no embedder is configured."""
    languages: tuple[str, ...]


def _label(day: date, bucket: Bucket) -> str:
    return f"{day:%d/%m}" if bucket is Bucket.DAY else f"{day:%d/%m} wk"


def _series_by_bucket(rows: list[CountRow], query: DashboardQuery, keys: list[str]) -> list[Series]:
    days = query.buckets()
    index = {day: position for position, day in enumerate(days)}
    values: dict[str, list[float]] = {key: [0.0] * len(days) for key in keys}
    for row in rows:
        if row.bucket is None or row.bucket.date() not in index:
            continue
        key = row.key if row.key in values else OTHER
        if key in values:
            values[key][index[row.bucket.date()]] += row.count
    return [Series(key, tuple(values[key])) for key in keys]


def build_dashboard(services: ApiServices, query: DashboardQuery) -> Dashboard:
    """Query the statistics (blocking: call from a worker thread) and draw the charts."""
    stats = services.stats
    start, end = query.span(stats.timezone)
    kb = services.kb_store.current()
    language = query.language
    names = {d.id: d.name.get(kb.city.default_language, d.id) for d in kb.departments}
    names["operator"] = kb.operator.name.get(kb.city.default_language, "operator")

    totals = stats.summary(start, end, None, language=language)[0]
    per_bucket = stats.summary(start, end, query.bucket, language=language)
    labels = [_label(day, query.bucket) for day in query.buckets()]

    # Turn rollups are not kept per language: the intent chart always covers them all.
    intent_rows = stats.counts(Dimension.INTENT, start, end, query.bucket)
    totals_by_intent: dict[str, int] = defaultdict(int)
    for row in intent_rows:
        totals_by_intent[row.key or ""] += row.count
    ranked = sorted(totals_by_intent, key=lambda k: (-totals_by_intent[k], k))
    keys = ranked[:TOP_INTENTS] + ([OTHER] if len(ranked) > TOP_INTENTS else [])
    intents_chart = line_chart(
        labels if keys else [],
        _series_by_bucket(intent_rows, query, keys),
        title="Requests per intent (turns, all languages)",
    )

    outcome_rows = stats.counts(Dimension.OUTCOME, start, end, language=language)
    outcomes_chart = bar_chart(
        [row.key or "" for row in outcome_rows],
        [Series("calls", tuple(float(row.count) for row in outcome_rows))] if outcome_rows else [],
        title="Calls per outcome",
    )

    if language is None:
        transfers = [t for t in stats.transfers_by_department(start, end)]
        departments_chart = bar_chart(
            [names.get(t.department, t.department) for t in transfers],
            [
                Series("calls", tuple(float(t.calls) for t in transfers)),
                Series("transfers answered", tuple(float(t.answered) for t in transfers)),
            ]
            if transfers
            else [],
            title="Calls and answered transfers per department",
        )
    else:
        rows = [
            r
            for r in stats.counts(Dimension.DEPARTMENT, start, end, language=language)
            if r.key is not None
        ]
        departments_chart = bar_chart(
            [names.get(r.key or "", r.key or "") for r in rows],
            [Series("calls", tuple(float(r.count) for r in rows))] if rows else [],
            title="Calls per department",
        )

    # Only buckets with calls: a rate of an empty day is undefined, not zero.
    with_calls = [row for row in per_bucket if row.bucket is not None and row.calls]
    contained_chart = line_chart(
        [_label(row.bucket.date(), query.bucket) for row in with_calls if row.bucket],
        [Series("contained resolution", tuple(row.contained_rate or 0.0 for row in with_calls))]
        if with_calls
        else [],
        title="Share of calls resolved by the assistant alone",
        y_format=format_percent,
        y_max=1.0,
    )

    groups: list[TextGroup] | None = None
    embedder = services.embedder
    if embedder is not None:
        groups = stats.not_understood(start, end, lambda texts: embedder.embed(texts), limit=10)

    return Dashboard(
        query=query,
        summary=totals,
        intents_chart=intents_chart,
        outcomes_chart=outcomes_chart,
        departments_chart=departments_chart,
        contained_chart=contained_chart,
        not_understood=groups,
        languages=kb.city.languages,
    )
