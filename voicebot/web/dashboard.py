"""The manager dashboard's content: figures, charts and their tables, for one set of filters.

Every panel follows the same filters (period, language, department) and links to the calls
behind each figure on the calls page.
"""

from __future__ import annotations

import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup

from voicebot.api.services import ApiServices
from voicebot.calllog.clustering import TextGroup
from voicebot.calllog.intents import IntentKind, intent_kind
from voicebot.calllog.stats import (
    Bucket,
    CallStats,
    CountRow,
    DepartmentTransfers,
    Dimension,
    Scope,
)
from voicebot.i18n.catalogues import N_, TranslatableError
from voicebot.i18n.labels import Labels
from voicebot.web.charts import Series, bar_chart, hbar_chart, line_chart

TOP_REQUESTS = 12
MAX_DAYS = 366


class DashboardQueryError(TranslatableError):
    """A dashboard filter is wrong; the message names it."""


def _day(name: str, text: str | None, default: date) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DashboardQueryError(
            N_("%(field)s: %(value)s is not a date (YYYY-MM-DD)"), field=name, value=text
        ) from None


def _code(name: str, value: str | None, limit: int) -> str | None:
    if not value:
        return None
    if len(value) > limit or not all(c.isalnum() or c in "-_:." for c in value):
        raise DashboardQueryError(
            N_("%(field)s: %(value)s is not a valid code"), field=name, value=value
        )
    return value


@dataclass(frozen=True, slots=True)
class DashboardQuery:
    """The dashboard's filters: inclusive local dates, language, department, bucket."""

    start: date
    end: date
    language: str | None = None
    department: str | None = None
    bucket: Bucket = Bucket.DAY

    @classmethod
    def parse(
        cls,
        today: date,
        start: str | None,
        end: str | None,
        language: str | None,
        bucket: str | None,
        department: str | None = None,
    ) -> DashboardQuery:
        """From the query string; defaults: the last 30 days, all languages and departments,
        per day."""
        end_day = _day("end", end, today)
        start_day = _day("start", start, end_day - timedelta(days=29))
        if start_day > end_day:
            raise DashboardQueryError(N_("The start date must not be after the end date."))
        if (end_day - start_day).days >= MAX_DAYS:
            raise DashboardQueryError(N_("The period is limited to %(days)s days."), days=MAX_DAYS)
        if bucket not in (None, "", Bucket.DAY.value, Bucket.WEEK.value):
            raise DashboardQueryError(N_("%(value)s: choose per day or per week."), value=bucket)
        if language and (len(language) > 16 or not language.isalpha()):
            raise DashboardQueryError(N_("%(value)s is not a language code."), value=language)
        return cls(
            start_day,
            end_day,
            language or None,
            _code("department", department, 64),
            Bucket(bucket or Bucket.DAY.value),
        )

    @property
    def scope(self) -> Scope:
        """The statistics' language and department filter."""
        return Scope(language=self.language, department=self.department)

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

    def params(self) -> list[tuple[str, str]]:
        """The filters as query parameters (shared by the dashboard, CSV and calls links)."""
        pairs = [("start", self.start.isoformat()), ("end", self.end.isoformat())]
        if self.language:
            pairs.append(("language", self.language))
        if self.department:
            pairs.append(("department", self.department))
        return pairs

    def calls_url(
        self, *extra: tuple[str, str], start: date | None = None, end: date | None = None
    ) -> str:
        """The calls page with these filters (a narrower period if given) and ``extra``."""
        narrowed = replace(self, start=start or self.start, end=end or self.end)
        return "/calls?" + urllib.parse.urlencode([*narrowed.params(), *extra])


@dataclass(frozen=True, slots=True)
class Cell:
    """One table cell: text, optionally a link to the calls behind it."""

    text: str
    href: str | None = None
    number: bool = False


@dataclass(frozen=True, slots=True)
class DataTable:
    """A chart's numbers as a table (its text alternative)."""

    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True, slots=True)
class Panel:
    """One chart with its table."""

    id: str
    heading: str
    chart: Markup
    table: DataTable
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Figure:
    """A headline figure, linked to its calls."""

    id: str
    value: str
    label: str
    href: str


@dataclass(frozen=True, slots=True)
class QuestionGroup:
    """A group of not-understood questions with the link to its calls."""

    group: TextGroup
    href: str


@dataclass(frozen=True, slots=True)
class Dashboard:
    """Everything the dashboard template shows."""

    query: DashboardQuery
    summary: CallStats
    figures: tuple[Figure, ...]
    panels: tuple[Panel, ...]
    dialog_acts: DataTable
    not_understood: tuple[QuestionGroup, ...] | None
    """None when no embedder is configured."""
    languages: tuple[str, ...]
    departments: tuple[tuple[str, str], ...]
    """(id, name) of the departments to filter by, the operator desk last."""
    csv_url: str = field(default="")


