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

LINK_SHARE = 0.30
"""A target nearest to this share of a service's phrases holds it."""
CLEAR_SHARE = 0.20
"""... or this share, when it is twice the next target's."""
NONE_RATIO = 0.5
"""... and in both cases at least this fraction of the share landing on out-of-scope talk
(a residence permit in a French city lands mostly there: no mairie department holds it)."""
PROPOSAL_SHARE = 0.12
"""Below a link, above this: a proposal for the city to confirm, not used for routing."""
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


Shares = Mapping[str, Mapping[str, float]]
"""Catalogue id → KB target (or ``none``) → share of the id's phrases nearest to it."""


def phrase_shares(
    catalogue_index: ExampleIndex, profile_index: ExampleIndex
) -> tuple[dict[str, dict[str, float]], dict[str, int]]:
    """For each catalogue id, where its phrases land among the KB targets' profiles.

    ``profile_index`` holds the targets' self-descriptions and the generic out-of-scope
    phrases (label ``none``); nearest-neighbour scoring as the router's, without the
    centroid term (a profile mixes a name, fragments and examples: its centre means little).
    """
    scorer = Scorer(
        profile_index,
        LexicalIndex([e.text for e in profile_index.examples]),
        None,
        ScoringConfig(centroid_weight=0.0),
    )
    texts = [e.text for e in catalogue_index.examples]
    scores = scorer.neighbour_scores(
        catalogue_index.vectors, scorer.lexical.similarity_matrix(texts)
    )
    nearest = scores.argmax(axis=1)
    counts = np.zeros((len(catalogue_index.labels), len(profile_index.labels)))
    np.add.at(counts, (catalogue_index.label_of, nearest), 1.0)
    totals = counts.sum(axis=1)
    shares = {
        catalogue_id: {
            target: float(counts[row, column] / totals[row])
            for column, target in enumerate(profile_index.labels)
            if counts[row, column]
        }
        for row, catalogue_id in enumerate(catalogue_index.labels)
    }
    return shares, {cid: int(totals[row]) for row, cid in enumerate(catalogue_index.labels)}


def resolve_links(
    kb: KnowledgeBase,
    catalogue: Catalogue,
    shares: Shares | None = None,
    phrase_counts: Mapping[str, int] | None = None,
) -> CatalogueLinks:
    """Declared links, plus those inferred from ``shares`` for what the KB leaves open.

    Services are inferred for departments that declare none, among services no department
    declares; intents likewise for FAQ entries. ``shares`` None: declared links only.
    """
    declared: list[Link] = [
        Link(service, dept.id, True, 1.0) for dept in kb.departments for service in dept.services
    ]
    declared += [
        Link(entry.intent, FAQ_PREFIX + entry.id, True, 1.0) for entry in kb.faq if entry.intent
    ]
    links, proposals = list(declared), []
    if shares is not None:
        counts = phrase_counts or {}
        taken = {link.catalogue_id for link in declared}
        open_departments = {d.id for d in kb.departments if not d.services}
        open_faq = {FAQ_PREFIX + f.id for f in kb.faq if not f.intent}
        faq_department = {FAQ_PREFIX + f.id: f.department for f in kb.faq if f.department}
        for service in catalogue.service_ids:
            if service in taken:
                continue
            folded = _fold_faq_into_departments(shares.get(service, {}), faq_department)
            allowed = open_departments | ({OPERATOR} if service == RECEPTION else set())
            chosen, weak = _choose(
                service, folded, allowed, counts.get(service, 0), folded.get(NONE, 0.0)
            )
            links += chosen
            proposals += weak
        intent_links: list[Link] = []
        for intent in catalogue.intent_ids:
            if intent not in taken:
                intent_shares = shares.get(intent, {})
                chosen, weak = _choose(
                    intent,
                    intent_shares,
                    open_faq,
                    counts.get(intent, 0),
                    intent_shares.get(NONE, 0.0),
                    single=True,
                )
                intent_links += chosen
                proposals += weak
        links += _one_intent_per_entry(intent_links)
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
    phrases: int,
    out_of_scope: float,
    single: bool = False,
) -> tuple[list[Link], list[Link]]:
    allowed = set(allowed)
    ranked = sorted(
        ((share, target) for target, share in shares.items() if target in allowed),
        reverse=True,
    )
    if not ranked:
        return [], []
    best_share = ranked[0][0]
    second = ranked[1][0] if len(ranked) > 1 else 0.0
    confident = (
        phrases >= MIN_PHRASES
        and best_share >= NONE_RATIO * out_of_scope
        and (best_share >= LINK_SHARE or (best_share >= CLEAR_SHARE and best_share >= 2 * second))
    )
    chosen: list[Link] = []
    weak: list[Link] = []
    for rank, (share, target) in enumerate(ranked):
        link = Link(catalogue_id, target, False, round(share, 3))
        if confident and (rank == 0 or (not single and share >= LINK_SHARE)):
            chosen.append(link)
        elif share >= PROPOSAL_SHARE:
            weak.append(link)
    return chosen, weak


def _one_intent_per_entry(links: list[Link]) -> list[Link]:
    """An FAQ entry answers one intent: the most confident of those pointing to it."""
    kept: dict[str, Link] = {}
    for link in sorted(links, key=lambda item: -item.confidence):
        kept.setdefault(link.target, link)
    return list(kept.values())


__all__ = [
    "CatalogueLinks",
    "Link",
    "phrase_shares",
    "resolve_links",
]
