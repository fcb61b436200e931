"""Opening hours as natural spoken sentences (numbers in words, days grouped) for TTS.

"du lundi au vendredi de huit heures trente à douze heures et de treize heures trente à
seize heures, et le samedi de neuf heures à douze heures": written out so that every TTS
engine reads it the same way, whatever it does with digits and colons.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import time

from voicebot.knowledge.model import WEEKDAYS, OpeningHours, TimeRange

SPOKEN_LANGUAGES = ("fr", "nl", "en", "de")

_END_OF_DAY = time(23, 59, 59)


# --- numbers ----------------------------------------------------------------------------

_FR_UNITS = (
    "zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix",
    "onze", "douze", "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit",
    "dix-neuf",
)  # fmt: skip
_FR_TENS = {2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante"}
_EN_UNITS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
)  # fmt: skip
_EN_TENS = {2: "twenty", 3: "thirty", 4: "forty", 5: "fifty"}
_NL_UNITS = (
    "nul", "een", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen", "tien",
    "elf", "twaalf", "dertien", "veertien", "vijftien", "zestien", "zeventien", "achttien",
    "negentien",
)  # fmt: skip
_NL_TENS = {2: "twintig", 3: "dertig", 4: "veertig", 5: "vijftig"}
_DE_UNITS = (
    "null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun",
    "zehn", "elf", "zwölf", "dreizehn", "vierzehn", "fünfzehn", "sechzehn", "siebzehn",
    "achtzehn", "neunzehn",
)  # fmt: skip
_DE_TENS = {2: "zwanzig", 3: "dreißig", 4: "vierzig", 5: "fünfzig"}


def _check_number(n: int) -> None:
    if not 0 <= n < 60:
        raise ValueError(f"number {n} outside 0..59 (only clock values are spoken)")


def number_fr(n: int, feminine: bool = False) -> str:
    """French words for 0..59 ("vingt et un", "trente-cinq"); ``feminine`` gives "une"."""
    _check_number(n)
    tens, unit = divmod(n, 10)
    if n < 20:
        word = _FR_UNITS[n]
    elif unit == 0:
        word = _FR_TENS[tens]
    elif unit == 1:
        word = f"{_FR_TENS[tens]} et un"
    else:
        word = f"{_FR_TENS[tens]}-{_FR_UNITS[unit]}"
    return word[:-2] + "une" if feminine and word.endswith("un") else word


def number_en(n: int) -> str:
    """English words for 0..59 ("twenty-five")."""
    _check_number(n)
    tens, unit = divmod(n, 10)
    if n < 20:
        return _EN_UNITS[n]
    return _EN_TENS[tens] if unit == 0 else f"{_EN_TENS[tens]}-{_EN_UNITS[unit]}"


def number_nl(n: int) -> str:
    """Dutch words for 0..59 ("eenentwintig", "tweeëntwintig")."""
    _check_number(n)
    tens, unit = divmod(n, 10)
    if n < 20:
        return _NL_UNITS[n]
    if unit == 0:
        return _NL_TENS[tens]
    unit_word = _NL_UNITS[unit]
    # Dutch writes a diaeresis where "e" + "en" would merge: twee-ën-twintig.
    joiner = "ën" if unit_word.endswith("e") else "en"
    return f"{unit_word}{joiner}{_NL_TENS[tens]}"


def number_de(n: int) -> str:
    """German words for 0..59 ("einundzwanzig", "dreißig")."""
    _check_number(n)
    tens, unit = divmod(n, 10)
    if n < 20:
        return _DE_UNITS[n]
    if unit == 0:
        return _DE_TENS[tens]
    unit_word = "ein" if unit == 1 else _DE_UNITS[unit]
    return f"{unit_word}und{_DE_TENS[tens]}"


# --- clock times ------------------------------------------------------------------------


def _is_midnight(moment: time) -> bool:
    return moment in (time(0, 0), _END_OF_DAY)


def _time_fr(moment: time) -> str:
    if _is_midnight(moment):
        return "minuit"
    hour = number_fr(moment.hour, feminine=True)
    text = f"{hour} heure" if moment.hour == 1 else f"{hour} heures"
    return f"{text} {number_fr(moment.minute, feminine=True)}" if moment.minute else text


def _time_en(moment: time) -> str:
    if _is_midnight(moment):
        return "midnight"
    if moment == time(12, 0):
        return "noon"
    hour = number_en(moment.hour % 12 or 12)
    suffix = "a.m." if moment.hour < 12 else "p.m."
    if not moment.minute:
        return f"{hour} {suffix}"
    minute = number_en(moment.minute)
    return f"{hour} oh {minute} {suffix}" if moment.minute < 10 else f"{hour} {minute} {suffix}"


def _time_nl(moment: time) -> str:
    if _is_midnight(moment):
        return "middernacht"
    text = f"{number_nl(moment.hour)} uur"
    return f"{text} {number_nl(moment.minute)}" if moment.minute else text


def _time_de(moment: time) -> str:
    if _is_midnight(moment):
        return "Mitternacht"
    hour = "ein" if moment.hour == 1 else number_de(moment.hour)
    text = f"{hour} Uhr"
    return f"{text} {number_de(moment.minute)}" if moment.minute else text


# --- per-language phrasing --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Phrasing:
    days: tuple[str, ...]
    speak_time: Callable[[time], str]
    range_: str  # "{start}" / "{end}"
    and_: str  # joins ranges: "de 8 à 12 et de 13 à 16"
    list_and: str  # joins day groups before the last: "…, et le samedi …"
    one_day: str  # "{day}"
    two_days: str  # "{first}" / "{second}"
    day_run: str  # "{first}" / "{last}"
    every_day: str
    around_the_clock: str


_PHRASINGS: dict[str, _Phrasing] = {
    "fr": _Phrasing(
        days=("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
        speak_time=_time_fr,
        range_="de {start} à {end}",
        and_=" et ",
        list_and=", et ",
        one_day="le {day}",
        two_days="le {first} et le {second}",
        day_run="du {first} au {last}",
        every_day="tous les jours",
        around_the_clock="vingt-quatre heures sur vingt-quatre, tous les jours",
    ),
    "en": _Phrasing(
        days=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        speak_time=_time_en,
        range_="from {start} to {end}",
        and_=" and ",
        list_and=", and ",
        one_day="on {day}",
        two_days="on {first} and {second}",
        day_run="{first} to {last}",
        every_day="every day",
        around_the_clock="twenty-four hours a day, every day",
    ),
    "nl": _Phrasing(
        days=("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
        speak_time=_time_nl,
        range_="van {start} tot {end}",
        and_=" en ",
        list_and=", en ",
        one_day="op {day}",
        two_days="op {first} en {second}",
        day_run="van {first} tot en met {last}",
        every_day="elke dag",
        around_the_clock="elke dag, dag en nacht",
    ),
    "de": _Phrasing(
        days=("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
        speak_time=_time_de,
        range_="von {start} bis {end}",
        and_=" und ",
        list_and=", und ",
        one_day="am {day}",
        two_days="am {first} und {second}",
        day_run="von {first} bis {last}",
        every_day="täglich",
        around_the_clock="rund um die Uhr, täglich",
    ),
}


def _phrasing(language: str) -> _Phrasing:
    try:
        return _PHRASINGS[language]
    except KeyError:
        raise ValueError(
            f"no spoken phrasing for language {language!r} "
            f"(supported: {', '.join(SPOKEN_LANGUAGES)})"
        ) from None


def speak_time(moment: time, language: str) -> str:
    """A clock time in words ("huit heures trente", "eight thirty a.m.")."""
    return _phrasing(language).speak_time(moment)


def speak_ranges(ranges: Sequence[TimeRange], language: str) -> str:
    """Intervals of one day in words ("de huit heures à midi et de …")."""
    p = _phrasing(language)
    parts = [p.range_.format(start=p.speak_time(r.start), end=p.speak_time(r.end)) for r in ranges]
    return _join(parts, p.and_, p.and_)


def speak_week(hours: OpeningHours, language: str) -> str | None:
    """The weekly schedule in words; None when there are no regular opening hours."""
    p = _phrasing(language)
    if hours.always_open:
        return p.around_the_clock
    groups: list[tuple[int, int, tuple[TimeRange, ...]]] = []
    for index, day in enumerate(WEEKDAYS):
        ranges = hours.weekly.get(day, ())
        if not ranges:
            continue
        last = groups[-1] if groups else None
        if last is not None and last[1] == index - 1 and last[2] == ranges:
            groups[-1] = (last[0], index, ranges)
        else:
            groups.append((index, index, ranges))
    if not groups:
        return None
    parts = [
        f"{_days(p, first, last)} {speak_ranges(ranges, language)}"
        for first, last, ranges in groups
    ]
    return _join(parts, ", ", p.list_and)


def _days(p: _Phrasing, first: int, last: int) -> str:
    if first == 0 and last == 6:
        return p.every_day
    if first == last:
        return p.one_day.format(day=p.days[first])
    if last == first + 1:
        return p.two_days.format(first=p.days[first], second=p.days[last])
    return p.day_run.format(first=p.days[first], last=p.days[last])


def _join(parts: Sequence[str], separator: str, last_separator: str) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return separator.join(parts[:-1]) + last_separator + parts[-1]
