"""The learning page: what the assistant did not understand or hesitated on, what operators
corrected, a "test a phrase" box that shows the decision before and after a change, and
one-click KB edits (add as example, new FAQ entry, revert a version).

Managers see everything and test phrases; KB editors (and admins) also change the KB. The
page works without script; ``learning.js`` only reloads it once the router has been rebuilt
after an edit, so that the "after" decision appears by itself.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from voicebot.accounts.audit import AuditKind
from voicebot.accounts.principal import Principal
from voicebot.api.deps import client_address, same_origin
from voicebot.api.kb_document import (
    KbEntryNotFoundError,
    add_phrase,
    faq_id_from,
    new_faq,
)
from voicebot.api.kb_history import KbVersionNotFoundError
from voicebot.api.kb_store import KbConflictError, KbEdit, KbReadOnlyError
from voicebot.api.services import ApiServices
from voicebot.calllog.learning import CorrectionNotFoundError, LearningQueries
from voicebot.calllog.models import ApiRole
from voicebot.calllog.rows import utc_now
from voicebot.i18n.labels import Labels
from voicebot.i18n.page_locale import PageLocale
from voicebot.knowledge.loader import KnowledgeBaseError
from voicebot.knowledge.model import KnowledgeBase
from voicebot.routing.decision import RouteDecision
from voicebot.routing.router import ScoringConfig
from voicebot.web.access import DASHBOARD_ROLES, authorise, read_form
from voicebot.web.rendering import error_page, page_locale, render, services_of

router = APIRouter(include_in_schema=False)

EDITOR_ROLES = (ApiRole.KB_EDITOR,)
DAYS = 30
"""The page looks at the last thirty days."""
MAX_ITEMS = 15


@dataclass(frozen=True, slots=True)
class Decision:
    """A router decision as the page shows it."""

    label: str
    name: str
    score: float
    margin: float
    understood: bool
    runner_up: str | None


def _decide(services: ApiServices, labels: Labels, text: str, language: str) -> Decision | None:
    if services.router_source is None:
        return None
    decision: RouteDecision = services.router_source().route(text, language)
    others = [c for c in decision.candidates if c.label != decision.label]
    return Decision(
        label=decision.label,
        name=labels.intent(decision.label),
        score=decision.score,
        margin=decision.margin,
        understood=decision.label != "none",
        runner_up=labels.intent(others[0].label) if others else None,
    )


def _targets(kb: KnowledgeBase, labels: Labels) -> list[tuple[str, str]]:
    """What a phrase can be taught as: departments, FAQ entries, the operator desk."""
    departments = sorted(
        ((d.id, labels.department(d.id)) for d in kb.departments), key=lambda o: o[1]
    )
    faq = sorted(((f"faq:{e.id}", labels.faq(e.id)) for e in kb.faq), key=lambda o: o[1])
    return [*departments, *faq, ("operator", labels.department("operator"))]


def _here(phrase: str, language: str, **extra: str) -> str:
    query = {"phrase": phrase, "language": language, **extra}
    return "/learning?" + urllib.parse.urlencode(query) + "#test"


def _page_context(
    services: ApiServices, auth: Principal, loc: PageLocale, params: dict[str, str]
) -> dict[str, Any]:
    kb = services.kb_store.current()
    labels = Labels(kb, loc)
    languages = list(kb.city.languages)
    phrase = params.get("phrase", "").strip()[:300]
    language = params.get("language") or kb.city.default_language
    if language not in languages:
        language = kb.city.default_language
    end = utc_now()
    start = end - timedelta(days=DAYS)
    queries = LearningQueries(services.engine)
    embedder = services.embedder
    groups = (
        services.stats.not_understood(start, end, embedder.embed, limit=MAX_ITEMS)
        if embedder is not None
        else None
    )
    state = services.kb_store.status()
    history = services.kb_store.history
    return {
        "key": auth,
        "can_edit": auth.allows(EDITOR_ROLES),
        "phrase": phrase,
        "language": language,
        "city_languages": languages,
        "decision": _decide(services, labels, phrase, language) if phrase else None,
        "router_available": services.router_source is not None,
        "before": params.get("before"),
        "before_name": labels.intent(params["before"]) if params.get("before") else None,
        "added": params.get("added"),
        "added_name": labels.intent(params["added"]) if params.get("added") else None,
        "rebuilding": state.applied_generation < state.generation,
        "generation": state.generation,
        "targets": _targets(kb, labels),
        "groups": groups,
        "low_margin": queries.low_margin_turns(
            start, end, max_margin=ScoringConfig().ambiguity_margin, limit=MAX_ITEMS
        ),
        "corrections": queries.corrections("open", limit=MAX_ITEMS)[0],
        "versions": history.versions(limit=10)[0] if history is not None else [],
        "error": params.get("error"),
        "notice": params.get("notice"),
    }


@router.get("/learning")
def learning(request: Request) -> Response:
    """The learning page."""
    auth = authorise(request, DASHBOARD_ROLES)
    if isinstance(auth, Response):
        return auth
    services = services_of(request)
    loc = page_locale(request)
    context = _page_context(services, auth, loc, dict(request.query_params))
    return render(request, "learning.html", context, loc=loc)


async def _edit(
    request: Request,
    auth: Principal,
    what: str,
    change: Callable[[KbEdit], KnowledgeBase],
) -> str | None:
    """Run a KB edit; None on success, else the (translated) reason it was refused."""
    services = services_of(request)
    loc = page_locale(request)
    try:
        kb = await run_in_threadpool(change, KbEdit(author=auth.name, summary=what))
    except KnowledgeBaseError as error:
        return loc.gettext("The knowledge base refused this change: %(problem)s") % {
            "problem": f"{error.field}: {error.problem} (line {error.line})"
        }
    except (ValueError, KbEntryNotFoundError, KbConflictError) as error:
        return loc.gettext("The knowledge base refused this change: %(problem)s") % {
            "problem": str(error)
        }
    except KbReadOnlyError:
        return loc.gettext(
            "This knowledge base is the sample shipped with voicebot and cannot be edited."
        )
    services.staff.audit.record(
        AuditKind.KB_EDITED,
        actor=auth.actor,
        address=client_address(request),
        subject=what[:200],
        detail={"version": kb.content_hash[:12]},
    )
    return None


def _editor(request: Request) -> Principal | Response:
    auth = authorise(request, EDITOR_ROLES)
    if isinstance(auth, Response):
        return auth
    if not same_origin(request):
        loc = page_locale(request)
        return error_page(request, 403, loc.gettext("Cross-site request refused."), auth, loc=loc)
    return auth


@router.post("/learning/phrases")
async def teach_phrase(request: Request) -> Response:
    """Add a phrase as an example of a target, then back to the test box (before/after)."""
    auth = _editor(request)
    if isinstance(auth, Response):
        return auth
    form = await read_form(request)
    phrase = form.get("phrase", "")
    language = form.get("language", "")
    target = form.get("target", "")
    before = form.get("before", "")
    store = services_of(request).kb_store
    error = await _edit(
        request,
        auth,
        f"example of {target} ({language}): {phrase.strip()[:150]}",
        lambda edit: store.update(lambda doc: add_phrase(doc, target, language, phrase), edit=edit),
    )
    if error is not None:
        return RedirectResponse(
            _here(phrase, language, before=before, error=error), status.HTTP_303_SEE_OTHER
        )
    correction = form.get("correction_id", "")
    if correction.isdigit():
        # Already handled by a colleague: the phrase is added all the same.
        with contextlib.suppress(CorrectionNotFoundError):
            LearningQueries(services_of(request).engine).close_correction(
                int(correction), "applied", auth.name
            )
    return RedirectResponse(
        _here(phrase, language, before=before, added=target), status.HTTP_303_SEE_OTHER
    )


@router.get("/learning/faq/new")
def new_faq_form(request: Request, question: str = "", language: str = "") -> Response:
    """The form of a new FAQ entry, its first question filled in."""
    auth = authorise(request, EDITOR_ROLES)
    if isinstance(auth, Response):
        return auth
    services = services_of(request)
    loc = page_locale(request)
    kb = services.kb_store.current()
    labels = Labels(kb, loc)
    departments = sorted(
        ((d.id, labels.department(d.id)) for d in kb.departments), key=lambda o: o[1]
    )
    context = {
        "key": auth,
        "question": question.strip()[:300],
        "language": language if language in kb.city.languages else kb.city.default_language,
        "city_languages": list(kb.city.languages),
        "departments": departments,
        "labels": labels,
        "error": None,
        "form": {},
    }
    return render(request, "faq_new.html", context, loc=loc)


@router.post("/learning/faq")
async def create_faq(request: Request) -> Response:
    """Create the FAQ entry, then test its question (before: not understood)."""
    auth = _editor(request)
    if isinstance(auth, Response):
        return auth
    services = services_of(request)
    loc = page_locale(request)
    form = await read_form(request)
    kb = services.kb_store.current()
    language = form.get("language") or kb.city.default_language
    question = form.get("question", "").strip()
    questions = {
        lang: [q for q in [form.get(f"question_{lang}", "").strip()] if q]
        for lang in kb.city.languages
    }
    questions[language] = [q for q in [question, *questions.get(language, [])] if q]
    questions = {lang: qs for lang, qs in questions.items() if qs}
    answers = {
        lang: form.get(f"answer_{lang}", "").strip()
        for lang in kb.city.languages
        if form.get(f"answer_{lang}", "").strip()
    }
    department = form.get("department") or None
    faq_id = faq_id_from(question or "question", {entry.id for entry in kb.faq})
    store = services.kb_store
    error = await _edit(
        request,
        auth,
        f"new FAQ entry {faq_id}",
        lambda edit: store.update(
            lambda doc: new_faq(doc, faq_id, questions, answers, department), edit=edit
        ),
    )
    if error is not None:
        labels = Labels(kb, loc)
        departments = sorted(
            ((d.id, labels.department(d.id)) for d in kb.departments), key=lambda o: o[1]
        )
        context = {
            "key": auth,
            "question": question,
            "language": language,
            "city_languages": list(kb.city.languages),
            "departments": departments,
            "labels": labels,
            "error": error,
            "form": form,
        }
        return render(request, "faq_new.html", context, 422, loc=loc)
    return RedirectResponse(
        _here(question, language, before=form.get("before", "none"), added=f"faq:{faq_id}"),
        status.HTTP_303_SEE_OTHER,
    )


@router.post("/learning/versions/{version_id}/revert")
async def revert_version(request: Request, version_id: int) -> Response:
    """Go back to a version of the KB file."""
    auth = _editor(request)
    if isinstance(auth, Response):
        return auth
    services = services_of(request)
    loc = page_locale(request)
    store = services.kb_store
    try:
        error = await _edit(
            request,
            auth,
            f"back to version {version_id}",
            lambda edit: store.revert(version_id, edit=edit)[0],
        )
    except KbVersionNotFoundError:
        error = loc.gettext("There is no version %(number)s.") % {"number": version_id}
    if error is None:
        services.staff.audit.record(
            AuditKind.KB_REVERTED,
            actor=auth.actor,
            address=client_address(request),
            subject=f"kb version {version_id}",
        )
    query = (
        {"error": error}
        if error
        else {"notice": loc.gettext("Back to version %(number)s.") % {"number": version_id}}
    )
    return RedirectResponse(
        "/learning?" + urllib.parse.urlencode(query) + "#versions", status.HTTP_303_SEE_OTHER
    )


@router.post("/learning/corrections/{correction_id}/dismiss")
async def dismiss_correction(request: Request, correction_id: int) -> Response:
    """Nothing to learn from this correction."""
    auth = _editor(request)
    if isinstance(auth, Response):
        return auth
    # Already handled by a colleague: the page shows what is left.
    with contextlib.suppress(CorrectionNotFoundError):
        LearningQueries(services_of(request).engine).close_correction(
            correction_id, "dismissed", auth.name
        )
    return RedirectResponse("/learning#corrections", status.HTTP_303_SEE_OTHER)
