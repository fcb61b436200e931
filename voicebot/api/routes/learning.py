"""The learning loop: test a phrase, teach the KB what callers say, see low-margin decisions
and operators' corrections, and the KB's versions (with revert).

Reading (test a phrase, low-margin decisions, corrections) is for managers; changing the
KB is for KB editors; operators report corrections from the console.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

from voicebot.accounts.audit import AuditKind
from voicebot.api.deps import (
    AUTH_RESPONSES,
    MAX_SQL_INT,
    KbEditorKey,
    ManagerKey,
    OperatorKey,
    ServicesDep,
    check_range,
    client_address,
    invalid,
    local_time,
    not_found,
)
from voicebot.api.kb_document import add_phrase, faq_id_from, new_faq, target_name
from voicebot.api.kb_history import KbVersionNotFoundError
from voicebot.api.models_learning import (
    CandidatePublic,
    CorrectionCreate,
    CorrectionPublic,
    CorrectionsPublic,
    DecisionPublic,
    FaqCreate,
    KbChangePublic,
    KbVersionPublic,
    KbVersionsPublic,
    LowMarginTurnPublic,
    LowMarginTurnsPublic,
    PhraseAdd,
    PhraseTest,
)
from voicebot.api.routes.kb import EDIT_RESPONSES, run_edit
from voicebot.api.services import ApiServices
from voicebot.api.transfers import find_transfer
from voicebot.calllog.learning import CorrectionNotFoundError, LearningQueries
from voicebot.calllog.rows import utc_now
from voicebot.calllog.staff_models import LOW_MARGIN_INDEX_LIMIT
from voicebot.knowledge.model import KnowledgeBase
from voicebot.routing.router import ScoringConfig

router = APIRouter(tags=["learning"], responses=AUTH_RESPONSES)

DEFAULT_DAYS = 30
VersionId = Annotated[int, Path(ge=1, le=MAX_SQL_INT)]


def _change(services: ApiServices, kb: KnowledgeBase, detail: str) -> KbChangePublic:
    state = services.kb_store.status()
    version = services.kb_store.last_version
    return KbChangePublic(
        version=kb.content_hash,
        generation=state.generation,
        kb_version_id=version.id if version else None,
        detail=detail,
    )


# ------------------------------------------------------------------------ test a phrase


@router.post(
    "/learning/test",
    summary="Test a phrase: what the router decides now",
    response_model=DecisionPublic,
    responses={503: {"description": "No router in this process (the API runs without calls)."}},
)
async def test_phrase(services: ServicesDep, _key: ManagerKey, body: PhraseTest) -> DecisionPublic:
    """Routes ``text`` with the router the calls use right now (rebuilt after each KB edit:
    test before, add the example, wait for ``/api/kb/status`` to show the rebuild applied,
    test again)."""
    if services.router_source is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="no router in this process: test phrases on the server that takes calls",
        )
    current = services.router_source()
    kb = current.kb
    if body.language is not None and body.language not in kb.city.languages:
        invalid(("body", "language"), f"the city does not offer {body.language!r}")
    decision = await run_in_threadpool(current.route, body.text, body.language)
    lang = decision.language
    return DecisionPublic(
        label=decision.label,
        name=target_name(kb, decision.label, lang),
        kind=decision.kind.value,
        score=decision.score,
        margin=decision.margin,
        ambiguous=decision.ambiguous,
        threshold=decision.threshold,
        language=lang,
        candidates=[
            CandidatePublic(label=c.label, name=target_name(kb, c.label, lang), score=c.score)
            for c in decision.candidates
        ],
        kb_version=kb.content_hash,
    )


# --------------------------------------------------------------------- teaching the KB


@router.post(
    "/kb/phrases",
    summary="Add a caller's phrase as an example of a target",
    response_model=KbChangePublic,
    responses=EDIT_RESPONSES,
)
async def add_example(
    services: ServicesDep,
    key: KbEditorKey,
    request: Request,
    response: Response,
    body: PhraseAdd,
) -> KbChangePublic:
    """The phrase joins the department's examples (or the FAQ entry's questions, or the
    operator's examples); the router is rebuilt in the background."""
    correction = None
    if body.correction_id is not None:
        try:
            correction = LearningQueries(services.engine).correction(body.correction_id)
        except CorrectionNotFoundError as error:
            not_found(str(error))
    store = services.kb_store
    what = f"example of {body.target} ({body.language}): {body.phrase}"
    kb = await run_edit(
        services,
        response,
        request,
        key,
        what,
        lambda edit: store.update(lambda doc: _add(doc, body), expected_version=None, edit=edit),
    )
    if correction is not None:
        LearningQueries(services.engine).close_correction(correction.id, "applied", key.name)
    return _change(services, kb, f"added as an example of {target_name(kb, body.target)}")


def _add(document: dict[str, Any], body: PhraseAdd) -> None:
    add_phrase(document, body.target, body.language, body.phrase)


@router.post(
    "/kb/faq",
    summary="Create an FAQ entry from a question callers ask",
    response_model=KbChangePublic,
    status_code=status.HTTP_201_CREATED,
    responses=EDIT_RESPONSES,
)
async def create_faq(
    services: ServicesDep, key: KbEditorKey, request: Request, response: Response, body: FaqCreate
) -> KbChangePublic:
    """Every language the city offers needs an answer (the loader says which is missing)."""
    store = services.kb_store
    current = store.current()
    first = next((q for phrases in body.questions.values() for q in phrases), "")
    faq_id = body.id or faq_id_from(first, {entry.id for entry in current.faq})
    kb = await run_edit(
        services,
        response,
        request,
        key,
        f"new FAQ entry {faq_id}",
        lambda edit: store.update(
            lambda doc: new_faq(doc, faq_id, body.questions, body.answer, body.department),
            edit=edit,
        ),
    )
    return _change(services, kb, f"FAQ entry {faq_id} created")


