"""Run every section of ``voicebot kb check`` on a KB."""

from __future__ import annotations

from collections.abc import Callable

from voicebot.kbcheck.report import CheckContext, Report, SectionBuilder
from voicebot.kbcheck.routing_sections import (
    accuracy_section,
    conflicts_section,
    links_section,
    weak_targets_section,
)
from voicebot.kbcheck.verdict import verdict
from voicebot.knowledge.model import KnowledgeBase
from voicebot.routing.router import Router

SECTIONS: tuple[SectionBuilder, ...] = (
    conflicts_section,
    links_section,
    weak_targets_section,
    accuracy_section,
)
"""The sections, in the order shown. A new check is one more builder here."""


def check_kb(
    kb: KnowledgeBase,
    build_router: Callable[[], Router],
    sections: tuple[SectionBuilder, ...] = SECTIONS,
) -> Report:
    """The report of ``kb``; ``build_router`` is called once, when a section needs it."""
    context = CheckContext(kb, build_router)
    built = tuple(builder(context) for builder in sections)
    return Report(kb.source, kb.city.default_language, built, verdict(built))
