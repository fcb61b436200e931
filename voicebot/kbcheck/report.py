"""A check report made of sections, each a list of findings, and a one-line verdict.

Each section is built by one function of the :class:`CheckContext`; another check (the
spoken duration of every text, say) is one more function in ``SECTIONS``. Texts are
English catalogue entries (``N_``) translated into the KB's default language when shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from functools import cached_property
from typing import TYPE_CHECKING

from voicebot.i18n.catalogues import CatalogueError, translations
from voicebot.knowledge.model import KnowledgeBase

if TYPE_CHECKING:
    from voicebot.routing.router import Router


class Level(IntEnum):
    """How much a finding matters: a problem blocks the verdict, a warning does not."""

    INFO = 0
    WARNING = 1
    PROBLEM = 2


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of a section: a catalogue message and its named parameters."""

    level: Level
    message: str
    params: dict[str, object] = field(default_factory=dict)

    def text(self, gettext: Callable[[str], str]) -> str:
        """The finding in the language of ``gettext``."""
        translated = gettext(self.message)
        return translated % self.params if self.params else translated


@dataclass(frozen=True, slots=True)
class Section:
    """A titled group of findings."""

    title: str
    findings: tuple[Finding, ...]

    @property
    def level(self) -> Level:
        """The worst level of its findings."""
        return max((f.level for f in self.findings), default=Level.INFO)


class CheckContext:
    """What sections look at: the KB, and the router built for it (once, on first use)."""

    def __init__(self, kb: KnowledgeBase, build_router: Callable[[], Router]) -> None:
        self.kb = kb
        self._build_router = build_router

    @cached_property
    def router(self) -> Router:
        """The KB's router, with the catalogue."""
        return self._build_router()


SectionBuilder = Callable[[CheckContext], Section]


@dataclass(frozen=True, slots=True)
class Report:
    """Every section, and the verdict drawn from them."""

    source: str
    language: str
    sections: tuple[Section, ...]
    verdict: Finding

    @property
    def ready(self) -> bool:
        """No section found a problem."""
        return all(section.level < Level.PROBLEM for section in self.sections)

    def render(self) -> str:
        """The report as text, in the KB's default language."""
        gettext = gettext_for(self.language)
        marks = {Level.INFO: " ", Level.WARNING: "!", Level.PROBLEM: "✗"}
        lines = [self.source]
        for section in self.sections:
            lines += ["", gettext(section.title)]
            lines += [f" {marks[f.level]} {f.text(gettext)}" for f in section.findings]
        lines += ["", self.verdict.text(gettext)]
        return "\n".join(lines)


def gettext_for(language: str) -> Callable[[str], str]:
    """The catalogue's translation function for ``language`` (English if it has none)."""
    try:
        return translations(language).gettext
    except CatalogueError:
        return translations("en").gettext