def _bucket_label(day: date, bucket: Bucket, labels: Labels) -> str:
    text = labels.loc.day(day)
    if bucket is Bucket.WEEK:
        return labels.loc.gettext("week of %(day)s") % {"day": text}
    return text


def _bucket_end(day: date, query: DashboardQuery) -> date:
    return min(query.end, day + timedelta(days=6)) if query.bucket is Bucket.WEEK else day


def _figures(query: DashboardQuery, s: CallStats, labels: Labels) -> tuple[Figure, ...]:
    loc, _ = labels.loc, labels.loc.gettext
    return (
        Figure("kpi-calls", loc.number(s.calls), _("calls"), query.calls_url()),
        Figure(
            "kpi-contained",
            loc.percent(s.contained_rate),
            _("resolved by the assistant"),
            query.calls_url(("contained", "yes")),
        ),
        Figure(
            "kpi-transferred",
            loc.percent(s.transfer_rate),
            _("put through to a person"),
            query.calls_url(("outcome", "transferred"), ("outcome", "operator")),
        ),
        Figure(
            "kpi-abandoned",
            loc.percent(s.abandonment_rate),
            _("hung up before a resolution"),
            query.calls_url(("outcome", "abandoned")),
        ),
        Figure(
            "kpi-duration",
            loc.seconds(s.avg_handling_time_s),
            _("average call length"),
            query.calls_url(("sort", "-duration")),
        ),
        Figure(
            "kpi-callbacks",
            loc.number(s.callbacks),
            _("callback requests"),
            query.calls_url(("callback", "yes")),
        ),
    )


def _requests_panel(rows: list[CountRow], query: DashboardQuery, labels: Labels) -> Panel:
    _ = labels.loc.gettext
    top = rows[:TOP_REQUESTS]
    names = [labels.intent(row.key) for row in top]
    links = [query.calls_url(("intent", row.key or "")) for row in top]
    chart = hbar_chart(
        names,
        Series(_("calls"), tuple(float(row.count) for row in top)),
        title=_("Top requests: calls that asked for each"),
        x_format=labels.loc.number,
        empty_text=_("No data for this period"),
        links=links,
    )
    table = DataTable(
        _("Calls per request"),
        (_("Request"), _("Calls")),
        tuple(
            (Cell(name, href), Cell(labels.loc.number(row.count), number=True))
            for name, href, row in zip(names, links, top, strict=True)
        ),
    )
    notes = [
        _("Each call counts once per thing it asked for, however many times it asked."),
    ]
    if len(rows) > TOP_REQUESTS:
        others = len(rows) - TOP_REQUESTS
        notes.append(
            labels.loc.ngettext(
                "%(count)s other request is on the calls page.",
                "%(count)s other requests are on the calls page.",
                others,
            )
            % {"count": others}
        )
    return Panel("chart-requests", _("Top requests"), chart, table, tuple(notes))


def _dialog_acts(rows: list[CountRow], query: DashboardQuery, labels: Labels) -> DataTable:
    _ = labels.loc.gettext
    acts = [row for row in rows if row.key and intent_kind(row.key) is not IntentKind.REQUEST]
    return DataTable(
        _("Turns that were not requests"),
        (_("Turn"), _("Turns")),
        tuple(
            (
                Cell(labels.intent(row.key), query.calls_url(("intent", row.key or ""))),
                Cell(labels.loc.number(row.count), number=True),
            )
            for row in acts
        ),
    )


def _contained_panel(per_bucket: list[CallStats], query: DashboardQuery, labels: Labels) -> Panel:
    loc, _ = labels.loc, labels.loc.gettext
    # Only buckets with calls: a rate of an empty day is undefined, not zero.
    rows = [row for row in per_bucket if row.bucket is not None and row.calls]
    days = [row.bucket.date() for row in rows if row.bucket is not None]
    names = [_bucket_label(day, query.bucket, labels) for day in days]
    links = [query.calls_url(start=day, end=_bucket_end(day, query)) for day in days]
    chart = line_chart(
        names,
        [Series(_("resolved by the assistant"), tuple(row.contained_rate or 0.0 for row in rows))]
        if rows
        else [],
        title=_("Share of calls resolved by the assistant alone"),
        y_format=loc.percent,
        y_max=1.0,
        empty_text=_("No data for this period"),
        links=links,
    )
    table = DataTable(
        _("Calls resolved by the assistant, per period"),
        (_("Period"), _("Calls"), _("Resolved"), _("Share")),
        tuple(
            (
                Cell(name, href),
                Cell(loc.number(row.calls), number=True),
                Cell(loc.number(row.contained), number=True),
                Cell(loc.percent(row.contained_rate), number=True),
            )
            for name, href, row in zip(names, links, rows, strict=True)
        ),
    )
    return Panel("chart-contained", _("Resolved by the assistant"), chart, table)


