"""Fields of API answers meant for people: words and local times in the reader's language."""

from __future__ import annotations

from fastapi import Request

from voicebot.api.models import CallDisplay
from voicebot.api.services import ApiServices
from voicebot.calllog.views import CallSummary
from voicebot.i18n.labels import Labels
from voicebot.i18n.negotiation import reader_language
from voicebot.i18n.page_locale import PageLocale


def request_labels(request: Request, services: ApiServices) -> Labels:
    """Labels in the ``Accept-Language`` of ``request`` among the city's languages."""
    kb = services.kb_store.current()
    language = reader_language(kb.city, None, request.headers.get("accept-language"))
    return Labels(kb, PageLocale.create(language, services.stats.timezone))


def call_display(call: CallSummary, labels: Labels) -> CallDisplay:
    """How a person reads ``call``."""
    loc, _ = labels.loc, labels.loc.gettext
    return CallDisplay(
        started_at=loc.datetime(call.started_at),
        ended_at=loc.datetime(call.ended_at),
        duration=loc.seconds(call.duration_s),
        language=labels.language(call.language),
        outcome=labels.outcome(call.outcome),
        department=labels.department(call.department),
        first_request=labels.intent(call.first_intent),
        resolved_by_assistant=_("yes") if call.contained else _("no"),
    )
