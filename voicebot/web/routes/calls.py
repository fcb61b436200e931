"""The calls page: filtered, searched, paginated list; one call opened turn by turn."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Request, Response

from voicebot.calllog.models import ApiRole
from voicebot.calllog.rows import utc_now
from voicebot.i18n.labels import Labels
from voicebot.records import CallOutcome
from voicebot.web.access import DASHBOARD_ROLES, authorise, safe_next
from voicebot.web.calls_query import PAGE_SIZE, CallsQuery, CallsQueryError
from voicebot.web.rendering import error_page, page_locale, render, services_of

router = APIRouter(include_in_schema=False)
TIMING_ORDER = ("endpointing", "asr", "routing", "dialog", "tts", "total")
COUNT_WITHIN_MS = 150
"""How long the page may spend counting all the matches (PostgreSQL); past that it says
there are more, without the number."""


def _filter_options(labels: Labels) -> dict[str, Any]:
    """Choices of the filter form, with names in the page language."""
    kb = labels.kb
    departments = sorted(
        ((d.id, labels.department(d.id)) for d in kb.departments), key=lambda o: o[1]
    )
    departments.append(("operator", labels.department("operator")))
    faq = sorted(((f"faq:{e.id}", labels.faq(e.id)) for e in kb.faq), key=lambda o: o[1])
    groups = [
        (labels.loc.gettext("Departments"), departments),
        (labels.loc.gettext("FAQ answers"), faq),
        (labels.loc.gettext("Other"), [("none", labels.intent("none"))]),
    ]
    return {
        "outcome_options": [(o.value, labels.outcome(o.value)) for o in CallOutcome],
        "department_options": departments,
        "intent_groups": groups,
        "known_intents": {value for _, options in groups for value, _ in options},
    }


@router.get("/calls")
def calls(request: Request) -> Response:
    """Calls of a period, filtered and searched, newest first, fifty a page."""
    auth = authorise(request, DASHBOARD_ROLES)
    if isinstance(auth, Response):
        return auth
    services = services_of(request)
    loc = page_locale(request)
    today = utc_now().astimezone(services.stats.timezone).date()
    try:
        query = CallsQuery.parse(today, list(request.query_params.multi_items()))
        filters = query.call_filter(services.stats.timezone)
    except CallsQueryError as error:
        return error_page(request, 422, error.translated(loc.gettext), auth, loc=loc)
    page = services.repository.list_calls(
        filters,
        sort=query.sort,
        limit=PAGE_SIZE,
        offset=query.offset,
        count_within_ms=COUNT_WITHIN_MS,
    )
    labels = Labels(services.kb_store.current(), loc)
    if page.total is None and len(page.items) < PAGE_SIZE:
        # Not a full page: these are the last ones, whatever the count would have said.
        page = dataclasses.replace(page, total=query.offset + len(page.items))
    if page.total is None:
        has_next = len(page.items) == PAGE_SIZE
    else:
        has_next = query.offset + len(page.items) < page.total
    context = {
        "key": auth,
        "query": query,
        "page": page,
        "first_row": query.offset + 1 if page.items else 0,
        "last_row": query.offset + len(page.items),
        "previous_url": query.url(page=query.page - 1) if query.page > 1 else None,
        "next_url": query.url(page=query.page + 1) if has_next else None,
        "list_url": query.url(),
        "city_languages": services.kb_store.current().city.languages,
        **_filter_options(labels),
    }
    return render(request, "calls.html", context, loc=loc)


@router.get("/calls/{call_id}")
def call_detail(request: Request, call_id: str, back: str | None = None) -> Response:
    """One call, turn by turn: what was said, decided (score, runner-up), played, timings."""
    auth = authorise(request, DASHBOARD_ROLES)
    if isinstance(auth, Response):
        return auth
    services = services_of(request)
    loc = page_locale(request)
    detail = (
        services.repository.get_call(call_id)
        if len(call_id) <= 64 and "\x00" not in call_id
        else None
    )
    if detail is None:
        message = loc.gettext("No call has the identifier %(id)s.") % {"id": call_id[:64]}
        return error_page(request, 404, message, auth, loc=loc)
    back_url = safe_next(back)
    if back_url is None or not back_url.startswith("/calls"):
        back_url = "/calls"
    context = {
        "key": auth,
        "detail": detail,
        "call": detail.call,
        "back_url": back_url,
        "timing_order": TIMING_ORDER,
        # Raw numbers are for the operators who call back and for admins, not statistics.
        "show_numbers": auth.role is ApiRole.ADMIN,
    }
    return render(request, "call.html", context, loc=loc)
