"""The knowledge base: read it, edit FAQ entries and departments (kb_editor and admin)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from voicebot.accounts.audit import AuditKind
from voicebot.accounts.principal import Principal
from voicebot.api.deps import (
    AUTH_RESPONSES,
    KbEditorKey,
    ManagerKey,
    ServicesDep,
    client_address,
    invalid,
    not_found,
)
from voicebot.api.kb_document import KbEntryNotFoundError, department_data, faq_data
from voicebot.api.kb_store import KbConflictError, KbEdit, KbReadOnlyError
from voicebot.api.models import DepartmentIn, FaqEntryIn, KbStatusPublic
from voicebot.knowledge.loader import KnowledgeBaseError
from voicebot.knowledge.model import KnowledgeBase

router = APIRouter(prefix="/kb", tags=["knowledge base"], responses=AUTH_RESPONSES)

EDIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such FAQ entry or department."},
    409: {"description": "This KB is the packaged sample, which is never edited."},
    412: {"description": "If-Match does not match the current version."},
    422: {
        "description": "The edited KB is invalid; `detail[0].loc` names the field and "
        "`detail[0].line` its line in the edited file."
    },
}
IfMatch = Annotated[
    str | None,
    Header(description="Version (ETag of GET /api/kb) the edit is based on; refused if stale."),
]
MergePatch = Annotated[
    dict[str, Any],
    Body(
        description="JSON merge patch (RFC 7396): objects merge, null removes a member.",
        examples=[{"answer": {"nl": "Het gemeentehuis opent om 8u30."}}],
    ),
]


def _version(if_match: str | None) -> str | None:
    return if_match.strip().strip('"') if if_match else None


EditFunction = Callable[[KbEdit], KnowledgeBase]


async def run_edit(
    services: ServicesDep,
    response: Response,
    request: Request,
    principal: Principal,
    what: str,
    edit: EditFunction,
) -> KnowledgeBase:
    """Run a store edit off the event loop, map its errors to HTTP, audit it."""
    try:
        kb = await run_in_threadpool(edit, KbEdit(author=principal.name, summary=what))
    except KnowledgeBaseError as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=[
                {
                    "type": "value_error",
                    "loc": ["body", *([error.field] if error.field else [])],
                    "msg": error.problem,
                    "line": error.line,
                }
            ],
        ) from None
    except KbEntryNotFoundError as error:
        not_found(str(error))
    except KbConflictError as error:
        raise HTTPException(status.HTTP_412_PRECONDITION_FAILED, detail=str(error)) from None
    except KbReadOnlyError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(error)) from None
    except ValueError as error:
        field, _, problem = str(error).partition(": ")
        if problem and " " not in field:
            invalid(("body", field), problem)
        invalid(("body",), str(error))
    services.staff.audit.record(
        AuditKind.KB_EDITED,
        actor=principal.actor,
        address=client_address(request),
        subject=what[:200],
        detail={"version": kb.content_hash[:12]},
    )
    response.headers["ETag"] = f'"{kb.content_hash}"'
    return kb


def _check_id(path_id: str, body_id: str | None) -> None:
    if body_id is not None and body_id != path_id:
        invalid(("body", "id"), f"id {body_id!r} differs from the id in the path ({path_id!r})")


@router.get("", summary="The knowledge base as JSON")
def get_kb(services: ServicesDep, _key: KbEditorKey, response: Response) -> dict[str, Any]:
    """The whole KB, in the shape of the YAML file (see ``kb.schema.json``)."""
    kb = services.kb_store.current()
    response.headers["ETag"] = f'"{kb.content_hash}"'
    return services.kb_store.data()


@router.get(
    "/status", summary="KB version and router rebuild progress", response_model=KbStatusPublic
)
def kb_status(services: ServicesDep, _key: ManagerKey) -> KbStatusPublic:
    """Generation of the KB in force and the last one the router finished rebuilding for."""
    status_ = services.kb_store.status()
    return KbStatusPublic(
        version=status_.version,
        generation=status_.generation,
        applied_generation=status_.applied_generation,
        last_error=status_.last_error,
    )


@router.put("/faq/{faq_id}", summary="Create or replace an FAQ entry", responses=EDIT_RESPONSES)
async def put_faq(
    services: ServicesDep,
    key: KbEditorKey,
    request: Request,
    response: Response,
    faq_id: str,
    entry: FaqEntryIn,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Validated with the whole KB; on success written and the router rebuilt in background."""
    _check_id(faq_id, entry.id)
    document = {"id": faq_id, **entry.model_dump(exclude_none=True, exclude={"id"})}
    store = services.kb_store
    kb = await run_edit(
        services,
        response,
        request,
        key,
        f"FAQ entry {faq_id}: written",
        lambda edit: store.put_faq(document, expected_version=_version(if_match), edit=edit),
    )
    return faq_data(kb.faq_entry(faq_id))


