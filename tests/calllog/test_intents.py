"""The call log's intent kinds agree with the dialog's vocabulary."""

from __future__ import annotations

from voicebot.calllog.intents import IntentKind, intent_kind
from voicebot.dialog.actions import DialogIntent, dtmf_intent, language_intent


def test_every_dialog_intent_but_none_is_a_dialog_act() -> None:
    for intent in DialogIntent:
        expected = (
            IntentKind.NOT_UNDERSTOOD if intent is DialogIntent.NONE else IntentKind.DIALOG_ACT
        )
        assert intent_kind(intent.value) is expected, intent


def test_keypad_and_language_turns_are_dialog_acts() -> None:
    assert intent_kind(dtmf_intent("3")) is IntentKind.DIALOG_ACT
    assert intent_kind(language_intent("nl")) is IntentKind.DIALOG_ACT


def test_routing_labels_are_requests() -> None:
    for label in ("faq:passport", "population", "operator"):
        assert intent_kind(label) is IntentKind.REQUEST
