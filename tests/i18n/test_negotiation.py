"""Choosing the page language from the user's choice, the browser and the city."""

from __future__ import annotations

import pytest

from voicebot.i18n.negotiation import choose_language, parse_accept_language


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, []),
        ("", []),
        ("fr-BE,fr;q=0.9,nl;q=0.8,*;q=0.1", ["fr", "nl"]),
        ("en;q=0.2, nl-BE;q=0.7, de", ["de", "nl", "en"]),
        ("nl;q=0, fr", ["fr"]),
        ("fr;q=abc, en", ["en"]),
        ("fr-FR, fr-BE;q=0.5", ["fr"]),
        ("x-klingon, 123, ;;, en", ["en"]),
    ],
)
def test_accept_language_is_ordered_by_quality(header: str | None, expected: list[str]) -> None:
    assert parse_accept_language(header) == expected


def test_the_choice_wins_then_the_browser_then_the_city() -> None:
    offered = ("fr", "nl", "en")
    assert choose_language("nl", "en", offered, "fr") == "nl"
    assert choose_language("de", "en-GB,fr", offered, "fr") == "en"
    assert choose_language(None, "de, it", offered, "nl") == "nl"
    assert choose_language(None, None, ("nl", "en"), "fr") == "nl"
    with pytest.raises(ValueError, match="no page language"):
        choose_language(None, None, (), "fr")
