"""Which KB target holds which catalogue service or FAQ intent: declared, else inferred.

A department may declare ``services: [...]`` and an FAQ entry ``intent:``. Where a KB
declares none, the links are inferred: every catalogue phrase of a service is scored
against what each target says about itself (its id, name, description fragments and
examples, see ``catalogue_examples.target_profiles``) and against the generic
out-of-scope phrases. The share of the service's phrases whose nearest target is a
department is the confidence that the department holds it. Averaging over the dozens of
phrases of a service makes this robust where one phrase would not be: measured on the
sample city, a department name and description alone find most of its services.

Only confident links are used by the router; weaker ones are proposals for the city to
confirm (``voicebot kb suggest``). docs/decisions/routing-catalogue.md has the reasons.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from voicebot.knowledge.catalogue_model import Catalogue
from voicebot.knowledge.model import KnowledgeBase
from voicebot.routing.decision import FAQ_PREFIX, NONE, OPERATOR
from voicebot.routing.facets import entry_facets
from voicebot.routing.index import ExampleIndex
from voicebot.routing.nearest import nearest_columns, nearest_labels, subset
from voicebot.routing.service_parts import parts_of_services

RECEPTION = "reception"
"""The catalogue service of the switchboard: the operator holds it unless a department does."""

LINK_SHARE = 0.20
"""A target nearest to this share of a service's phrases (among the KB's targets) holds it..."""
SHARED_SHARE = 0.30
"""... and so does a second target with this share (two departments share the service)..."""
MIN_EVIDENCE = 3
"""... provided that this many of the target's own phrases are nearest to that service
(one could be a coincidence of wording: "titre" in an identity-card department's text)..."""
MIN_EVIDENCE_SMALL = 2
"""... or this many for a target that says little about itself (a name, a description)."""
SMALL_PROFILE = 15
PROPOSAL_SHARE = 0.15
"""A weaker candidate: a proposal for the city to confirm, not used for routing."""
MIN_PHRASES = 8
"""A catalogue id with fewer phrases in the KB's languages is never linked by inference."""
PART_SHARE = 0.40
"""A department nearest to this share of a part's phrases (among the KB's departments)
holds that part of the service, when it does not hold the whole (``service_parts.py``):
the "Titres d'identité" department of a mairie and the identity-card part of population.
Higher than ``LINK_SHARE`` because a part has fewer phrases and fewer competitors."""


@dataclass(frozen=True, slots=True)
class Link:
    """One catalogue id held by one KB target."""

    catalogue_id: str
    target: str
    """A department id, ``operator``, or ``faq:<id>``."""
    declared: bool
    confidence: float
    """1.0 when declared; else the share of the id's phrases nearest to the target (for a
    part link, the smallest of its parts' shares)."""
    parts: tuple[str, ...] = ()
    """The parts of the service it holds (their FAQ intent ids); empty: all of it."""

    @property
    def declarable(self) -> tuple[str, ...]:
        """What a department lists under ``services:`` for this link."""
        return self.parts or (self.catalogue_id,)


@dataclass(frozen=True, slots=True)
class CatalogueLinks:
    """The links the router uses, and weaker proposals kept for ``kb suggest``."""

    links: tuple[Link, ...]
    proposals: tuple[Link, ...] = ()
    intent_services: dict[str, str] = field(default_factory=dict)
    """FAQ intent id → the service it belongs to (the catalogue's, kept for routing)."""

    def service_of(self, intent: str) -> str | None:
        """The service of a catalogue FAQ intent (None: not an intent, or none given)."""
        return self.intent_services.get(intent)

    def targets_of(self, catalogue_id: str) -> tuple[str, ...]:
        """KB targets holding ``catalogue_id`` or a part of it (several when shared)."""
        return tuple(link.target for link in self.links if link.catalogue_id == catalogue_id)

    def holders(self, service: str, part: str | None = None) -> tuple[str, ...]:
        """Where a phrase of ``service`` about ``part`` goes: the holders of that part, else
        those holding the whole service."""
        if part is not None:
            held = tuple(
                link.target
                for link in self.links
                if link.catalogue_id == service and part in link.parts
            )
            if held:
                return held
        return tuple(
            link.target for link in self.links if link.catalogue_id == service and not link.parts
        )

    def of_target(self, target: str) -> tuple[Link, ...]:
        """Links (used ones) of one target."""
        return tuple(link for link in self.links if link.target == target)

    @property
    def inferred(self) -> tuple[Link, ...]:
        """The used links that the KB did not declare (the city should confirm them)."""
        return tuple(link for link in self.links if not link.declared)


@dataclass(frozen=True, slots=True)
class LinkEvidence:
    """How each catalogue id and each KB target point at each other."""

    shares: dict[str, dict[str, float]]
    """Catalogue id → target → share of the id's phrases whose nearest target it is."""
    evidence: dict[str, dict[str, int]]
    """Target → catalogue id → how many of the target's own phrases are nearest to the id
    (a phrase nearest to an FAQ intent also counts for the intent's service)."""
    phrases: dict[str, int]
    """Catalogue id → its phrases in the KB's languages."""
    profile_sizes: dict[str, int]
    """Target → how many phrases describe it."""
    part_shares: dict[str, dict[str, float]] = field(default_factory=dict)
    """Part (an FAQ intent id) → target → share of the part's phrases (those of the
    service nearest to the intent) whose nearest target it is."""
    part_phrases: dict[str, int] = field(default_factory=dict)
    """Part → its phrases in the KB's languages."""


def link_evidence(
    catalogue: Catalogue,
    catalogue_index: ExampleIndex,
    profile_index: ExampleIndex,
    parts: Sequence[str | None] = (),
) -> LinkEvidence:
    """Score catalogue phrases against target profiles, and target profiles against the catalogue.

    Both directions use the router's nearest-neighbour score without the centroid term (a
    profile mixes a name, description fragments and examples: its centre means little).
    Both are needed: many phrases of "foreigners" land on the identity-card department of a
    French city (similar words), but none of that department's own phrases is about
    residence permits, and no mairie department issues them.

    ``parts`` gives each catalogue phrase its part (``service_parts.part_labels``), if any:
    the shares are then also counted part by part.
    """
    forward = nearest_columns(catalogue_index, profile_index)
    counts = np.zeros((len(catalogue_index.labels), len(profile_index.labels)))
    np.add.at(counts, (catalogue_index.label_of, forward), 1.0)
    totals = counts.sum(axis=1)
    shares = {
        catalogue_id: {
            target: float(counts[row, column] / totals[row])
            for column, target in enumerate(profile_index.labels)
            if counts[row, column]
        }
        for row, catalogue_id in enumerate(catalogue_index.labels)
    }
    intent_service = {intent.id: intent.service for intent in catalogue.faq_intents}
    evidence: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    backward = nearest_columns(profile_index, catalogue_index)
    for position, example in enumerate(profile_index.examples):
        nearest = catalogue_index.labels[backward[position]]
        evidence[example.label][nearest] += 1
        service = intent_service.get(nearest)
        if service:
            evidence[example.label][service] += 1
    phrases = {cid: int(totals[row]) for row, cid in enumerate(catalogue_index.labels)}
    sizes = {
        label: int(count)
        for label, count in zip(
            profile_index.labels,
            np.bincount(profile_index.label_of, minlength=len(profile_index.labels)),
            strict=True,
        )
    }
    part_counts = _part_counts(catalogue_index, profile_index, parts)
    part_totals = {part: int(sum(counts.values())) for part, counts in part_counts.items()}
    part_shares = {
        part: {target: count / part_totals[part] for target, count in counts.items()}
        for part, counts in part_counts.items()
    }
    return LinkEvidence(
        shares,
        {t: dict(e) for t, e in evidence.items()},
        phrases,
        sizes,
        part_shares,
        part_totals,
    )


def _part_counts(
    catalogue_index: ExampleIndex, profile_index: ExampleIndex, parts: Sequence[str | None]
) -> dict[str, dict[str, float]]:
    """Part → department → how many of the part's phrases are nearest to it.

    The service's own phrases only, against departments only: an intent's phrases are
    information questions, and an FAQ entry's few words ("la carte d identité est
    payante") draw every phrase that names its subject; a part is held by the department
    doing the job.
    """
    rows = [
        position
        for position, part in enumerate(parts)
        if part is not None and catalogue_index.examples[position].label != part
    ]
    columns = [
        position
        for position, example in enumerate(profile_index.examples)
        if not example.label.startswith(FAQ_PREFIX)
    ]
    counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    if not rows or not columns:
        return counts
    nearest = nearest_labels(subset(catalogue_index, rows), subset(profile_index, columns))
    for row, target in zip(rows, nearest, strict=True):
        part = parts[row]
        assert part is not None
        counts[part][target] += 1.0
    return counts


def resolve_links(
    kb: KnowledgeBase,
    catalogue: Catalogue,
    found: LinkEvidence | None = None,
    narrow_siblings: bool = True,
) -> CatalogueLinks:
    """Declared links, plus those inferred from ``found`` for what the KB leaves open.

    Services are inferred for departments that declare none, among services no department
    declares; intents likewise for FAQ entries. ``found`` None: declared links only.
    ``narrow_siblings``: see ``_narrow_siblings``.
    """
    declared = _declared_services(kb, catalogue)
    declared += [
        Link(entry.intent, FAQ_PREFIX + entry.id, True, 1.0) for entry in kb.faq if entry.intent
    ]
    links, proposals = list(declared), []
    if found is not None:
        taken = {link.catalogue_id for link in declared}
        open_departments = {d.id for d in kb.departments if not d.services}
        open_faq = {FAQ_PREFIX + f.id for f in kb.faq if not f.intent}
        faq_department = {FAQ_PREFIX + f.id: f.department for f in kb.faq if f.department}
        parts = parts_of_services(catalogue)
        for service in catalogue.service_ids:
            if service in taken:
                continue
            folded = _fold_faq_into_departments(found.shares.get(service, {}), faq_department)
            allowed = open_departments | ({OPERATOR} if service == RECEPTION else set())
            chosen, weak = _choose(service, folded, allowed, found)
            links += chosen
            proposals += weak
            if service in parts:
                whole = {link.target for link in chosen}
                links += _choose_parts(
                    service, parts[service], whole, open_departments, found, faq_department
                )
        intent_links: list[Link] = []
        for intent in catalogue.intent_ids:
            if intent not in taken:
                shares = found.shares.get(intent, {})
                chosen, weak = _choose(intent, shares, open_faq, found, single=True)
                intent_links += chosen
                proposals += weak
        if narrow_siblings:
            siblings = _narrow_siblings(kb, catalogue, intent_links, proposals, found)
            proposals = [p for p in proposals if p not in siblings]
            intent_links += siblings
        links += intent_links
    if not any(link.catalogue_id == RECEPTION and link.target != OPERATOR for link in links):
        links = [link for link in links if link.catalogue_id != RECEPTION]
        links.append(Link(RECEPTION, OPERATOR, True, 1.0))
    intent_services = {i.id: i.service for i in catalogue.faq_intents if i.service}
    return CatalogueLinks(tuple(links), tuple(proposals), intent_services)


def _narrow_siblings(
    kb: KnowledgeBase,
    catalogue: Catalogue,
    intent_links: list[Link],
    proposals: list[Link],
    found: LinkEvidence,
) -> list[Link]:
    """Proposed intents of the same service as one a narrow FAQ entry holds, for that entry.

    A "price of an identity card or passport" entry is linked to ``id_card``; two short
    questions rarely give the evidence for ``passport`` as well, yet passport prices are
    what it answers. An entry limited to facets (``facets.py``) only takes the phrases of
    its facets, so these sibling links bring it the passport price questions and nothing
    else of the passport intent. One of its own phrases must still be nearest to the
    sibling: without it, a card-price entry would take every price question of population.
    """
    intent_service = {i.id: i.service for i in catalogue.faq_intents}
    narrow = {FAQ_PREFIX + f.id for f in kb.faq if entry_facets(f)}
    services: dict[str, set[str | None]] = defaultdict(set)
    for link in intent_links:
        if link.target in narrow:
            services[link.target].add(intent_service.get(link.catalogue_id))
    held = {link.catalogue_id for link in intent_links}
    chosen: list[Link] = []
    for proposal in sorted(proposals, key=lambda p: -p.confidence):
        service = intent_service.get(proposal.catalogue_id)
        if (
            service is not None
            and proposal.target in services
            and service in services[proposal.target]
            and proposal.catalogue_id not in held
            and found.evidence.get(proposal.target, {}).get(proposal.catalogue_id, 0) >= 1
        ):
            chosen.append(proposal)
            held.add(proposal.catalogue_id)
    return chosen


def _declared_services(kb: KnowledgeBase, catalogue: Catalogue) -> list[Link]:
    """Departments' ``services:``: a service id holds all of it, an FAQ intent id the part
    of its service about that intent ("services: [id_card, passport]" for a mairie's
    identity-documents department)."""
    intent_service = {i.id: i.service for i in catalogue.faq_intents if i.service}
    declared: list[Link] = []
    for dept in kb.departments:
        parts: dict[str, list[str]] = defaultdict(list)
        for service in dept.services:
            if service in intent_service:
                parts[intent_service[service]].append(service)
            else:
                declared.append(Link(service, dept.id, True, 1.0))
        declared += [
            Link(service, dept.id, True, 1.0, tuple(ids)) for service, ids in parts.items()
        ]
    return declared


def _choose_parts(
    service: str,
    parts: Sequence[str],
    whole: set[str],
    allowed: set[str],
    found: LinkEvidence,
    faq_department: Mapping[str, str],
) -> list[Link]:
    """Part links: each part to the department nearest to most of its phrases, when that
    department does not hold the whole service and speaks of the service itself.

    Shares are among departments only (an FAQ entry counts for its department; one
    without a department, and out-of-scope, are left out): a price FAQ entry draws most
    of an intent's own questions and must not hide the department doing the job.
    """
    held: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for part in parts:
        folded = _fold_faq_into_departments(found.part_shares.get(part, {}), faq_department)
        departments = {t: s for t, s in folded.items() if not t.startswith(FAQ_PREFIX)}
        departments.pop(NONE, None)
        total = sum(departments.values())
        if not total or found.part_phrases.get(part, 0) < MIN_PHRASES:
            continue
        share, target = max((s / total, t) for t, s in departments.items())
        small = found.profile_sizes.get(target, 0) < SMALL_PROFILE
        needed = MIN_EVIDENCE_SMALL if small else MIN_EVIDENCE
        backed = found.evidence.get(target, {}).get(service, 0) >= needed
        if target in allowed and target not in whole and share >= PART_SHARE and backed:
            held[target].append((part, share))
    return [
        Link(service, target, False, round(min(s for _, s in items), 3), tuple(p for p, _ in items))
        for target, items in held.items()
    ]


def _fold_faq_into_departments(
    shares: Mapping[str, float], faq_department: Mapping[str, str]
) -> dict[str, float]:
    """An FAQ answer belongs to its department: phrases landing on it count for the department."""
    folded: dict[str, float] = defaultdict(float)
    for target, share in shares.items():
        folded[faq_department.get(target, target)] += share
    return dict(folded)


def _choose(
    catalogue_id: str,
    shares: Mapping[str, float],
    allowed: Iterable[str],
    found: LinkEvidence,
    single: bool = False,
) -> tuple[list[Link], list[Link]]:
    """The targets that hold ``catalogue_id`` (confident), and weaker candidates."""
    allowed = set(allowed)
    in_kb = sum(share for target, share in shares.items() if target != NONE)
    ranked = sorted(
        ((share / in_kb, target) for target, share in shares.items() if target in allowed),
        reverse=True,
    )
    chosen: list[Link] = []
    weak: list[Link] = []
    enough = found.phrases.get(catalogue_id, 0) >= MIN_PHRASES
    for share, target in ranked:
        link = Link(catalogue_id, target, False, round(share, 3))
        small = found.profile_sizes.get(target, 0) < SMALL_PROFILE
        needed = MIN_EVIDENCE_SMALL if small else MIN_EVIDENCE
        backed = found.evidence.get(target, {}).get(catalogue_id, 0) >= needed
        bar = LINK_SHARE if not chosen else SHARED_SHARE
        if enough and backed and share >= bar and (not single or not chosen):
            chosen.append(link)
        elif share >= PROPOSAL_SHARE:
            weak.append(link)
    return chosen, weak


__all__ = [
    "CatalogueLinks",
    "Link",
    "link_evidence",
    "resolve_links",
]
