"""Honest containment: when a call counts as resolved by the assistant alone.

An ``answered`` call is *contained* only if, once the assistant gave its first FAQ answer,
the caller did not ask again: every later request got a different FAQ answer (a new
question, answered), never

* a request not understood (``none``: the caller tried again in other words),
* the same answer a second time (the answer did not help),
* a department or a person (transfer, operator, callback, closed-department offers),
* a clarification or a rephrase prompt.

Dialog acts (yes, no, goodbye, keypad digits, language switches, silences) do not count as
asking again. A call with a transfer or a callback request is never contained. This is
stricter than "the outcome is answered": a caller told the recycling-park hours when they
asked about rats in the park, who then says "non, les rats" and hangs up, was not helped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from voicebot.calllog.intents import IntentKind, intent_kind

ANSWER_ACTION = "answer"
RE_ASK_ACTIONS = frozenset(
    {"rephrase", "clarify", "transfer", "operator", "closed", "offer", "callback", "menu"}
)
"""Turn actions that mean the caller still wanted something after an answer."""


@dataclass(frozen=True, slots=True)
class TurnFacts:
    """What containment needs to know of a turn."""

    intent: str
    action: str


def is_contained(
    outcome: str, turns: Iterable[TurnFacts], *, transfers: int, callbacks: int
) -> bool:
    """Whether a call was resolved by the assistant alone (see the module's rule)."""
    if outcome != "answered" or transfers or callbacks:
        return False
    answered: set[str] = set()
    for turn in turns:
        if not answered:
            if turn.action == ANSWER_ACTION:
                answered.add(turn.intent)
            continue
        kind = intent_kind(turn.intent)
        if kind is IntentKind.NOT_UNDERSTOOD or turn.action in RE_ASK_ACTIONS:
            return False
        if turn.action == ANSWER_ACTION:
            if turn.intent in answered:
                return False
            answered.add(turn.intent)
        elif kind is IntentKind.REQUEST:
            return False
    return bool(answered)