def _outcomes_panel(rows: list[CountRow], query: DashboardQuery, labels: Labels) -> Panel:
    _ = labels.loc.gettext
    names = [labels.outcome(row.key) for row in rows]
    links = [query.calls_url(("outcome", row.key or "")) for row in rows]
    chart = hbar_chart(
        names,
        Series(_("calls"), tuple(float(row.count) for row in rows)),
        title=_("Calls per outcome"),
        x_format=labels.loc.number,
        empty_text=_("No data for this period"),
        links=links,
    )
    table = DataTable(
        _("Calls per outcome"),
        (_("Outcome"), _("Calls")),
        tuple(
            (Cell(name, href), Cell(labels.loc.number(row.count), number=True))
            for name, href, row in zip(names, links, rows, strict=True)
        ),
    )
    return Panel("chart-outcomes", _("Outcomes"), chart, table)


def _departments_panel(
    transfers: list[DepartmentTransfers], query: DashboardQuery, labels: Labels
) -> Panel:
    loc, _ = labels.loc, labels.loc.gettext
    names = [labels.department(t.department) for t in transfers]
    links = [query.calls_url(("department", t.department)) for t in transfers]
    chart = bar_chart(
        names,
        [
            Series(_("calls"), tuple(float(t.calls) for t in transfers)),
            Series(_("transfers answered"), tuple(float(t.answered) for t in transfers)),
        ]
        if transfers
        else [],
        title=_("Calls and answered transfers per department"),
        y_format=loc.number,
        empty_text=_("No data for this period"),
        links=links,
    )
    table = DataTable(
        _("Calls and transfers per department"),
        (_("Department"), _("Calls"), _("Transfer attempts"), _("Answered"), _("Answered share")),
        tuple(
            (
                Cell(name, href),
                Cell(loc.number(t.calls), number=True),
                Cell(loc.number(t.attempts), number=True),
                Cell(loc.number(t.answered), number=True),
                Cell(loc.percent(t.success_rate), number=True),
            )
            for name, href, t in zip(names, links, transfers, strict=True)
        ),
    )
    return Panel("chart-departments", _("Transfers per department"), chart, table)


def _department_options(labels: Labels) -> tuple[tuple[str, str], ...]:
    kb = labels.kb
    options = sorted(((d.id, labels.department(d.id)) for d in kb.departments), key=lambda o: o[1])
    return (*options, ("operator", labels.department("operator")))


def _question_groups(
    services: ApiServices, query: DashboardQuery
) -> tuple[QuestionGroup, ...] | None:
    embedder = services.embedder
    if embedder is None:
        return None
    start, end = query.span(services.stats.timezone)
    groups = services.stats.not_understood(
        start, end, lambda texts: embedder.embed(texts), limit=10, scope=query.scope
    )
    return tuple(
        QuestionGroup(g, query.calls_url(("intent", "none"), ("q", g.representative)))
        for g in groups
    )


QUERY_THREADS = 4
"""The panels' queries run side by side: each is one or two SELECTs on its own connection,
and the database works on them in parallel (the page waits for the slowest, not the sum)."""


def build_dashboard(services: ApiServices, query: DashboardQuery, labels: Labels) -> Dashboard:
    """Query the statistics (blocking: call from a worker thread) and draw the charts."""
    stats = services.stats
    start, end = query.span(stats.timezone)
    scope = query.scope
    with ThreadPoolExecutor(QUERY_THREADS, thread_name_prefix="dashboard") as pool:
        questions = pool.submit(_question_groups, services, query)
        intents = pool.submit(stats.counts, Dimension.INTENT, start, end, scope=scope)
        requests = pool.submit(stats.requests, start, end, scope=scope)
        per_bucket = pool.submit(stats.summary, start, end, query.bucket, scope=scope)
        totals = pool.submit(stats.summary, start, end, None, scope=scope)
        transfers = pool.submit(stats.transfers_by_department, start, end, scope=scope)
        outcomes = pool.submit(stats.counts, Dimension.OUTCOME, start, end, scope=scope)
    summary = totals.result()[0]
    panels = (
        _requests_panel(requests.result(), query, labels),
        _contained_panel(per_bucket.result(), query, labels),
        _outcomes_panel(outcomes.result(), query, labels),
        _departments_panel(transfers.result(), query, labels),
    )
    return Dashboard(
        query=query,
        summary=summary,
        figures=_figures(query, summary, labels),
        panels=panels,
        dialog_acts=_dialog_acts(intents.result(), query, labels),
        not_understood=questions.result(),
        languages=labels.kb.city.languages,
        departments=_department_options(labels),
        csv_url="/dashboard/calls.csv?" + urllib.parse.urlencode(query.params()),
    )
