"""The operator console's words and live feed: why a call came, cards and rows as HTML.

The live feed sends each card and callback row rendered by the same templates as the
page, in the reader's language, so a card looks the same whether it came with the page
or a second ago, and no call's UUID reaches the browser (cards carry the call's key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from voicebot.api.board import AnnouncedCallback, TransferredCall, card_of
from voicebot.api.sse import sse_message
from voicebot.calllog.callbacks import CallbackState
from voicebot.calllog.models import CallbackStatus
from voicebot.i18n.catalogues import N_
from voicebot.i18n.labels import Labels
from voicebot.i18n.page_locale import PageLocale
from voicebot.live.events import (
    CallbackRequestedEvent,
    CallEndedEvent,
    CallEvent,
    CallStartedEvent,
    TransferDecidedEvent,
    TransferEvent,
    call_key,
)
from voicebot.records import TransferReason

Render = Callable[[str, dict[str, Any]], str]
"""Renders a template fragment with the page's context (locale, labels)."""


REASON_TAGS: dict[TransferReason, str] = {
    TransferReason.ROUTED: N_("Routed"),
    TransferReason.ASKED_FOR_PERSON: N_("Asked for a person"),
    TransferReason.KEYPAD: N_("Keypad"),
    TransferReason.CLOSED: N_("Department closed"),
    TransferReason.BUSY: N_("Department busy"),
    TransferReason.NO_ANSWER: N_("No answer"),
    TransferReason.UNREACHABLE: N_("Line unreachable"),
    TransferReason.NOT_UNDERSTOOD: N_("Not understood"),
    TransferReason.SILENT: N_("Silent caller"),
    TransferReason.MAX_DURATION: N_("Call too long"),
}
"""A word or two for why a call came: the card's tag."""
REASON_SENTENCES: dict[TransferReason, str] = {
    TransferReason.ROUTED: N_("The assistant understood the request and sent it to %(target)s."),
    TransferReason.ASKED_FOR_PERSON: N_("The caller asked to speak to someone."),
    TransferReason.KEYPAD: N_("The caller chose %(target)s on the keypad."),
    TransferReason.CLOSED: N_(
        "%(department)s is closed: the caller agreed to be put through to %(target)s."
    ),
    TransferReason.BUSY: N_("%(department)s was busy: the call was sent to %(target)s."),
    TransferReason.NO_ANSWER: N_("%(department)s did not answer: the call was sent to %(target)s."),
    TransferReason.UNREACHABLE: N_(
        "%(department)s could not be reached: the call was sent to %(target)s."
    ),
    TransferReason.NOT_UNDERSTOOD: N_(
        "The assistant did not understand the request, not even with the keypad menu."
    ),
    TransferReason.SILENT: N_("The caller neither spoke nor pressed a key."),
    TransferReason.MAX_DURATION: N_("The call with the assistant went on too long."),
}
"""Why the call came, in a sentence naming the departments as the KB does."""
STATUS_NAMES: dict[CallbackStatus, str] = {
    CallbackStatus.PENDING: N_("to do"),
    CallbackStatus.NO_ANSWER: N_("no answer, to retry"),
    CallbackStatus.CALLED_BACK: N_("called back"),
    CallbackStatus.DONE: N_("done"),
}


def reason_tag(reason: TransferReason | None, loc: PageLocale) -> str:
    """The card's tag for ``reason`` ("" for calls stored before reasons were)."""
    return loc.gettext(REASON_TAGS[reason]) if reason is not None else ""


def reason_sentence(card: TransferredCall, labels: Labels) -> str:
    """Why this call came to ``card.target``, in the reader's language."""
    if card.reason is None:
        return ""
    sentence = labels.loc.gettext(REASON_SENTENCES[card.reason]) % {
        "target": labels.department(card.target),
        "department": labels.department(card.department or card.target),
    }
    # KB names are written for the middle of a sentence ("le service État civil").
    return sentence[:1].upper() + sentence[1:]


def card_state(card: TransferredCall, loc: PageLocale) -> str:
    """Where the call stands: being put through, put through, or over for the assistant."""
    if card.ended:
        return loc.gettext("ended")
    return loc.gettext("transferring") if card.sent else loc.gettext("announcing")


def announcement(card: TransferredCall, labels: Labels) -> str:
    """What a screen reader says when the card arrives: time, where, why, the words."""
    loc = labels.loc
    said = " / ".join(card.utterances[-2:])
    parts = [loc.time(card.transferred_at), labels.department(card.target)]
    parts.append(reason_sentence(card, labels) or labels.intent(card.intent))
    if said:
        parts.append(f"“{said}”")
    return " — ".join(parts)


def status_name(state: CallbackState | None, loc: PageLocale) -> str:
    """A callback request's status in words (``to do`` until someone acts)."""
    status = state.status if state is not None else CallbackStatus.PENDING
    return loc.gettext(STATUS_NAMES[status])


@dataclass(frozen=True, slots=True)
class CallbackLine:
    """One row of the callback queue, stored or only announced live so far."""

    key: str | None
    """The request's key (None only for rows older than keys: those get "done" by id)."""
    row_id: int | None
    requested_at: datetime
    department: str | None
    language: str | None
    caller_number: str | None
    note: str | None
    state: CallbackState | None
    """Where it stands (None: nobody acted yet)."""


def announced_line(callback: AnnouncedCallback, state: CallbackState | None) -> CallbackLine:
    """The row of a request announced live."""
    return CallbackLine(
        callback.callback_key,
        None,
        callback.requested_at,
        callback.department,
        callback.language,
        callback.caller_number,
        callback.note,
        state,
    )


def announced(event: CallbackRequestedEvent) -> AnnouncedCallback:
    """What the board keeps of a live request."""
    return AnnouncedCallback(
        callback_key=event.callback_key,
        requested_at=event.requested_at,
        department=event.department,
        language=event.language,
        caller_number=event.caller_number,
        note=event.note,
    )


@dataclass(frozen=True, slots=True)
class ConsoleFeed:
    """Turns call events into the console's SSE messages for one reader."""

    render: Render
    labels: Labels
    departments: frozenset[str | None] | None = None
    """Only callback requests of these departments (None: operator desk); None: all."""

    def __call__(self, event: CallEvent) -> str | None:
        """The message for ``event``, or None for what the console does not show."""
        loc = self.labels.loc
        match event:
            case TransferDecidedEvent() | TransferEvent():
                card = card_of(event)
                html = self.render("console_card.html", {"t": card})
                # Said once, when the decision is made; the sending that follows is quiet.
                say = (
                    announcement(card, self.labels)
                    if isinstance(event, TransferDecidedEvent)
                    else ""
                )
                return sse_message("card", {"key": card.card_key, "html": html, "announce": say})
            case CallEndedEvent():
                return sse_message(
                    "ended", {"key": call_key(event.call_id), "state": loc.gettext("ended")}
                )
            case CallStartedEvent():
                return sse_message("started", {})
            case CallbackRequestedEvent():
                if self.departments is not None and event.department not in self.departments:
                    return None
                line = announced_line(announced(event), None)
                html = self.render("callback_row.html", {"cb": line})
                say = loc.gettext("New callback request: %(department)s, %(number)s") % {
                    "department": self.labels.department(event.department or "operator"),
                    "number": event.caller_number or loc.gettext("withheld"),
                }
                return sse_message(
                    "callback", {"key": event.callback_key, "html": html, "announce": say}
                )
        return None
