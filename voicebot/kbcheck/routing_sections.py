"""Sections about routing: catalogue links, cross-validated accuracy, conflicts, weak targets."""

from __future__ import annotations

from collections import Counter, defaultdict

from voicebot.i18n.catalogues import N_
from voicebot.kbcheck.report import CheckContext, Finding, Level, Section
from voicebot.knowledge.model import KnowledgeBase
from voicebot.routing.decision import FAQ_PREFIX, NONE, OPERATOR
from voicebot.routing.index import Origin
from voicebot.routing.text import normalize

WEAK_EXAMPLES = 5
"""A department with no catalogue link and fewer examples than this routes poorly."""
LOW_ACCURACY = 0.8
"""Cross-validated accuracy under this (with at least MIN_SCORED examples) is a warning."""
MIN_SCORED = 3


def links_section(context: CheckContext) -> Section:
    """Which catalogue services and intents each target holds, and which were inferred."""
    links = context.router.links
    if links is None:
        return Section(
            N_("Catalogue links"),
            (Finding(Level.INFO, N_("The service catalogue is not in use for this KB.")),),
        )
    findings: list[Finding] = []
    for target in _targets(context.kb):
        held = links.of_target(target)
        declared = [name for link in held if link.declared for name in link.declarable]
        inferred = [
            f"{', '.join(link.declarable)} ({link.confidence:.2f})"
            for link in held
            if not link.declared
        ]
        if declared and target != OPERATOR:
            findings.append(
                Finding(
                    Level.INFO,
                    N_("%(target)s: declared %(ids)s."),
                    {"target": target, "ids": ", ".join(declared)},
                )
            )
        if inferred:
            findings.append(
                Finding(
                    Level.WARNING,
                    N_("%(target)s: inferred from its texts, please confirm: %(ids)s."),
                    {"target": target, "ids": ", ".join(inferred)},
                )
            )
    if links.inferred:
        findings.append(
            Finding(
                Level.INFO,
                N_("voicebot kb suggest prints the inferred links as YAML to paste into the KB."),
            )
        )
    if not findings:
        findings.append(Finding(Level.INFO, N_("No catalogue link declared or inferred.")))
    return Section(N_("Catalogue links"), tuple(findings))


def accuracy_section(context: CheckContext) -> Section:
    """Each target's own examples, routed by a model trained without them."""
    router = context.router
    wanted = _own_examples(context.kb)
    rows = [
        row
        for row, example in enumerate(router.index.examples)
        if example.origin is Origin.CITY and (example.label, example.text) in wanted
    ]
    decisions = router.heldout_decisions(rows) if rows else []
    per_target: dict[str, Counter[str]] = defaultdict(Counter)
    for row, decision in zip(rows, decisions, strict=True):
        per_target[router.index.examples[row].label][decision.label] += 1
    findings: list[Finding] = []
    correct = sum(counts[target] for target, counts in per_target.items())
    total = sum(sum(counts.values()) for counts in per_target.values())
    if total:
        findings.append(
            Finding(
                Level.INFO,
                N_(
                    "Overall: %(correct)s of %(total)s examples routed back to their target "
                    "(%(percent)s %%)."
                ),
                {"correct": correct, "total": total, "percent": round(100 * correct / total)},
            )
        )
    for target in _targets(context.kb):
        counts = per_target.get(target)
        if not counts:
            continue
        scored = sum(counts.values())
        share = counts[target] / scored
        others = [(label, n) for label, n in counts.most_common() if label != target]
        params: dict[str, object] = {
            "target": target,
            "correct": counts[target],
            "total": scored,
            "percent": round(100 * share),
        }
        level = Level.WARNING if scored >= MIN_SCORED and share < LOW_ACCURACY else Level.INFO
        if others:
            params["others"] = ", ".join(f"{label} ({n})" for label, n in others[:3])
            message = N_(
                "%(target)s: %(correct)s of %(total)s (%(percent)s %%); confused with %(others)s."
            )
        else:
            message = N_("%(target)s: %(correct)s of %(total)s (%(percent)s %%).")
        findings.append(Finding(level, message, params))
    if any(NONE in counts for counts in per_target.values()):
        findings.append(Finding(Level.INFO, N_("none: rejected as out of scope.")))
    if not findings:
        findings.append(Finding(Level.INFO, N_("No example phrases to cross-validate.")))
    return Section(N_("Cross-validated accuracy"), tuple(findings))


def conflicts_section(context: CheckContext) -> Section:
    """The same phrase written under two targets: the router cannot learn from it."""
    owners: dict[str, list[str]] = defaultdict(list)
    for label, text in sorted(_own_examples(context.kb)):
        if label not in owners[text]:
            owners[text].append(label)
    findings = [
        Finding(
            Level.PROBLEM,
            N_("“%(text)s” is an example of %(targets)s: keep it under one."),
            {"text": text, "targets": ", ".join(labels)},
        )
        for text, labels in sorted(owners.items())
        if len(labels) > 1
    ]
    if not findings:
        findings.append(Finding(Level.INFO, N_("No phrase is written under two targets.")))
    return Section(N_("Conflicting examples"), tuple(findings))


def weak_targets_section(context: CheckContext) -> Section:
    """Departments that have neither a catalogue link nor enough examples."""
    links = context.router.links
    findings: list[Finding] = []
    for dept in context.kb.departments:
        linked = bool(links and links.of_target(dept.id))
        count = sum(len(items) for items in dept.examples.values())
        if not linked and count < WEAK_EXAMPLES:
            findings.append(
                Finding(
                    Level.WARNING,
                    N_(
                        "%(target)s has no catalogue link and %(count)s examples: declare "
                        "its services or write at least %(needed)s examples."
                    ),
                    {"target": dept.id, "count": count, "needed": WEAK_EXAMPLES},
                )
            )
    if not findings:
        findings.append(
            Finding(Level.INFO, N_("Every department has a catalogue link or enough examples."))
        )
    return Section(N_("Departments with little to go on"), tuple(findings))


def _targets(kb: KnowledgeBase) -> list[str]:
    return [d.id for d in kb.departments] + [FAQ_PREFIX + f.id for f in kb.faq] + [OPERATOR]


def _own_examples(kb: KnowledgeBase) -> set[tuple[str, str]]:
    """(label, normalised text) of the phrases the city wrote as examples or questions."""
    own = {(d.id, normalize(t)) for d in kb.departments for v in d.examples.values() for t in v}
    own |= {
        (FAQ_PREFIX + f.id, normalize(t)) for f in kb.faq for v in f.questions.values() for t in v
    }
    own |= {(OPERATOR, normalize(t)) for v in kb.operator.examples.values() for t in v}
    return own
