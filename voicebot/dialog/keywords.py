"""Matching short replies (yes, no, goodbye, "in English please") in recognizer-style text.

Both the caller's words and the keyword phrases go through the router's normalisation
plus accent folding, so "D'accord !" and "d accord" compare equal and an ASR that
drops accents ("francais") still matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache

from voicebot.routing.text import fold_accents, normalize

Phrases = Mapping[str, tuple[str, ...]]
"""Language → phrases."""

# Hesitations ignored around a short reply ("euh non merci"). Deliberately not the
# router's filler list: that one contains "oui", "merci", "ja", which carry meaning here.
HESITATIONS: frozenset[str] = frozenset({
    "euh", "heu", "hum", "hm", "bah", "ben", "bon", "alors", "eh", "ah", "oh", "uh", "um",
    "er", "erm", "well", "nou", "äh", "ähm", "also", "na",
})  # fmt: skip


def tokens(text: str) -> tuple[str, ...]:
    """Normalised, accent-folded words of ``text``."""
    return tuple(fold_accents(normalize(text)).split())


@lru_cache(maxsize=256)
def _phrase_tokens(phrases: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    parsed = {tokens(phrase) for phrase in phrases}
    parsed.discard(())
    # Longest first so that "non merci" wins over "non" when segmenting.
    return tuple(sorted(parsed, key=lambda p: (-len(p), p)))


def _strip_hesitations(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(word for word in words if word not in HESITATIONS)


def starts_with(words: tuple[str, ...], phrases: tuple[str, ...]) -> bool:
    """True when the reply begins with one of ``phrases`` ("oui rappelez-moi" starts with "oui")."""
    words = _strip_hesitations(words)
    return any(words[: len(p)] == p for p in _phrase_tokens(phrases))


def covered_by(
    words: tuple[str, ...], phrases: tuple[str, ...]
) -> tuple[tuple[str, ...], ...] | None:
    """The phrases that together make up the whole reply, or None if any word is left over.

    "non merci c est tout au revoir" is covered by ("non merci", "c est tout", "au revoir").
    """
    words = _strip_hesitations(words)
    if not words:
        return None
    options = _phrase_tokens(phrases)
    memo: dict[int, tuple[tuple[str, ...], ...] | None] = {len(words): ()}

    def cover(start: int) -> tuple[tuple[str, ...], ...] | None:
        if start in memo:
            return memo[start]
        result: tuple[tuple[str, ...], ...] | None = None
        for phrase in options:
            if words[start : start + len(phrase)] == phrase:
                rest = cover(start + len(phrase))
                if rest is not None:
                    result = (phrase, *rest)
                    break
        memo[start] = result
        return result

    return cover(0)


def mentions(words: tuple[str, ...], phrases: Iterable[str]) -> bool:
    """True when one of ``phrases`` occurs anywhere in the reply."""
    for phrase in _phrase_tokens(tuple(phrases)):
        size = len(phrase)
        if any(words[i : i + size] == phrase for i in range(len(words) - size + 1)):
            return True
    return False


def requested_language(words: tuple[str, ...], names: Phrases, max_words: int) -> str | None:
    """The language a short utterance asks for ("english please", "auf deutsch"), if exactly one."""
    words = _strip_hesitations(words)
    if not words or len(words) > max_words:
        return None
    found = {language for language, phrases in names.items() if mentions(words, phrases)}
    return found.pop() if len(found) == 1 else None


def all_phrases(phrases: Phrases, language: str) -> tuple[str, ...]:
    """The phrases of one language (empty when the language has none)."""
    return tuple(phrases.get(language, ()))


_MIN_NAME_WORD = 4
_STEM = 5


def _same_word(heard: str, name_word: str) -> bool:
    # Share a 5-letter stem: "passeports" ~ "passeport", "identite" ~ "identites".
    if heard == name_word:
        return True
    return len(heard) >= _STEM and len(name_word) >= _STEM and heard[:_STEM] == name_word[:_STEM]


def best_option(words: tuple[str, ...], options: Mapping[str, str]) -> str | None:
    """The option (key) whose spoken name shares the most words with the reply, if one wins.

    Words both names share ("service") and short words ("le", "de") do not count.
    """
    name_words = {
        key: {w for w in tokens(name) if len(w) >= _MIN_NAME_WORD} for key, name in options.items()
    }
    shared = set.intersection(*name_words.values()) if name_words else set()
    scores = {
        key: sum(1 for w in words if any(_same_word(w, n) for n in names - shared))
        for key, names in name_words.items()
    }
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    if not ranked or ranked[0][1] == 0:
        return None
    if len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
        return None
    return ranked[0][0]
