"""The spoken-duration section of ``voicebot kb check``: how long each text plays.

The texts are measured beforehand as a caller hears them (the city's recording where
there is one, else synthesis at the configured rate: ``voicebot.cli.prompts``); this
builder only compares them with the limits of :mod:`voicebot.dialog.spoken` and words
the findings. A text over its limit is a warning: the KB routes as well, but callers
lose the thread (or hang up) before the end.
"""

from __future__ import annotations

from collections.abc import Sequence

from voicebot.dialog.prompts import PromptKey
from voicebot.dialog.spoken import ANSWER_LIMIT_S, GREETING_LIMIT_S, SpokenText, greeting_seconds
from voicebot.i18n.catalogues import N_
from voicebot.kbcheck.report import CheckContext, Finding, Level, Section, SectionBuilder


def spoken_section(texts: Sequence[SpokenText], rate_wpm: int) -> SectionBuilder:
    """A section builder over texts already measured."""

    def build(context: CheckContext) -> Section:
        return Section(N_("Spoken durations"), tuple(spoken_findings(texts, rate_wpm)))

    return build


def spoken_findings(texts: Sequence[SpokenText], rate_wpm: int) -> list[Finding]:
    """Greetings, menus and every answer with its duration; the long ones as warnings."""
    findings = [
        Finding(
            Level.INFO,
            N_(
                "Synthesis at %(rate)s words per minute; %(recorded)s text(s) recorded by the city."
            ),
            {"rate": rate_wpm, "recorded": sum(t.recorded for t in texts)},
        )
    ]
    for language, seconds in greeting_seconds(texts).items():
        over = seconds > GREETING_LIMIT_S
        findings.append(
            Finding(
                Level.WARNING if over else Level.INFO,
                N_(
                    "Greeting and language offer (%(language)s): %(seconds)s s, "
                    "at most %(limit)s s before the caller may speak."
                ),
                {
                    "language": language,
                    "seconds": f"{seconds:.1f}",
                    "limit": f"{GREETING_LIMIT_S:.0f}",
                },
            )
        )
    for text in texts:
        if _family(text.key) == PromptKey.MENU:
            findings.append(
                Finding(
                    Level.INFO,
                    N_("Keypad menu %(menu)s (%(language)s): %(seconds)s s."),
                    {"menu": text.key, "language": text.language, "seconds": f"{text.seconds:.1f}"},
                )
            )
    answers = [t for t in texts if _family(t.key) in (PromptKey.FAQ, PromptKey.FAQ_DETAILS)]
    for key in dict.fromkeys(t.key for t in answers):
        own = [t for t in answers if t.key == key]
        durations = ", ".join(f"{t.language} {t.seconds:.1f} s" for t in own)
        findings.append(
            Finding(
                Level.INFO, N_("%(text)s: %(durations)s."), {"text": key, "durations": durations}
            )
        )
        if _family(key) != PromptKey.FAQ:
            continue
        findings += [
            Finding(
                Level.WARNING,
                N_(
                    "%(text)s (%(language)s) plays %(seconds)s s, more than %(limit)s s: "
                    "keep what most callers need and move the rest into details."
                ),
                {
                    "text": key,
                    "language": t.language,
                    "seconds": f"{t.seconds:.1f}",
                    "limit": f"{ANSWER_LIMIT_S:.0f}",
                },
            )
            for t in own
            if t.seconds > ANSWER_LIMIT_S
        ]
    return findings


def _family(key: str) -> str:
    return key.split(":", 1)[0]
