"""Readable names for the ids staff would otherwise see: outcomes, intents, actions.

Departments, the operator desk and FAQ entries are named from the knowledge base in the
page language (else the city's default language); everything else comes from the
catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass

from voicebot.calllog.intents import DIALOG_ACT_PREFIXES, NOT_UNDERSTOOD
from voicebot.i18n.catalogues import N_
from voicebot.i18n.page_locale import MISSING, PageLocale
from voicebot.knowledge.model import KnowledgeBase

OUTCOMES = {
    "answered": N_("Answered by the assistant"),
    "transferred": N_("Put through to a department"),
    "operator": N_("Put through to reception"),
    "callback": N_("Callback requested"),
    "abandoned": N_("Caller hung up"),
    "failed": N_("Not handled"),
    "interrupted": N_("Interrupted (assistant stopped)"),
    "in_progress": N_("In progress"),
}
DIALOG_ACTS = {
    NOT_UNDERSTOOD: N_("Not understood"),
    "yes": N_("Yes"),
    "no": N_("No"),
    "goodbye": N_("Goodbye"),
    "silence": N_("Silence"),
    "max_duration": N_("Call too long"),
    "transfer_failed": N_("Transfer failed"),
    "hangup": N_("Hung up"),
}
ACTIONS = {
    "answer": N_("Answered (FAQ)"),
    "details": N_("Details given (FAQ)"),
    "transfer": N_("Transfer announced"),
    "operator": N_("Sent to reception"),
    "closed": N_("Closed: opening hours given"),
    "offer": N_("Next offer made"),
    "callback": N_("Callback recorded"),
    "clarify": N_("Asked which of two"),
    "rephrase": N_("Asked to rephrase"),
    "menu": N_("Keypad menu"),
    "language": N_("Language switched"),
    "language_unavailable": N_("Language not offered"),
    "prompt": N_("Asked again"),
    "silence_prompt": N_("Silence: asked if still there"),
    "goodbye": N_("Said goodbye"),
    "answer_interrupted": N_("Hung up during the answer"),
}
DIAL_STATUSES = {
    "ANSWER": N_("answered"),
    "BUSY": N_("busy"),
    "NOANSWER": N_("no answer"),
    "CHANUNAVAIL": N_("unreachable"),
    "CONGESTION": N_("network congestion"),
    "CANCEL": N_("cancelled"),
    "PENDING": N_("pending"),
}


@dataclass(frozen=True, slots=True)
class Labels:
    """Names for one page: its locale and the city's knowledge base."""

    kb: KnowledgeBase
    loc: PageLocale

    def _pick(self, texts: dict[str, str], fallback: str) -> str:
        return (
            texts.get(self.loc.language)
            or texts.get(self.kb.city.default_language)
            or next(iter(texts.values()), fallback)
        )

    def department(self, department_id: str | None) -> str:
        """A department's name (the operator desk's for ``operator``); ``—`` for none."""
        if not department_id:
            return MISSING
        if department_id == "operator":
            return self._pick(self.kb.operator.name, department_id)
        for department in self.kb.departments:
            if department.id == department_id:
                return self._pick(department.name, department_id)
        return department_id

    def faq(self, faq_id: str) -> str:
        """An FAQ entry's first question in the page language."""
        for entry in self.kb.faq:
            if entry.id == faq_id:
                questions = {lang: q[0] for lang, q in entry.questions.items() if q}
                return self._pick(questions, faq_id)
        return faq_id

    def intent(self, intent: str | None) -> str:
        """What an intent means: an FAQ question, a department, a dialog act."""
        if not intent:
            return MISSING
        if intent.startswith("faq:"):
            return self.faq(intent.removeprefix("faq:"))
        if intent in DIALOG_ACTS:
            return self.loc.gettext(DIALOG_ACTS[intent])
        dtmf, language = DIALOG_ACT_PREFIXES
        if intent.startswith(dtmf):
            return self.loc.gettext("Keypad: %(digit)s") % {"digit": intent.removeprefix(dtmf)}
        if intent.startswith(language):
            name = self.loc.language_name(intent.removeprefix(language))
            return self.loc.gettext("Language: %(language)s") % {"language": name}
        return self.department(intent)

    def outcome(self, outcome: str | None) -> str:
        """How a call ended, in words."""
        if outcome is None:
            return MISSING
        return self.loc.gettext(OUTCOMES[outcome]) if outcome in OUTCOMES else outcome

    def action(self, action: str) -> str:
        """What the assistant did in a turn, in words."""
        return self.loc.gettext(ACTIONS[action]) if action in ACTIONS else action

    def dial_status(self, status: str) -> str:
        """Asterisk's dial status, in words."""
        return self.loc.gettext(DIAL_STATUSES[status]) if status in DIAL_STATUSES else status

    def language(self, code: str | None) -> str:
        """A language's name in the page language."""
        return self.loc.language_name(code) if code else MISSING
