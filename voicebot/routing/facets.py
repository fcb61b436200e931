"""What an information question asks about: the price, the delay, the papers to bring.

An FAQ entry answers a narrow question more often than a whole matter: a city's "price of
an identity card or passport" entry tells the price, not how to book an appointment or
what to do with a stolen card. Linked to the catalogue intent ``id_card``, such an entry
must take the intent's price questions only; its other phrases ("il faut prendre rendez
vous pour la carte", "ma carte expire quand dois je la renouveler") belong to the
department that does the job. Which facet a question is about is said by a few words that
are the same in every city, so they are listed here per language (the catalogue's
phrases are Vosk-style lower case, as are the normalised texts this module reads).

A word list rather than a model: there are a handful of facets, their cue words are a
closed set, and the rule must be one a city's editor can read. An utterance or question
with none of the cues has no facet; an FAQ entry one of whose questions has no facet is
general and keeps every phrase of its intent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from voicebot.knowledge.model import FaqEntry
from voicebot.routing.text import normalize

PRICE = "price"
DELAY = "delay"
DOCUMENTS = "documents"

_CUES: Mapping[str, Mapping[str, str]] = {
    PRICE: {
        "fr": (
            "combien coûte|coûte|coûtent|coût|prix|tarif|tarifs|payant|"
            "payante|gratuit|gratuite|gratuits|payer|paie|euros|timbre|"
            "timbres|c est combien|ça fait combien|cher|frais|montant"
        ),
        "nl": ("kost|kosten|prijs|tarief|betalen|betaal|gratis|euro|duur|hoeveel moet ik"),
        "en": ("cost|costs|price|fee|fees|how much|free|pay|charge|euros|expensive"),
        "de": ("kostet|kosten|preis|gebühr|gebühren|bezahlen|zahlen|kostenlos|gratis|euro|teuer"),
    },
    DELAY: {
        "fr": (
            "délai|délais|combien de temps|combien de jours|"
            "combien de semaines|en combien|ça prend|durée|c est long"
        ),
        "nl": "termijn|hoelang|hoe lang|duurt|hoeveel dagen|hoeveel weken",
        "en": "how long|delay|how many days|how many weeks|take to",
        "de": "wie lange|dauert|dauer|frist|wie viele tage|wie viele wochen",
    },
    DOCUMENTS: {
        "fr": (
            "apporter|documents|document|papiers|pièces|pièce|fournir|"
            "justificatif|justificatifs|photo|photos|quels papiers"
        ),
        "nl": ("meebrengen|meenemen|documenten|papieren|foto|wat heb ik nodig"),
        "en": "bring|documents|papers|photo|photos|what do i need",
        "de": "mitbringen|unterlagen|dokumente|papiere|foto|brauche ich",
    },
}


def _pattern(cues: str) -> re.Pattern[str]:
    words = sorted(cues.split("|"), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)")


_PATTERNS: dict[str, dict[str, re.Pattern[str]]] = {
    facet: {language: _pattern(cues) for language, cues in by_language.items()}
    for facet, by_language in _CUES.items()
}


def facets(text: str, language: str) -> frozenset[str]:
    """The facets ``text`` (normalised, lower case) asks about; empty when it names none."""
    return frozenset(
        facet
        for facet, by_language in _PATTERNS.items()
        if (pattern := by_language.get(language)) is not None and pattern.search(text)
    )


def narrow_facets(questions: Iterable[tuple[str, str]]) -> frozenset[str]:
    """The facets an FAQ entry is limited to, from its ``(text, language)`` questions.

    Empty (the entry is general) when it has no question, or when one question names no
    facet: "comment renouveler ma carte" makes an entry about the whole matter.
    """
    found: set[str] = set()
    for text, language in questions:
        own = facets(text, language)
        if not own:
            return frozenset()
        found |= own
    return frozenset(found)


def entry_facets(entry: FaqEntry) -> frozenset[str]:
    """``narrow_facets`` of an FAQ entry's own questions (empty: a general entry)."""
    return narrow_facets(
        (normalize(text), language) for language, texts in entry.questions.items() for text in texts
    )


__all__ = ["DELAY", "DOCUMENTS", "PRICE", "entry_facets", "facets", "narrow_facets"]
