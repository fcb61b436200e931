"""The one-line verdict of a check report."""

from __future__ import annotations

from collections.abc import Sequence

from voicebot.i18n.catalogues import N_
from voicebot.kbcheck.report import Finding, Level, Section


def verdict(sections: Sequence[Section]) -> Finding:
    """Ready, ready with warnings, or needs work, with the counts."""
    findings = [f for section in sections for f in section.findings]
    problems = sum(f.level is Level.PROBLEM for f in findings)
    warnings = sum(f.level is Level.WARNING for f in findings)
    if problems:
        return Finding(
            Level.PROBLEM,
            N_("Verdict: needs work: %(problems)s problem(s) and %(warnings)s warning(s) above."),
            {"problems": problems, "warnings": warnings},
        )
    if warnings:
        return Finding(
            Level.WARNING,
            N_("Verdict: ready; %(warnings)s warning(s) above are worth a look."),
            {"warnings": warnings},
        )
    return Finding(Level.INFO, N_("Verdict: ready."))
