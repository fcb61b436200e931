"""The operator console: transferred calls as they happen, the callback queue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from voicebot.api.deps import access_probe, same_origin
from voicebot.api.services import ApiServices
from voicebot.api.sse import event_stream_response
from voicebot.calllog.models import CallbackStatus
from voicebot.calllog.repository import CallbackNotFoundError
from voicebot.i18n.labels import Labels
from voicebot.web.access import CONSOLE_ROLES, authorise
from voicebot.web.rendering import error_page, page_locale, render, services_of

router = APIRouter(include_in_schema=False)


def _script_texts(labels: Labels) -> dict[str, Any]:
    """Everything the console's script writes, in the page language."""
    kb = labels.kb
    names = {"operator": labels.department("operator")}
    names.update({d.id: labels.department(d.id) for d in kb.departments})
    intents = dict(names)
    intents.update({f"faq:{e.id}": labels.faq(e.id) for e in kb.faq})
    _ = labels.loc.gettext
    return {
        "departments": names,
        "intents": intents,
        "languages": {code: labels.language(code) for code in kb.city.languages},
        "ext": _("ext. %(extension)s"),
        "ended": _("ended"),
        "live": _("live"),
        "reconnecting": _("reconnecting…"),
    }


def _callbacks_context(services: ApiServices) -> dict[str, Any]:
    return {"callbacks": services.repository.list_callbacks(CallbackStatus.PENDING, limit=200)}


@router.get("/console")
def console(request: Request) -> Response:
    """For operators: calls being transferred with the assistant's summary; callbacks."""
    auth = authorise(request, CONSOLE_ROLES)
    if isinstance(auth, Response):
        return auth
    services = services_of(request)
    loc = page_locale(request)
    context = _callbacks_context(services)
    context.update(
        key=auth,
        transfers=services.board.transfers(),
        active_calls=services.board.active_calls(),
        texts=_script_texts(Labels(services.kb_store.current(), loc)),
    )
    return render(request, "console.html", context, loc=loc)


@router.get("/console/callbacks")
def console_callbacks(request: Request) -> Response:
    """The callback queue rows alone, for the console's periodic refresh."""
    auth = authorise(request, CONSOLE_ROLES)
    if isinstance(auth, Response):
        return auth
    return render(request, "callback_rows.html", _callbacks_context(services_of(request)))


@router.post("/console/callbacks/{callback_id}/done")
def console_callback_done(request: Request, callback_id: int) -> Response:
    """Mark a callback request done, then back to the console."""
    auth = authorise(request, CONSOLE_ROLES)
    if isinstance(auth, Response):
        return auth
    loc = page_locale(request)
    if not same_origin(request):
        return error_page(request, 403, loc.gettext("Cross-site request refused."), auth, loc=loc)
    try:
        services_of(request).repository.mark_callback_done(callback_id, done_by=auth.name)
    except CallbackNotFoundError:
        message = loc.gettext("No callback request has the number %(id)s.") % {"id": callback_id}
        return error_page(request, 404, message, auth, loc=loc)
    return RedirectResponse("/console#callbacks", status.HTTP_303_SEE_OTHER)


@router.get("/console/events")
def console_events(
    request: Request,
    keepalive: Annotated[float, Query(gt=0, le=60)] = 15.0,
) -> Response:
    """Live call events (Server-Sent Events) for the console's script."""
    auth = authorise(request, CONSOLE_ROLES)
    if isinstance(auth, Response):
        return auth
    services = services_of(request)
    # The feed ends (with the reason) as soon as the session does: a disabled operator
    # must stop seeing calls at once, not at the next page load.
    return event_stream_response(
        services.live_bus,
        keepalive_s=keepalive,
        probe=access_probe(services, request, auth, CONSOLE_ROLES),
        recheck_s=services.live_recheck_s,
    )
