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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from voicebot.knowledge.catalogue_model import Catalogue
from voicebot.knowledge.model import KnowledgeBase
from voicebot.routing.decision import FAQ_PREFIX, NONE, OPERATOR
from voicebot.routing.index import ExampleIndex
from voicebot.routing.lexical import LexicalIndex
from voicebot.routing.scoring import Scorer, ScoringConfig

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


@dataclass(frozen=True, slots=True)
class Link:
    """One catalogue id held by one KB target."""

    catalogue_id: str
    target: str
    """A department id, ``operator``, or ``faq:<id>``."""
    declared: bool
    confidence: float
    """1.0 when declared; else the share of the id's phrases nearest to the target."""


@dataclass(frozen=True, slots=True)
class CatalogueLinks:
    """The links the router uses, and weaker proposals kept for ``kb suggest``."""

    links: tuple[Link, ...]
    proposals: tuple[Link, ...] = ()

    def targets_of(self, catalogue_id: str) -> tuple[str, ...]:
        """KB targets holding ``catalogue_id`` (several when departments share a service)."""
        return tuple(link.target for link in self.links if link.catalogue_id == catalogue_id)

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


def link_evidence(
    catalogue: Catalogue, catalogue_index: ExampleIndex, profile_index: ExampleIndex
) -> LinkEvidence:
    """Score catalogue phrases against target profiles, and target profiles against the catalogue.

    Both directions use the router's nearest-neighbour score without the centroid term (a
    profile mixes a name, description fragments and examples: its centre means little).
    Both are needed: many phrases of "foreigners" land on the identity-card department of a
    French city (similar words), but none of that department's own phrases is about
    residence permits, and no mairie department issues them.
    """
    forward = _nearest(catalogue_index, profile_index)
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
    backward = _nearest(profile_index, catalogue_index)
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
    return LinkEvidence(shares, {t: dict(e) for t, e in evidence.items()}, phrases, sizes)


def _nearest(queries: ExampleIndex, references: ExampleIndex) -> np.ndarray:
    scorer = Scorer(
        references,
        LexicalIndex([e.text for e in references.examples]),
        None,
        ScoringConfig(centroid_weight=0.0, same_language_neighbours=False),
    )
    texts = [e.text for e in queries.examples]
    scores = scorer.neighbour_scores(queries.vectors, scorer.lexical.similarity_matrix(texts))
    return np.asarray(scores.argmax(axis=1))


def resolve_links(
    kb: KnowledgeBase, catalogue: Catalogue, found: LinkEvidence | None = None
) -> CatalogueLinks:
    """Declared links, plus those inferred from ``found`` for what the KB leaves open.

    Services are inferred for departments that declare none, among services no department
    declares; intents likewise for FAQ entries. ``found`` None: declared links only.
    """
    declared: list[Link] = [
        Link(service, dept.id, True, 1.0) for dept in kb.departments for service in dept.services
    ]
    declared += [
        Link(entry.intent, FAQ_PREFIX + entry.id, True, 1.0) for entry in kb.faq if entry.intent
    ]
    links, proposals = list(declared), []
    if found is not None:
        taken = {link.catalogue_id for link in declared}
        open_departments = {d.id for d in kb.departments if not d.services}
        open_faq = {FAQ_PREFIX + f.id for f in kb.faq if not f.intent}
        faq_department = {FAQ_PREFIX + f.id: f.department for f in kb.faq if f.department}
        for service in catalogue.service_ids:
            if service in taken:
                continue
            folded = _fold_faq_into_departments(found.shares.get(service, {}), faq_department)
            allowed = open_departments | ({OPERATOR} if service == RECEPTION else set())
            chosen, weak = _choose(service, folded, allowed, found)
            links += chosen
            proposals += weak
        intent_links: list[Link] = []
        for intent in catalogue.intent_ids:
            if intent not in taken:
                shares = found.shares.get(intent, {})
                chosen, weak = _choose(intent, shares, open_faq, found, single=True)
                intent_links += chosen
                proposals += weak
        links += intent_links
    if not any(link.catalogue_id == RECEPTION and link.target != OPERATOR for link in links):
        links = [link for link in links if link.catalogue_id != RECEPTION]
        links.append(Link(RECEPTION, OPERATOR, True, 1.0))
    return CatalogueLinks(tuple(links), tuple(proposals))


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
