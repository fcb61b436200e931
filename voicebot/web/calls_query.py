"""The calls page's filters, read from the query string into a call log filter."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from voicebot.calllog.filters import DEFAULT_SORT, MAX_TEXT_LENGTH, SORT_COLUMNS, CallFilter
from voicebot.i18n.catalogues import N_, TranslatableError
from voicebot.records import CallOutcome

PAGE_SIZE = 50
MAX_DAYS = 366
YES_NO = {"yes": True, "no": False}


class CallsQueryError(TranslatableError):
    """A filter of the calls page is wrong; the message names it."""


def _invalid(name: str, value: str) -> CallsQueryError:
    return CallsQueryError(N_("%(field)s: %(value)s is not a valid code"), field=name, value=value)


def _day(name: str, text: str | None, default: date) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CallsQueryError(
            N_("%(field)s: %(value)s is not a date (YYYY-MM-DD)"), field=name, value=text
        ) from None


def _code(name: str, value: str | None, limit: int = 128) -> str | None:
    if not value:
        return None
    if len(value) > limit or "\x00" in value:
        raise CallsQueryError(
            N_("%(field)s: %(value)s is not a valid code"), field=name, value=value
        )
    return value


def _yes_no(name: str, value: str | None) -> bool | None:
    if not value:
        return None
    if value not in YES_NO:
        raise CallsQueryError(N_("%(field)s: %(value)s must be yes or no"), field=name, value=value)
    return YES_NO[value]


@dataclass(frozen=True, slots=True)
class CallsQuery:
    """What the calls page lists: inclusive local dates and the other filters."""

    start: date
    end: date
    language: str | None = None
    department: str | None = None
    outcomes: tuple[CallOutcome, ...] = ()
    intent: str | None = None
    text: str | None = None
    contained: bool | None = None
    callback: bool | None = None
    sort: str = DEFAULT_SORT
    page: int = 1

    @classmethod
    def parse(cls, today: date, params: list[tuple[str, str]]) -> CallsQuery:
        """From the query string's pairs (``outcome`` may repeat); defaults: the last 30
        days, newest first, page 1."""
        single = {name: value for name, value in params}
        end = _day("end", single.get("end"), today)
        start = _day("start", single.get("start"), end - timedelta(days=29))
        if start > end:
            raise CallsQueryError(N_("The start date must not be after the end date."))
        if (end - start).days >= MAX_DAYS:
            raise CallsQueryError(N_("The period is limited to %(days)s days."), days=MAX_DAYS)
        outcomes = []
        for name, value in params:
            if name == "outcome" and value:
                try:
                    outcomes.append(CallOutcome(value))
                except ValueError:
                    raise _invalid(name, value) from None
        text = single.get("q") or None
        if text is not None:
            text = text.strip()[:MAX_TEXT_LENGTH] or None
        sort = single.get("sort") or DEFAULT_SORT
        if sort.removeprefix("-") not in SORT_COLUMNS:
            raise CallsQueryError(
                N_("%(field)s: %(value)s is not a valid code"), field="sort", value=sort
            )
        try:
            page = max(1, min(10_000, int(single.get("page") or 1)))
        except ValueError:
            raise _invalid("page", single["page"]) from None
        return cls(
            start=start,
            end=end,
            language=_code("language", single.get("language"), 16),
            department=_code("department", single.get("department"), 64),
            outcomes=tuple(dict.fromkeys(outcomes)),
            intent=_code("intent", single.get("intent")),
            text=text,
            contained=_yes_no("contained", single.get("contained")),
            callback=_yes_no("callback", single.get("callback")),
            sort=sort,
            page=page,
        )

    def call_filter(self, zone: ZoneInfo) -> CallFilter:
        """The call log filter: local midnight of ``start`` to local midnight after ``end``."""
        low = datetime(self.start.year, self.start.month, self.start.day, tzinfo=zone)
        after = self.end + timedelta(days=1)
        try:
            return CallFilter(
                start=low,
                end=datetime(after.year, after.month, after.day, tzinfo=zone),
                outcomes=self.outcomes,
                department=self.department,
                intent=self.intent,
                language=self.language,
                text=self.text,
                contained=self.contained,
                has_callback=self.callback,
            )
        except ValueError as error:
            raise CallsQueryError(
                N_("The filter cannot be used: %(problem)s"), problem=str(error)
            ) from None

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.page - 1) * PAGE_SIZE

    def params(self, *, page: int | None = None) -> list[tuple[str, str]]:
        """The query string pairs of this query (another page if given)."""
        pairs = [("start", self.start.isoformat()), ("end", self.end.isoformat())]
        for name, value in (
            ("language", self.language),
            ("department", self.department),
            ("intent", self.intent),
            ("q", self.text),
        ):
            if value:
                pairs.append((name, value))
        pairs += [("outcome", str(outcome)) for outcome in self.outcomes]
        for name, flag in (("contained", self.contained), ("callback", self.callback)):
            if flag is not None:
                pairs.append((name, "yes" if flag else "no"))
        if self.sort != DEFAULT_SORT:
            pairs.append(("sort", self.sort))
        if (page or self.page) > 1:
            pairs.append(("page", str(page or self.page)))
        return pairs

    def url(self, *, page: int | None = None) -> str:
        """This list (or another page of it)."""
        return "/calls?" + urllib.parse.urlencode(self.params(page=page))

    def without_page(self) -> CallsQuery:
        """The same filters on the first page."""
        return replace(self, page=1)
