"""Short replies are matched in recognizer-style text (lower case, no punctuation, no accents)."""

from __future__ import annotations

import pytest

from voicebot.dialog.config import DEFAULT_LANGUAGE_NAMES, DEFAULT_NO, DEFAULT_YES, DialogConfig
from voicebot.dialog.keywords import (
    best_option,
    covered_by,
    requested_language,
    starts_with,
    tokens,
)

CLOSING_FR = ("non merci", "c'est tout", "au revoir", "merci", "non")


def test_tokens_normalise_like_the_recognizer() -> None:
    assert tokens("Non, merci ! C'est tout.") == ("non", "merci", "c", "est", "tout")
    assert tokens("Français") == tokens("francais")


@pytest.mark.parametrize(
    ("heard", "covered"),
    [
        ("non merci c'est tout au revoir", True),
        ("euh non merci", True),
        ("non merci j'ai une autre question", False),
        ("", False),
    ],
)
def test_a_reply_is_covered_only_when_every_word_is_a_closing_phrase(
    heard: str, covered: bool
) -> None:
    assert (covered_by(tokens(heard), CLOSING_FR) is not None) is covered


def test_covering_prefers_the_longest_phrases() -> None:
    assert covered_by(tokens("non merci"), CLOSING_FR) == (("non", "merci"),)


@pytest.mark.parametrize(
    ("heard", "language", "yes", "no"),
    [
        ("oui rappelez moi", "fr", True, False),
        ("d accord", "fr", True, False),
        ("non merci", "fr", False, True),
        ("ja graag", "nl", True, False),
        ("nee dank u", "nl", False, True),
        ("yes please", "en", True, False),
        ("nope", "en", False, True),
        ("gerne", "de", True, False),
        ("nein danke", "de", False, True),
        ("je voudrais un passeport", "fr", False, False),
    ],
)
def test_yes_and_no_are_recognised_at_the_start_of_a_reply(
    heard: str, language: str, yes: bool, no: bool
) -> None:
    words = tokens(heard)
    assert starts_with(words, DEFAULT_YES[language]) is yes
    assert starts_with(words, DEFAULT_NO[language]) is no


@pytest.mark.parametrize(
    ("heard", "language"),
    [
        ("english please", "en"),
        ("in het nederlands", "nl"),
        ("auf deutsch", "de"),
        ("parlez vous anglais", "en"),
        ("Parlez-vous français ?", "fr"),
        ("kunt u nederlands spreken alstublieft", "nl"),
        ("je voudrais inscrire mon fils au cours d anglais du mercredi", None),
        ("anglais ou allemand", None),
        ("bonjour", None),
    ],
)
def test_short_utterances_naming_one_language_are_language_requests(
    heard: str, language: str | None
) -> None:
    max_words = DialogConfig().max_language_request_words
    assert requested_language(tokens(heard), DEFAULT_LANGUAGE_NAMES, max_words) == language


@pytest.mark.parametrize(
    ("heard", "chosen"),
    [
        ("le passeport", "passport"),
        ("pour mes passeports", "passport"),
        ("la carte d identité", "id_card"),
        ("je ne sais pas", None),
    ],
)
def test_the_option_named_in_the_reply_is_chosen(heard: str, chosen: str | None) -> None:
    options = {
        "id_card": "la question : comment renouveler ma carte d'identité",
        "passport": "la question : comment obtenir un passeport",
    }
    assert best_option(tokens(heard), options) == chosen
