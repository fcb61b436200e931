"""Which language a page is shown in: the user's choice, else the browser's, else the city's."""

from __future__ import annotations

from collections.abc import Sequence

from voicebot.i18n.catalogues import SOURCE_LANGUAGE, available_languages
from voicebot.knowledge.model import City


def parse_accept_language(header: str | None) -> list[str]:
    """Primary language codes of an ``Accept-Language`` header, most preferred first.

    ``fr-BE,fr;q=0.9,nl;q=0.8,*;q=0.1`` gives ``["fr", "nl"]``: regions are dropped (the
    pages are translated per language; formats follow the city's country), ``*`` and
    ``q=0`` entries are left out, malformed entries ignored.
    """
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")[:32]):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().split("-")[0].lower()
        if quality > 0 and primary.isalpha() and 2 <= len(primary) <= 3:
            weighted.append((-quality, position, primary))
    result: list[str] = []
    for _, _, language in sorted(weighted):
        if language not in result:
            result.append(language)
    return result


def choose_language(
    chosen: str | None,
    accept_language: str | None,
    offered: Sequence[str],
    default: str,
) -> str:
    """The page language: ``chosen`` (cookie) if offered, else the browser's first offered
    preference, else ``default`` if offered, else the first offered language."""
    if not offered:
        raise ValueError("no page language offered")
    if chosen is not None and chosen in offered:
        return chosen
    for language in parse_accept_language(accept_language):
        if language in offered:
            return language
    return default if default in offered else offered[0]


def offered_languages(city: City) -> tuple[str, ...]:
    """Page languages for ``city``: its KB's languages that have a catalogue, the default
    language first, else the source language."""
    ordered = [city.default_language, *city.languages]
    offered = [lang for lang in dict.fromkeys(ordered) if lang in available_languages()]
    return tuple(offered) or (SOURCE_LANGUAGE,)


def reader_language(city: City, chosen: str | None, accept_language: str | None) -> str:
    """The language to show ``city``'s staff: :func:`choose_language` over its offer."""
    return choose_language(chosen, accept_language, offered_languages(city), city.default_language)
