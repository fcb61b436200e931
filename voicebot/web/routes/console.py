"""The operator console: today's transferred calls as they are decided, and the callback
queue, both pushed live; corrections of a wrong routing for the learning loop."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from voicebot.accounts.principal import Principal
from voicebot.api.deps import access_probe, same_origin
from voicebot.api.services import ApiServices
from voicebot.api.sse import event_stream_response
from voicebot.api.transfers import find_transfer, todays_transfers
from voicebot.calllog.callbacks import (
    SETTABLE_STATUSES,
    CallbackQueue,
    CallbackStateError,
    NothingToUndoError,
)
from voicebot.calllog.learning import LearningQueries
from voicebot.calllog.models import OPEN_CALLBACK_STATUSES, CallbackStatus
from voicebot.calllog.repository import CallbackNotFoundError
from voicebot.i18n.labels import Labels
from voicebot.i18n.page_locale import PageLocale
from voicebot.web.access import CONSOLE_ROLES, authorise, read_form
from voicebot.web.console_view import (
    CallbackLine,
    ConsoleFeed,
    announced_line,
    reason_sentence,
    reason_tag,
    status_name,
)
from voicebot.web.rendering import error_page, page_locale, render, render_fragment, services_of

router = APIRouter(include_in_schema=False)

OPERATOR_DESK = "operator"
"""The department filter's value for requests to the operator desk (no department)."""
MAX_CALLBACKS = 200


def _departments(department: list[str] | None) -> frozenset[str | None] | None:
    if not department:
        return None
    return frozenset(None if d == OPERATOR_DESK else d for d in department if "\x00" not in d)


def _callback_lines(
    services: ApiServices, departments: frozenset[str | None] | None
) -> list[CallbackLine]:
    """Open requests, oldest first: stored ones, then those only announced so far."""
    stored = services.repository.list_callbacks(
        sorted(OPEN_CALLBACK_STATUSES),
        departments=None if departments is None else list(departments),
        limit=MAX_CALLBACKS,
    )
    announced = [
        cb
        for cb in services.board.announced_callbacks()
        if departments is None or cb.department in departments
    ]
    keys = [cb.callback_key for cb in stored if cb.callback_key] + [
        cb.callback_key for cb in announced
    ]
    states = CallbackQueue(services.engine).states(keys)
    lines = [
        CallbackLine(
            cb.callback_key,
            cb.id,
            cb.requested_at,
            cb.department,
            cb.language,
            cb.caller_number,
            cb.note,
            states.get(cb.callback_key) if cb.callback_key else None,
        )
        for cb in stored
    ]
    for cb in announced:
        state = states.get(cb.callback_key)
        # Stored already (listed above if open), or closed by an operator before it was.
        if state is not None and (state.stored or not state.is_open):
            continue
        lines.append(announced_line(cb, state))
    return sorted(lines, key=lambda line: line.requested_at)[:MAX_CALLBACKS]


def _filter_query(department: list[str] | None) -> str:
    """``?department=…`` of the reader's filter, kept by every form of the console."""
    return "?" + urlencode([("department", d) for d in department]) if department else ""


def _helpers(loc: PageLocale, labels: Labels, department: list[str] | None) -> dict[str, Any]:
    """What the card and row templates call, for the page and the live feed alike."""
    kb = labels.kb
    return {
        "filter_query": _filter_query(department),
        "reason_tag": lambda reason: reason_tag(reason, loc),
        "reason_sentence": lambda card: reason_sentence(card, labels),
        "status_name": lambda state: status_name(state, loc),
        "correction_targets": [
            ("operator", labels.department("operator")),
            *((d.id, labels.department(d.id)) for d in kb.departments),
        ],
        "correction_faq": [(f"faq:{e.id}", labels.faq(e.id)) for e in kb.faq],
        "settable": [
            (CallbackStatus.CALLED_BACK, loc.gettext("Called back")),
            (CallbackStatus.NO_ANSWER, loc.gettext("No answer, retry later")),
            (CallbackStatus.DONE, loc.gettext("Done")),
        ],
    }