@router.get("/kb/versions", summary="Versions of the KB file", response_model=KbVersionsPublic)
def kb_versions(
    services: ServicesDep,
    _key: KbEditorKey,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
) -> KbVersionsPublic:
    """Newest first, with who made each change and why."""
    history = _history(services)
    versions, total = history.versions(limit=limit, offset=offset)
    return KbVersionsPublic(data=[KbVersionPublic.model_validate(v) for v in versions], count=total)


@router.get(
    "/kb/versions/{version_id}/file",
    summary="The KB file as it was at a version",
    response_class=PlainTextResponse,
    responses={404: {"description": "No such version."}},
)
def kb_version_file(services: ServicesDep, _key: KbEditorKey, version_id: VersionId) -> Response:
    """The YAML text, comments included."""
    try:
        text = _history(services).text_of(version_id)
    except KbVersionNotFoundError as error:
        not_found(str(error))
    return PlainTextResponse(text, media_type="application/yaml; charset=utf-8")


@router.post(
    "/kb/versions/{version_id}/revert",
    summary="Go back to a version",
    response_model=KbChangePublic,
    responses=EDIT_RESPONSES,
)
async def revert(
    services: ServicesDep,
    key: KbEditorKey,
    request: Request,
    response: Response,
    version_id: VersionId,
) -> KbChangePublic:
    """Writes the file back exactly as it was (validated again), as a new version."""
    _history(services)
    store = services.kb_store
    try:
        kb = await run_edit(
            services,
            response,
            request,
            key,
            f"back to version {version_id}",
            lambda edit: store.revert(version_id, edit=edit)[0],
        )
    except KbVersionNotFoundError as error:
        not_found(str(error))
    services.staff.audit.record(
        AuditKind.KB_REVERTED,
        actor=key.actor,
        address=client_address(request),
        subject=f"kb version {version_id}",
    )
    return _change(services, kb, f"back to version {version_id}")


def _history(services: ApiServices) -> Any:
    if services.kb_store.history is None:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="this KB keeps no history")
    return services.kb_store.history


# ------------------------------------------------------------- what to learn from


@router.get(
    "/learning/low-margin",
    summary="Requests decided with a low margin",
    response_model=LowMarginTurnsPublic,
)
def low_margin(
    services: ServicesDep,
    _key: ManagerKey,
    start: datetime | None = None,
    end: datetime | None = None,
    max_margin: Annotated[float | None, Query(gt=0, le=LOW_MARGIN_INDEX_LIMIT)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> LowMarginTurnsPublic:
    """Newest first; default: the last 30 days, under the router's ambiguity margin."""
    high = local_time(services, end, "end") or utc_now()
    low = local_time(services, start, "start") or high - timedelta(days=DEFAULT_DAYS)
    check_range(low, high)
    threshold = max_margin or ScoringConfig().ambiguity_margin
    turns = LearningQueries(services.engine).low_margin_turns(
        low, high, max_margin=threshold, limit=limit
    )
    return LowMarginTurnsPublic(
        data=[LowMarginTurnPublic.model_validate(t) for t in turns],
        count=len(turns),
        max_margin=threshold,
    )


@router.post(
    "/learning/corrections",
    summary="Report a wrongly routed call",
    response_model=CorrectionPublic,
    status_code=status.HTTP_201_CREATED,
    responses={404: {"description": "No call transferred today has this card key."}},
)
def report_correction(
    services: ServicesDep, key: OperatorKey, body: CorrectionCreate
) -> CorrectionPublic:
    """From the console: the call on this card should have gone to ``should_be``; what the
    caller said waits for a KB editor to add it as an example."""
    card = find_transfer(services, body.card_key)
    if card is None:
        not_found("no call transferred today has this card key")
    kb = services.kb_store.current()
    targets = {"operator", *(d.id for d in kb.departments), *(f"faq:{e.id}" for e in kb.faq)}
    if body.should_be not in targets:
        invalid(("body", "should_be"), f"{body.should_be!r} is not a department, FAQ or operator")
    correction = LearningQueries(services.engine).add_correction(
        actor=key.name,
        call_id=card.call_id,
        language=card.language,
        routed_to=card.intent or card.department or card.target,
        should_be=body.should_be,
        phrases=list(card.utterances),
    )
    return CorrectionPublic.model_validate(correction)


@router.get(
    "/learning/corrections",
    summary="Operators' routing corrections",
    response_model=CorrectionsPublic,
)
def corrections(
    services: ServicesDep,
    _key: ManagerKey,
    state: Annotated[str, Query(alias="status", pattern="^(open|applied|dismissed|all)$")] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
) -> CorrectionsPublic:
    """Newest first."""
    items, total = LearningQueries(services.engine).corrections(
        None if state == "all" else state, limit=limit, offset=offset
    )
    return CorrectionsPublic(data=[CorrectionPublic.model_validate(c) for c in items], count=total)


@router.post(
    "/learning/corrections/{correction_id}/dismiss",
    summary="Dismiss a correction",
    response_model=CorrectionPublic,
    responses={404: {"description": "No such correction."}},
)
def dismiss(
    services: ServicesDep,
    key: KbEditorKey,
    correction_id: Annotated[int, Path(ge=1, le=MAX_SQL_INT)],
) -> CorrectionPublic:
    """Nothing to learn from it (the caller was unclear, the operator misread the card)."""
    try:
        correction = LearningQueries(services.engine).close_correction(
            correction_id, "dismissed", key.name
        )
    except CorrectionNotFoundError as error:
        not_found(str(error))
    return CorrectionPublic.model_validate(correction)
