"""What kind of thing a turn's intent is: a request, a dialog act, or not understood.

Statistics of *what people ask* count requests (FAQ entries, departments, the operator) and
keep dialog acts (yes, no, goodbye, keypad choices, language switches, silences) apart.
The call log cannot import the dialog (which imports the call log), so the dialog's intent
vocabulary is repeated here; ``tests/calllog/test_intents.py`` holds the two together.
"""

from __future__ import annotations

from enum import StrEnum

NOT_UNDERSTOOD = "none"
DIALOG_ACTS = frozenset(
    {"yes", "no", "goodbye", "silence", "max_duration", "transfer_failed", "hangup"}
)
"""Intents the dialog produces itself (``DialogIntent`` less ``none``)."""
DIALOG_ACT_PREFIXES = ("dtmf:", "language:")
"""Keypad choices (``dtmf:3``) and language requests (``language:nl``)."""


class IntentKind(StrEnum):
    """The kind of a turn's intent."""

    REQUEST = "request"
    """What the caller wants: ``faq:<id>``, a department id or ``operator``."""
    DIALOG_ACT = "dialog_act"
    """A move in the conversation: yes, no, goodbye, a keypad digit, a language."""
    NOT_UNDERSTOOD = "not_understood"


def intent_kind(intent: str) -> IntentKind:
    """The kind of ``intent``."""
    if intent == NOT_UNDERSTOOD:
        return IntentKind.NOT_UNDERSTOOD
    if intent in DIALOG_ACTS or intent.startswith(DIALOG_ACT_PREFIXES):
        return IntentKind.DIALOG_ACT
    return IntentKind.REQUEST
