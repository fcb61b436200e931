"""Text normalisation for routing: make KB examples look like what Vosk produces.

Vosk outputs lower-case words without punctuation, numbers spelled out, and
apostrophes either kept inside a word or split ("j ai"). KB examples are written by
people ("J'ai perdu ma carte d'identité !"). Both sides go through :func:`normalize`
so that dense and lexical scores compare like with like.
"""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = re.compile(r"[’'`´‘]")
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_SPACES = re.compile(r"\s+")

# Words that carry no routing information in phone speech: greetings, hesitations,
# politeness. Removing them keeps long rambling openings from diluting the request.
FILLERS: dict[str, frozenset[str]] = {
    "fr": frozenset(
        [
            "euh",
            "heu",
            "hum",
            "bah",
            "ben",
            "bon",
            "allo",
            "allô",
            "oui",
            "bonjour",
            "bonsoir",
            "madame",
            "monsieur",
            "alors",
            "voilà",
            "voila",
            "donc",
            "enfin",
            "merci",
            "sil",
            "plait",
            "plaît",
            "svp",
            "écoutez",
            "ecoutez",
            "excusez",
        ]
    ),
    "nl": frozenset(
        [
            "eh",
            "euh",
            "uh",
            "hallo",
            "goedemorgen",
            "goeiedag",
            "dag",
            "mevrouw",
            "meneer",
            "ja",
            "dus",
            "nou",
        ]
    ),
    "en": frozenset(
        [
            "uh",
            "um",
            "er",
            "erm",
            "hello",
            "hi",
            "yes",
            "yeah",
            "so",
            "well",
            "okay",
            "ok",
            "please",
            "sir",
            "madam",
        ]
    ),
    "de": frozenset(
        ["äh", "ähm", "hallo", "guten", "tag", "ja", "also", "na", "bitte", "herr", "frau"]
    ),
}


def normalize(text: str) -> str:
    """Lower-case, drop punctuation, split apostrophes; keep accents and digits."""
    text = unicodedata.normalize("NFC", text).lower()
    text = _APOSTROPHES.sub(" ", text)
    text = _NON_WORD.sub(" ", text).replace("_", " ")
    return _SPACES.sub(" ", text).strip()


def fold_accents(text: str) -> str:
    """Remove diacritics ("é" → "e"), for lexical matching robust to ASR spelling."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def strip_fillers(text: str, language: str | None = None) -> str:
    """Drop greeting and hesitation words; return the text unchanged if nothing is left."""
    fillers = FILLERS.get(language or "", frozenset()) or frozenset().union(*FILLERS.values())
    kept = [word for word in text.split() if word not in fillers]
    return " ".join(kept) if kept else text
