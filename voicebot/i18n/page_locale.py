"""One reader's language, formats and time zone: translated texts, local numbers and times."""

from __future__ import annotations

import datetime as dt
import gettext
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_date, format_datetime, format_skeleton, format_time
from babel.lists import format_list
from babel.numbers import format_decimal, format_percent

from voicebot.i18n.catalogues import translations

DateFormat = Literal["short", "medium", "long", "full"]
MISSING = "—"
"""Shown for a figure that does not exist (a rate without calls), never a made-up 0."""


def formats_locale(language: str, zone: ZoneInfo) -> Locale:
    """The Babel locale for ``language`` in the country of ``zone`` (``fr`` + Brussels →
    ``fr_BE``), or the language alone where that pair is unknown to Babel."""
    territory = get_global("zone_territories").get(zone.key)
    if territory:
        try:
            return Locale.parse(f"{language}_{territory}")
        except (UnknownLocaleError, ValueError):
            pass
    return Locale.parse(language)


@dataclass(frozen=True, slots=True)
class PageLocale:
    """Texts in ``language``; numbers, dates and times in its formats and the city's zone."""

    language: str
    """The page language (the ``lang`` attribute), e.g. ``fr``."""
    formats: Locale
    """Number and date conventions, e.g. ``fr_BE``."""
    zone: ZoneInfo
    """The city's time zone: every time shown is in it."""
    catalogue: gettext.NullTranslations

    @classmethod
    def create(cls, language: str, zone: ZoneInfo) -> PageLocale:
        """The locale of a page in ``language`` for a city in ``zone``."""
        catalogue = translations(language)
        return cls(language, formats_locale(language, zone), zone, catalogue)

    # ------------------------------------------------------------------ texts

    def gettext(self, message: str) -> str:
        """``message`` translated."""
        return self.catalogue.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        """The singular or plural form for ``count``, translated."""
        return self.catalogue.ngettext(singular, plural, count)

    def language_name(self, code: str) -> str:
        """The name of language ``code`` in the page language, capitalised (``Néerlandais``)."""
        try:
            name = Locale.parse(code).get_display_name(self.formats)
        except (UnknownLocaleError, ValueError):
            return code
        return name[:1].upper() + name[1:] if name else code

    def either(self, items: list[str]) -> str:
        """``a, b or c`` in the page language."""
        return format_list(items, style="or", locale=self.formats)

    # ---------------------------------------------------------------- numbers

    def number(self, value: float | None, decimals: int | None = None) -> str:
        """``value`` with the locale's grouping and decimal signs (``12 345``, ``0,83``)."""
        if value is None:
            return MISSING
        if decimals is None:
            return format_decimal(value, locale=self.formats)
        pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
        return format_decimal(value, format=pattern, locale=self.formats)

    def percent(self, share: float | None) -> str:
        """A 0..1 share as a whole percentage in the locale's style (``42 %``)."""
        if share is None:
            return MISSING
        return format_percent(share, locale=self.formats)

    def seconds(self, value: float | None) -> str:
        """A duration: ``45 s``, ``2 min 05 s``."""
        if value is None:
            return MISSING
        total = round(value)
        if total < 60:
            return f"{total}\u00a0s"
        return f"{total // 60}\u00a0min {total % 60:02d}\u00a0s"

    def milliseconds(self, value: float | None) -> str:
        """A short duration in milliseconds (``1 250 ms``)."""
        if value is None:
            return MISSING
        return f"{self.number(value, 0)}\u00a0ms"

    # ------------------------------------------------------------------ times

    def local(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` in the city's zone."""
        return moment.astimezone(self.zone)

    def datetime(self, moment: dt.datetime | None, format: DateFormat = "short") -> str:
        """Date and time in the city's zone (``29/03/24 09:10``)."""
        if moment is None:
            return MISSING
        return format_datetime(moment, format, tzinfo=self.zone, locale=self.formats)

    def date(self, moment: dt.date | dt.datetime | None, format: DateFormat = "medium") -> str:
        """A date (``29 mars 2024``); datetimes are taken in the city's zone first."""
        if moment is None:
            return MISSING
        if isinstance(moment, dt.datetime):
            moment = self.local(moment).date()
        return format_date(moment, format, locale=self.formats)

    def day(self, day: dt.date) -> str:
        """Day and month, for chart axes (``4 mars``, ``4 mrt.``)."""
        return format_skeleton("dMMM", day, locale=self.formats)

    def time(self, moment: dt.datetime | None, format: DateFormat = "short") -> str:
        """A time of day in the city's zone (``09:10``)."""
        if moment is None:
            return MISSING
        return format_time(moment, format, tzinfo=self.zone, locale=self.formats)

    def iso(self, moment: dt.datetime | None) -> str:
        """ISO 8601 with the city's UTC offset (``2024-03-29T09:10:00+01:00``): for machines
        that should still see the local time (CSV, ``datetime`` attributes)."""
        if moment is None:
            return ""
        return self.local(moment).isoformat(timespec="seconds")
