"""``voicebot kb suggest``: the inferred catalogue links as YAML a city can paste and confirm."""

from __future__ import annotations

from collections.abc import Callable

from voicebot.i18n.catalogues import N_
from voicebot.knowledge.model import KnowledgeBase
from voicebot.routing.decision import FAQ_PREFIX
from voicebot.routing.linking import CatalogueLinks


def suggestion_yaml(kb: KnowledgeBase, links: CatalogueLinks, gettext: Callable[[str], str]) -> str:
    """One block per department and FAQ entry: used links as YAML, weaker ones as comments."""
    lines = [
        "# "
        + gettext(N_("Catalogue links for %(source)s (voicebot kb suggest)."))
        % {"source": kb.source},
        "# " + gettext(N_("Check each line, then copy it into the KB.")),
        "# " + gettext(N_("Numbers: the share of the catalogue's phrases closest to the target.")),
        "departments:",
    ]
    maybe = gettext(N_("maybe"))
    for dept in kb.departments:
        held = links.of_target(dept.id)
        lines.append(f"  - id: {dept.id}")
        if dept.services:
            lines.append(
                f"    services: [{', '.join(dept.services)}]  # " + gettext(N_("declared"))
            )
        elif held:
            # A part link lists the intents it holds (what the KB declares), scored once
            # and followed by the service they are parts of.
            ids = ", ".join(name for link in held for name in link.declarable)
            scores = ", ".join(
                f"{link.confidence:.2f}" + (f" ({link.catalogue_id})" if link.parts else "")
                for link in held
            )
            lines.append(f"    services: [{ids}]  # {scores}")
        else:
            lines.append("    # " + gettext(N_("no service found: declare it, or add examples")))
        lines += _maybes(links, dept.id, maybe)
    lines.append("faq:")
    for entry in kb.faq:
        target = FAQ_PREFIX + entry.id
        held = links.of_target(target)
        lines.append(f"  - id: {entry.id}")
        if entry.intent:
            lines.append(f"    intent: {entry.intent}  # " + gettext(N_("declared")))
        elif held:
            best = max(held, key=lambda link: link.confidence)
            lines.append(f"    intent: {best.catalogue_id}  # {best.confidence:.2f}")
        else:
            lines.append("    # " + gettext(N_("no catalogue intent found")))
        lines += _maybes(links, target, maybe)
    return "\n".join(lines) + "\n"


def _maybes(links: CatalogueLinks, target: str, maybe: str, most: int = 3) -> list[str]:
    weaker = sorted(
        (link for link in links.proposals if link.target == target),
        key=lambda item: -item.confidence,
    )
    return [f"    # {maybe}: {link.catalogue_id} ({link.confidence:.2f})" for link in weaker[:most]]
