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
from voicebot.i18n.catalogues import N_, TranslatableError
from voicebot.web.charts import Series, bar_chart, line_chart
from voicebot.web.labels import Labels

TOP_INTENTS = 6
MAX_DAYS = 366
OTHER = "other"


class DashboardQueryError(TranslatableError):
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
                raise DashboardQueryError(
                    N_("%(field)s: %(value)s is not a date (YYYY-MM-DD)"), field=name, value=text
                ) from None

        end_day = day("end", end, today)
        start_day = day("start", start, end_day - timedelta(days=29))
        if start_day > end_day:
            raise DashboardQueryError(N_("The start date must not be after the end date."))
        if (end_day - start_day).days >= MAX_DAYS:
            raise DashboardQueryError(N_("The period is limited to %(days)s days."), days=MAX_DAYS)
        if bucket not in (None, "", Bucket.DAY.value, Bucket.WEEK.value):
            raise DashboardQueryError(N_("%(value)s: choose per day or per week."), value=bucket)
        if language is not None and (len(language) > 16 or not language.isalpha()):
            raise DashboardQueryError(N_("%(value)s is not a language code."), value=language)
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


def _label(day: date, bucket: Bucket, labels: Labels) -> str:
    text = labels.loc.day(day)
    if bucket is Bucket.WEEK:
        return labels.loc.gettext("week of %(day)s") % {"day": text}
    return text


def _series_by_bucket(
    rows: list[CountRow], query: DashboardQuery, keys: list[str], labels: Labels
) -> list[Series]:
    days = query.buckets()
    index = {day: position for position, day in enumerate(days)}
    values: dict[str, list[float]] = {key: [0.0] * len(days) for key in keys}
    for row in rows:
        if row.bucket is None or row.bucket.date() not in index:
            continue
        key = row.key if row.key in values else OTHER
        if key in values:
            values[key][index[row.bucket.date()]] += row.count
    return [
        Series(
            labels.loc.gettext("Other") if key == OTHER else labels.intent(key), tuple(values[key])
        )
        for key in keys
    ]


def build_dashboard(services: ApiServices, query: DashboardQuery, labels: Labels) -> Dashboard:
    """Query the statistics (blocking: call from a worker thread) and draw the charts."""
    stats = services.stats
    start, end = query.span(stats.timezone)
    kb = services.kb_store.current()
    loc = labels.loc
    _ = loc.gettext
    language = query.language
    empty = _("No data for this period")

    totals = stats.summary(start, end, None, language=language)[0]
    per_bucket = stats.summary(start, end, query.bucket, language=language)
    axis = [_label(day, query.bucket, labels) for day in query.buckets()]

    # Turn rollups are not kept per language: the intent chart always covers them all.
    intent_rows = stats.counts(Dimension.INTENT, start, end, query.bucket)
    totals_by_intent: dict[str, int] = defaultdict(int)
    for row in intent_rows:
        totals_by_intent[row.key or ""] += row.count
    ranked = sorted(totals_by_intent, key=lambda k: (-totals_by_intent[k], k))
    keys = ranked[:TOP_INTENTS] + ([OTHER] if len(ranked) > TOP_INTENTS else [])
    intents_chart = line_chart(
        axis if keys else [],
        _series_by_bucket(intent_rows, query, keys, labels),
        title=_("Requests per intent (turns, all languages)"),
        empty_text=empty,
        y_format=loc.number,
    )

    outcome_rows = stats.counts(Dimension.OUTCOME, start, end, language=language)
    outcomes_chart = bar_chart(
        [labels.outcome(row.key) for row in outcome_rows],
        [Series(_("calls"), tuple(float(row.count) for row in outcome_rows))]
        if outcome_rows
        else [],
        title=_("Calls per outcome"),
        empty_text=empty,
        y_format=loc.number,
    )

    if language is None:
        transfers = stats.transfers_by_department(start, end)
        departments_chart = bar_chart(
            [labels.department(t.department) for t in transfers],
            [
                Series(_("calls"), tuple(float(t.calls) for t in transfers)),
                Series(_("transfers answered"), tuple(float(t.answered) for t in transfers)),
            ]
            if transfers
            else [],
            title=_("Calls and answered transfers per department"),
            empty_text=empty,
            y_format=loc.number,
        )
    else:
        rows = [
            r
            for r in stats.counts(Dimension.DEPARTMENT, start, end, language=language)
            if r.key is not None
        ]
        departments_chart = bar_chart(
            [labels.department(r.key) for r in rows],
            [Series(_("calls"), tuple(float(r.count) for r in rows))] if rows else [],
            title=_("Calls per department"),
            empty_text=empty,
            y_format=loc.number,
        )

    # Only buckets with calls: a rate of an empty day is undefined, not zero.
    with_calls = [row for row in per_bucket if row.bucket is not None and row.calls]
    contained_chart = line_chart(
        [_label(row.bucket.date(), query.bucket, labels) for row in with_calls if row.bucket],
        [
            Series(
                _("resolved by the assistant"),
                tuple(row.contained_rate or 0.0 for row in with_calls),
            )
        ]
        if with_calls
        else [],
        title=_("Share of calls resolved by the assistant alone"),
        empty_text=empty,
        y_format=loc.percent,
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