@router.patch("/faq/{faq_id}", summary="Change part of an FAQ entry", responses=EDIT_RESPONSES)
async def patch_faq(
    services: ServicesDep,
    key: KbEditorKey,
    request: Request,
    response: Response,
    faq_id: str,
    patch: MergePatch,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Merge ``patch`` into the entry, then validate and save as for PUT."""
    store = services.kb_store
    kb = await run_edit(
        services,
        response,
        request,
        key,
        f"FAQ entry {faq_id}: changed",
        lambda edit: store.patch_faq(faq_id, patch, expected_version=_version(if_match), edit=edit),
    )
    return faq_data(kb.faq_entry(faq_id))


@router.delete(
    "/faq/{faq_id}", summary="Remove an FAQ entry", status_code=204, responses=EDIT_RESPONSES
)
async def delete_faq(
    services: ServicesDep,
    key: KbEditorKey,
    request: Request,
    response: Response,
    faq_id: str,
    if_match: IfMatch = None,
) -> None:
    """Remove the entry; the router is rebuilt in the background."""
    store = services.kb_store
    await run_edit(
        services,
        response,
        request,
        key,
        f"FAQ entry {faq_id}: removed",
        lambda edit: store.delete_faq(faq_id, expected_version=_version(if_match), edit=edit),
    )


@router.put(
    "/departments/{dept_id}", summary="Create or replace a department", responses=EDIT_RESPONSES
)
async def put_department(
    services: ServicesDep,
    key: KbEditorKey,
    request: Request,
    response: Response,
    dept_id: str,
    dept: DepartmentIn,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Validated with the whole KB; on success written and the router rebuilt in background."""
    _check_id(dept_id, dept.id)
    document = {"id": dept_id, **dept.model_dump(exclude_none=True, exclude={"id"})}
    store = services.kb_store
    kb = await run_edit(
        services,
        response,
        request,
        key,
        f"department {dept_id}: written",
        lambda edit: store.put_department(document, expected_version=_version(if_match), edit=edit),
    )
    return department_data(kb.department(dept_id))


@router.patch(
    "/departments/{dept_id}", summary="Change part of a department", responses=EDIT_RESPONSES
)
async def patch_department(
    services: ServicesDep,
    key: KbEditorKey,
    request: Request,
    response: Response,
    dept_id: str,
    patch: MergePatch,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Merge ``patch`` into the department, then validate and save as for PUT."""
    store = services.kb_store
    kb = await run_edit(
        services,
        response,
        request,
        key,
        f"department {dept_id}: changed",
        lambda edit: store.patch_department(
            dept_id, patch, expected_version=_version(if_match), edit=edit
        ),
    )
    return department_data(kb.department(dept_id))


@router.delete(
    "/departments/{dept_id}",
    summary="Remove a department",
    status_code=204,
    responses=EDIT_RESPONSES,
)
async def delete_department(
    services: ServicesDep,
    key: KbEditorKey,
    request: Request,
    response: Response,
    dept_id: str,
    if_match: IfMatch = None,
) -> None:
    """Remove the department (refused with 422 while an FAQ entry refers to it)."""
    store = services.kb_store
    await run_edit(
        services,
        response,
        request,
        key,
        f"department {dept_id}: removed",
        lambda edit: store.delete_department(
            dept_id, expected_version=_version(if_match), edit=edit
        ),
    )