def _back(request: Request, **extra: str) -> str:
    """The console's address with the reader's department filter (and ``extra``)."""
    params = [("department", d) for d in request.query_params.getlist("department")]
    params += [(name, value) for name, value in extra.items() if value]
    return "/console" + (f"?{urlencode(params)}" if params else "")


@router.get("/console")
def console(
    request: Request,
    department: Annotated[list[str] | None, Query(max_length=50)] = None,
    changed: Annotated[str | None, Query(max_length=100)] = None,
    reported: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    """For operators: today's transferred calls with why each came, and the callback queue."""
    auth = authorise(request, CONSOLE_ROLES)
    if isinstance(auth, Response):
        return auth
    services = services_of(request)
    loc = page_locale(request)
    labels = Labels(services.kb_store.current(), loc)
    chosen = _departments(department)
    context = _helpers(loc, labels, department)
    if changed is not None and not _known(services, changed):
        changed = None
    context.update(
        key=auth,
        transfers=todays_transfers(services),
        active_calls=services.board.active_calls(),
        callbacks=_callback_lines(services, chosen),
        filter_choices=[
            (OPERATOR_DESK, labels.department("operator")),
            *((d.id, labels.department(d.id)) for d in labels.kb.departments),
        ],
        chosen=set(department or []),
        changed=changed,
        reported=reported == "1",
    )
    return render(request, "console.html", context, loc=loc)


@router.get("/console/callbacks")
def console_callbacks(
    request: Request, department: Annotated[list[str] | None, Query(max_length=50)] = None
) -> Response:
    """The callback queue rows alone (the script reloads them after a lost connection)."""
    auth = authorise(request, CONSOLE_ROLES)
    if isinstance(auth, Response):
        return auth
    services = services_of(request)
    loc = page_locale(request)
    context = _helpers(loc, Labels(services.kb_store.current(), loc), department)
    context["callbacks"] = _callback_lines(services, _departments(department))
    return render(request, "callback_rows.html", context, loc=loc)


def _posting(request: Request) -> Principal | Response:
    """The operator behind a console form, or the page refusing it."""
    auth = authorise(request, CONSOLE_ROLES)
    if isinstance(auth, Response):
        return auth
    if not same_origin(request):
        loc = page_locale(request)
        return error_page(request, 403, loc.gettext("Cross-site request refused."), auth, loc=loc)
    return auth


def _known(services: ApiServices, key: str) -> bool:
    return (
        services.board.announced_callback(key) is not None
        or services.repository.get_callback(key) is not None
    )


@router.post("/console/callbacks/{callback_key}/status")
async def console_callback_status(request: Request, callback_key: str) -> Response:
    """Record what came of a call back (called back, no answer, done), then back."""
    auth = _posting(request)
    if isinstance(auth, Response):
        return auth
    loc = page_locale(request)
    services = services_of(request)
    wanted = (await read_form(request)).get("status", "")
    try:
        chosen = CallbackStatus(str(wanted))
    except ValueError:
        chosen = None
    if chosen not in SETTABLE_STATUSES or chosen is None:
        message = loc.gettext("Unknown callback status: %(status)s.") % {"status": wanted}
        return error_page(request, 400, message, auth, loc=loc)
    if len(callback_key) > 100 or not _known(services, callback_key):
        message = loc.gettext("No callback request has this key.")
        return error_page(request, 404, message, auth, loc=loc)
    try:
        CallbackQueue(services.engine).set_status(callback_key, chosen, auth.name)
    except CallbackStateError as error:
        return error_page(request, 409, str(error), auth, loc=loc)
    return RedirectResponse(
        _back(request, changed=callback_key) + "#callbacks", status.HTTP_303_SEE_OTHER
    )


@router.post("/console/callbacks/{callback_key}/undo")
def console_callback_undo(request: Request, callback_key: str) -> Response:
    """Take back the last change of a request, then back to the console."""
    auth = _posting(request)
    if isinstance(auth, Response):
        return auth
    loc = page_locale(request)
    services = services_of(request)
    if len(callback_key) > 100 or not _known(services, callback_key):
        message = loc.gettext("No callback request has this key.")
        return error_page(request, 404, message, auth, loc=loc)
    try:
        CallbackQueue(services.engine).undo(callback_key, auth.name)
    except NothingToUndoError:
        message = loc.gettext("Nothing to undo on this callback request.")
        return error_page(request, 409, message, auth, loc=loc)
    return RedirectResponse(_back(request) + "#callbacks", status.HTTP_303_SEE_OTHER)


@router.post("/console/callbacks/{callback_id}/done")
def console_callback_done(request: Request, callback_id: int) -> Response:
    """Mark a request of the days before keys done, by its row number."""
    auth = _posting(request)
    if isinstance(auth, Response):
        return auth
    loc = page_locale(request)
    try:
        services_of(request).repository.mark_callback_done(callback_id, done_by=auth.name)
    except CallbackNotFoundError:
        message = loc.gettext("No callback request has the number %(id)s.") % {"id": callback_id}
        return error_page(request, 404, message, auth, loc=loc)
    return RedirectResponse(_back(request) + "#callbacks", status.HTTP_303_SEE_OTHER)


@router.post("/console/corrections")
async def console_correction(request: Request) -> Response:
    """ "Wrongly routed, should have been X": the caller's words wait on the Learning page
    for a KB editor to add them as examples of X."""
    auth = _posting(request)
    if isinstance(auth, Response):
        return auth
    loc = page_locale(request)
    services = services_of(request)
    form = await read_form(request)
    key, should_be = str(form.get("card_key", "")), str(form.get("should_be", ""))
    card = find_transfer(services, key) if 0 < len(key) <= 64 else None
    if card is None:
        message = loc.gettext("No call transferred today has this card.")
        return error_page(request, 404, message, auth, loc=loc)
    kb = services.kb_store.current()
    targets = {"operator", *(d.id for d in kb.departments), *(f"faq:{e.id}" for e in kb.faq)}
    if should_be not in targets:
        message = loc.gettext("Unknown department or FAQ entry: %(target)s.") % {
            "target": should_be
        }
        return error_page(request, 400, message, auth, loc=loc)
    LearningQueries(services.engine).add_correction(
        actor=auth.name,
        call_id=card.call_id,
        language=card.language,
        routed_to=card.intent or card.department or card.target,
        should_be=should_be,
        phrases=list(card.utterances),
    )
    return RedirectResponse(_back(request, reported="1") + "#transfers", status.HTTP_303_SEE_OTHER)


@router.get("/console/events")
def console_events(
    request: Request,
    keepalive: Annotated[float, Query(gt=0, le=60)] = 15.0,
    department: Annotated[list[str] | None, Query(max_length=50)] = None,
) -> Response:
    """Live cards and callback rows (Server-Sent Events), rendered for the reader."""
    auth = authorise(request, CONSOLE_ROLES)
    if isinstance(auth, Response):
        return auth
    services = services_of(request)
    loc = page_locale(request)
    labels = Labels(services.kb_store.current(), loc)
    helpers = _helpers(loc, labels, department)
    feed = ConsoleFeed(
        lambda template, context: render_fragment(
            request, template, {**helpers, **context}, loc=loc
        ),
        labels,
        _departments(department),
    )
    # The feed ends (with the reason) as soon as the session does: a disabled operator
    # must stop seeing calls at once, not at the next page load.
    return event_stream_response(
        services.live_bus,
        keepalive_s=keepalive,
        probe=access_probe(services, request, auth, CONSOLE_ROLES),
        recheck_s=services.live_recheck_s,
        formatter=feed,
    )
