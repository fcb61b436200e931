"""A seeded model of speech recognition errors, to measure routing on what Vosk might write.

No French speech model runs here, so recognition errors are simulated on the evaluation
transcripts. A word is hit with probability ``p`` (set so that the expected word error
rate is the requested one) by one of the error kinds a small Kaldi model makes on phone
audio:

- **deletion of a short word** (articles, prepositions, pronouns: "de", "la", "je", "het");
- **substitution by a phonetically close word** of the language's vocabulary: words with
  the same rough phonetic key ("mairie" → "marie", "médiathèque" → "médiatique",
  "wijk" → "week"), else a key one edit away; the vocabulary is the catalogue's and the
  negatives' words, so a substitute is a word the recogniser could output;
- **split** of a long word into two ("encombrants" → "en combrants"): two errors;
- **merge** of two short neighbours ("l adresse" → "ladresse"): two errors.

The rough phonetic keys are hand-written (a few rewrite rules per language), because no
maintained French or Dutch phonetic library is packaged for this machine; they need only
find plausible confusions, not transcribe. ``word_error_rate`` measures what came out
(word-level Levenshtein), which is the figure reported.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from typing import ClassVar

from voicebot.routing.text import fold_accents, normalize

SHORT_WORDS = {
    "fr": "a à au aux ce c d de des du en et il j je l la le les m ma me mes mon n ne on ou "
    "par pas pour qu que qui s sa se ses son sur t ta te tu un une y",
    "nl": "de het een en in op te van voor met is ik je we ze er aan al als bij dat die "
    "dit maar mijn om of ook naar nog niet wat wel zo",
    "en": "a an the to of in on at for and or is it i my me we you be do so if as by",
    "de": "der die das den dem des ein eine einen im in am an auf zu und oder ist ich mein "
    "mir wir sie es bei mit von vom zum zur",
}

_RULES: dict[str, list[tuple[str, str]]] = {
    "fr": [
        (r"eaux?|aux?|ault", "o"),
        (r"ph", "f"),
        (r"qu|q|k|c(?=[aou])|ck", "k"),
        (r"c(?=[eiy])|ç|ss|sc(?=[ei])", "s"),
        (r"ge(?=[aou])|g(?=[eiy])", "j"),
        (r"gu(?=[ei])", "g"),
        (r"(ai|ei|er|ez|et|é|è|ê)", "e"),
        (r"(an|en|am|em)(?![aeiouy])", "A"),
        (r"(ain|ein|in|im|un|yn)(?![aeiouy])", "I"),
        (r"(on|om)(?![aeiouy])", "O"),
        (r"h", ""),
        (r"y", "i"),
        (r"(ent|es|s|t|x|d|e)$", ""),
    ],
    "nl": [
        (r"ij|ei|y", "Y"),
        (r"au|ou", "W"),
        (r"ch|g", "G"),
        (r"dt$|d$", "t"),
        (r"v", "f"),
        (r"z", "s"),
        (r"ee", "e"),
        (r"oo", "o"),
        (r"uu", "u"),
        (r"aa", "a"),
        (r"ie", "i"),
        (r"c(?=[eiy])", "s"),
        (r"c", "k"),
        (r"en$", "e"),
    ],
    "en": [
        (r"ph", "f"),
        (r"ck|c(?=[aou])|q", "k"),
        (r"c(?=[eiy])", "s"),
        (r"ee|ea|ie", "i"),
        (r"oo|ou", "u"),
        (r"gh", ""),
        (r"h", ""),
        (r"e$", ""),
        (r"s$", ""),
    ],
    "de": [
        (r"ei|ai", "Y"),
        (r"eu|äu", "W"),
        (r"ch|g", "G"),
        (r"v", "f"),
        (r"ph", "f"),
        (r"dt$|d$", "t"),
        (r"ie", "i"),
        (r"h(?![aeiouäöü])", ""),
        (r"z", "ts"),
        (r"e$|en$", ""),
    ],
}
_DOUBLE = re.compile(r"(.)\1+")


def phonetic_key(word: str, language: str) -> str:
    """A rough key: words that sound alike in ``language`` tend to share it."""
    key = word.lower()
    if language != "fr":
        key = fold_accents(key)
    for pattern, replacement in _RULES.get(language, _RULES["en"]):
        key = re.sub(pattern, replacement, key)
    return _DOUBLE.sub(r"\1", fold_accents(key))


@cache
def vocabulary(language: str) -> dict[str, tuple[str, ...]]:
    """Phonetic key → words of ``language`` seen in the catalogue and the negatives."""
    words: set[str] = set()
    for text in _shipped_texts(language):
        words.update(w for w in normalize(text).split() if len(w) > 1 and w.isalpha())
    by_key: dict[str, list[str]] = defaultdict(list)
    for word in sorted(words):
        by_key[phonetic_key(word, language)].append(word)
    return {key: tuple(items) for key, items in by_key.items()}


def _shipped_texts(language: str) -> Iterable[str]:
    from voicebot.knowledge.catalogue_loader import catalogue_available, load_catalogue

    negatives = resources.files("voicebot.routing").joinpath("negatives", f"{language}.txt")
    if negatives.is_file():
        yield from negatives.read_text("utf-8").splitlines()
    if catalogue_available():
        for entry in load_catalogue().entries():
            yield from entry.phrases.get(language, ())


class NoiseModel:
    """Corrupts transcripts at a target word error rate; the same seed gives the same errors."""

    COST: ClassVar[dict[str, int]] = {"delete": 1, "substitute": 1, "split": 2, "merge": 2}

    def __init__(self, wer: float, seed: int = 0) -> None:
        self.wer = wer
        self._rng = random.Random(seed)

    def corrupt(self, text: str, language: str) -> str:
        """``text`` (normalised) as a recogniser might have heard it.

        Each word draws one error kind among those that apply to it, and suffers it with
        probability ``wer / cost`` (a split or merge costs two word errors), so that the
        expected word error rate is ``wer`` whatever the mix of words.
        """
        words = normalize(text).split()
        short = set(SHORT_WORDS.get(language, "").split())
        out: list[str] = []
        index = 0
        while index < len(words):
            word = words[index]
            nxt = words[index + 1] if index + 1 < len(words) else None
            applicable = [("substitute", 0.5)]
            if word in short:
                applicable.append(("delete", 0.3))
            if len(word) >= 7:
                applicable.append(("split", 0.1))
            if nxt is not None and min(len(word), len(nxt)) <= 3:
                applicable.append(("merge", 0.1))
            kind = self._pick(applicable)
            if self._rng.random() >= self.wer / self.COST[kind]:
                out.append(word)
            elif kind == "delete":
                pass
            elif kind == "merge" and nxt is not None:
                out.append(word + nxt)
                index += 1
            elif kind == "split":
                out.extend(self._split(word, language))
            else:
                substitute = self._substitute(word, language)
                if substitute:  # a short word with no sound-alike is dropped instead
                    out.append(substitute)
            index += 1
        return " ".join(out)

    def _pick(self, kinds: Sequence[tuple[str, float]]) -> str:
        roll = self._rng.random() * sum(weight for _, weight in kinds)
        for kind, weight in kinds:
            if roll < weight:
                return kind
            roll -= weight
        return kinds[-1][0]

    def _substitute(self, word: str, language: str) -> str:
        vocab = vocabulary(language)
        key = phonetic_key(word, language)
        same = [w for w in vocab.get(key, ()) if w != word]
        if same:
            return self._rng.choice(same)
        near = [
            w
            for other, items in vocab.items()
            if abs(len(other) - len(key)) <= 1 and _one_edit(other, key)
            for w in items
            if w != word
        ]
        if near:
            return self._rng.choice(sorted(near))
        if len(word) > 3:  # no sound-alike known: drop a letter, as a garbled ending does
            cut = self._rng.randrange(1, len(word))
            return word[:cut] + word[cut + 1 :]
        return ""

    def _split(self, word: str, language: str) -> list[str]:
        vocab_words = {w for items in vocabulary(language).values() for w in items}
        cuts = [c for c in range(2, len(word) - 2) if word[:c] in vocab_words]
        cut = self._rng.choice(cuts) if cuts else len(word) // 2
        return [word[:cut], word[cut:]]


def _one_edit(a: str, b: str) -> bool:
    if a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus WER: word edits (substitutions, deletions, insertions) over reference words."""
    edits = words = 0
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        ref, hyp = normalize(reference).split(), normalize(hypothesis).split()
        edits += _edit_distance(ref, hyp)
        words += len(ref)
    return edits / words if words else 0.0


def _edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]
