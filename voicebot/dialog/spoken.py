"""How long the assistant may talk: the limits per kind of text, and the greeting's length.

Telephone guidance for public services keeps what plays before the caller may speak, and
every answer, short, with details on request. The limits apply to the audio as rendered
(synthesised at the configured rate, or the city's recording), measured by
``voicebot.cli.prompts.spoken_texts``; ``voicebot.kbcheck.spoken_section`` words the
findings of ``voicebot kb check``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from voicebot.dialog.prompts import PromptKey

GREETING_LIMIT_S = 7.0
"""Greeting plus language offer: what plays before the caller may speak."""
ANSWER_LIMIT_S = 20.0
"""The short spoken form of an FAQ answer; the rest goes into ``details``."""
RECORDING_LIMITS_S: dict[str, float] = {
    PromptKey.GREETING.value: GREETING_LIMIT_S,
    PromptKey.LANGUAGE_OFFER.value: 4.0,
    PromptKey.FAQ.value: ANSWER_LIMIT_S,
    PromptKey.FAQ_DETAILS.value: 60.0,
    PromptKey.MENU.value: 60.0,
}
"""Longest recording accepted per prompt family (others: 30 s)."""


@dataclass(frozen=True, slots=True)
class SpokenText:
    """One prompt and how long it plays."""

    language: str
    key: str
    text: str
    seconds: float
    recorded: bool = False
    """Measured on the city's recording rather than on synthesis."""


def greeting_seconds(texts: Sequence[SpokenText]) -> dict[str, float]:
    """Greeted language → seconds of greeting plus language offer."""
    by_key = {(t.language, t.key): t.seconds for t in texts}
    offers = {
        t.key.split(":", 1)[1]: t.seconds for t in texts if _family(t.key) == "language_offer"
    }
    return {
        language: round(seconds + offers.get(language, 0.0), 2)
        for (language, key), seconds in by_key.items()
        if key == PromptKey.GREETING
    }


def _family(key: str) -> str:
    return key.split(":", 1)[0]
