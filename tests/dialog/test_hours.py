"""Opening hours are spoken as natural sentences, numbers in words, in each language."""

from __future__ import annotations

from datetime import time

import pytest

from voicebot.dialog.hours import (
    number_de,
    number_en,
    number_fr,
    number_nl,
    speak_ranges,
    speak_time,
    speak_week,
)
from voicebot.knowledge.model import OpeningHours, TimeRange

WEEKDAY = (TimeRange(time(8, 30), time(12, 0)), TimeRange(time(13, 30), time(16, 0)))
SATURDAY = (TimeRange(time(9, 0), time(12, 0)),)
TOWN_HALL = OpeningHours(
    weekly={
        "monday": WEEKDAY,
        "tuesday": WEEKDAY,
        "wednesday": WEEKDAY,
        "thursday": WEEKDAY,
        "friday": WEEKDAY,
        "saturday": SATURDAY,
    }
)


@pytest.mark.parametrize(
    ("number", "fr", "nl", "en", "de"),
    [
        (0, "zéro", "nul", "zero", "null"),
        (1, "un", "een", "one", "eins"),
        (16, "seize", "zestien", "sixteen", "sechzehn"),
        (21, "vingt et un", "eenentwintig", "twenty-one", "einundzwanzig"),
        (22, "vingt-deux", "tweeëntwintig", "twenty-two", "zweiundzwanzig"),
        (30, "trente", "dertig", "thirty", "dreißig"),
        (45, "quarante-cinq", "vijfenveertig", "forty-five", "fünfundvierzig"),
        (53, "cinquante-trois", "drieënvijftig", "fifty-three", "dreiundfünfzig"),
    ],
)
def test_numbers_are_written_out_in_each_language(
    number: int, fr: str, nl: str, en: str, de: str
) -> None:
    assert (number_fr(number), number_nl(number), number_en(number), number_de(number)) == (
        fr,
        nl,
        en,
        de,
    )


def test_numbers_outside_clock_values_are_refused() -> None:
    with pytest.raises(ValueError, match=r"60 outside 0\.\.59"):
        number_fr(60)


@pytest.mark.parametrize(
    ("moment", "language", "spoken"),
    [
        (time(8, 30), "fr", "huit heures trente"),
        (time(12, 0), "fr", "douze heures"),
        (time(1, 0), "fr", "une heure"),
        (time(21, 1), "fr", "vingt et une heures une"),
        (time(23, 59, 59), "fr", "minuit"),
        (time(8, 30), "nl", "acht uur dertig"),
        (time(13, 0), "nl", "dertien uur"),
        (time(8, 30), "en", "eight thirty a.m."),
        (time(8, 5), "en", "eight oh five a.m."),
        (time(12, 0), "en", "noon"),
        (time(16, 0), "en", "four p.m."),
        (time(0, 0), "en", "midnight"),
        (time(8, 30), "de", "acht Uhr dreißig"),
        (time(1, 15), "de", "ein Uhr fünfzehn"),
    ],
)
def test_clock_times_are_spoken(moment: time, language: str, spoken: str) -> None:
    assert speak_time(moment, language) == spoken


@pytest.mark.parametrize(
    ("language", "spoken"),
    [
        (
            "fr",
            "du lundi au vendredi de huit heures trente à douze heures et de treize heures "
            "trente à seize heures, et le samedi de neuf heures à douze heures",
        ),
        (
            "nl",
            "van maandag tot en met vrijdag van acht uur dertig tot twaalf uur en van dertien "
            "uur dertig tot zestien uur, en op zaterdag van negen uur tot twaalf uur",
        ),
        (
            "en",
            "Monday to Friday from eight thirty a.m. to noon and from one thirty p.m. to four "
            "p.m., and on Saturday from nine a.m. to noon",
        ),
        (
            "de",
            "von Montag bis Freitag von acht Uhr dreißig bis zwölf Uhr und von dreizehn Uhr "
            "dreißig bis sechzehn Uhr, und am Samstag von neun Uhr bis zwölf Uhr",
        ),
    ],
)
def test_a_week_of_hours_groups_consecutive_days(language: str, spoken: str) -> None:
    assert speak_week(TOWN_HALL, language) == spoken


def test_two_days_and_single_days_are_named_separately() -> None:
    morning = (TimeRange(time(9, 0), time(12, 0)),)
    hours = OpeningHours(weekly={"tuesday": morning, "thursday": morning})
    assert speak_week(hours, "fr") == (
        "le mardi de neuf heures à douze heures, et le jeudi de neuf heures à douze heures"
    )
    hours = OpeningHours(weekly={"monday": morning, "tuesday": morning})
    assert speak_week(hours, "en") == "on Monday and Tuesday from nine a.m. to noon"


def test_every_day_and_around_the_clock() -> None:
    day = (TimeRange(time(7, 0), time(19, 0)),)
    daily = OpeningHours(
        weekly={
            d: day
            for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        }
    )
    assert speak_week(daily, "fr") == "tous les jours de sept heures à dix-neuf heures"
    assert speak_week(OpeningHours(always_open=True), "nl") == "elke dag, dag en nacht"


def test_no_weekly_hours_gives_none() -> None:
    assert speak_week(OpeningHours(), "fr") is None


def test_three_ranges_in_one_day() -> None:
    ranges = (
        TimeRange(time(8, 0), time(9, 0)),
        TimeRange(time(10, 0), time(11, 0)),
        TimeRange(time(14, 0), time(15, 0)),
    )
    assert speak_ranges(ranges, "en") == (
        "from eight a.m. to nine a.m. and from ten a.m. to eleven a.m. "
        "and from two p.m. to three p.m."
    )


def test_an_unknown_language_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'it'"):
        speak_time(time(8, 0), "it")
