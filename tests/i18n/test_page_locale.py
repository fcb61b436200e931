"""Numbers, shares, durations and times in the reader's language and the city's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from voicebot.i18n.catalogues import CatalogueError, TranslatableError
from voicebot.i18n.page_locale import MISSING, PageLocale

BRUSSELS = ZoneInfo("Europe/Brussels")
NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.fixture
def fr() -> PageLocale:
    return PageLocale.create("fr", BRUSSELS)


def test_belgian_french_formats(fr: PageLocale) -> None:
    assert str(fr.formats) == "fr_BE"
    assert fr.number(150000) == f"150{NNBSP}000"
    assert fr.number(0.8333, 2) == "0,83"
    assert fr.percent(0.2857) == f"29{NBSP}%"
    assert fr.seconds(45.4) == f"45{NBSP}s" and fr.seconds(125) == f"2{NBSP}min 05{NBSP}s"
    assert fr.milliseconds(1250.2) == f"1{NNBSP}250{NBSP}ms"
    assert fr.language_name("nl") == "Néerlandais"
    assert fr.either(["opérateur", "administrateur"]) == "opérateur ou administrateur"


def test_dutch_formats() -> None:
    nl = PageLocale.create("nl", BRUSSELS)
    assert str(nl.formats) == "nl_BE"
    assert nl.number(150000) == "150.000" and nl.number(0.5, 1) == "0,5"
    assert nl.language_name("fr") == "Frans"
    assert nl.gettext("Calls") == "Oproepen"


def test_times_are_shown_in_the_city_zone_on_both_sides_of_summer_time(fr: PageLocale) -> None:
    winter = datetime(2024, 3, 30, 23, 30, tzinfo=UTC)  # already Sunday 00:30 in Brussels
    summer = datetime(2024, 3, 31, 9, 0, tzinfo=UTC)
    assert fr.datetime(winter) == "31/03/24 00:30"
    assert fr.time(summer) == "11:00"
    assert fr.date(winter) == "31 mars 2024" and fr.date(date(2024, 3, 4)) == "4 mars 2024"
    assert fr.day(date(2024, 3, 4)) == "4 mars"
    assert fr.iso(summer) == "2024-03-31T11:00:00+02:00"


def test_missing_figures_are_a_dash_not_zero(fr: PageLocale) -> None:
    for text in (fr.number(None), fr.percent(None), fr.seconds(None), fr.datetime(None)):
        assert text == MISSING
    assert fr.iso(None) == ""


def test_plural_forms(fr: PageLocale) -> None:
    nl = PageLocale.create("nl", BRUSSELS)
    # French puts 0 and 1 in the singular, Dutch only 1 (CLDR plural rules).
    assert fr.catalogue.plural(0) == 0 and nl.catalogue.plural(0) == 1


def test_unknown_page_language_is_refused() -> None:
    with pytest.raises(CatalogueError, match="no catalogue"):
        PageLocale.create("xx", BRUSSELS)


def test_translatable_errors_read_in_english_and_translate(fr: PageLocale) -> None:
    error = TranslatableError("The period is limited to %(days)s days.", days=366)
    assert str(error) == "The period is limited to 366 days."
    assert error.translated(fr.gettext) == "La période est limitée à 366 jours."
