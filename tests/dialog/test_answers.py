"""FAQ answers, several questions in one call, and the caller closing the call."""

from __future__ import annotations

import pytest

from tests.dialog.driver import (
    MONDAY_MORNING,
    Call,
    city_kb,
    decision,
    keys,
    kinds,
    listen_of,
    record_of,
    rejected,
    texts,
    turn_of,
)
from voicebot.calllog.rows import is_contained, validate_record
from voicebot.dialog.actions import HangUp, Listen, Play, StopPlayback
from voicebot.dialog.machine import DialogState
from voicebot.records import CallOutcome

ANSWER_ID_CARD = "Présentez-vous au service Population avec votre ancienne carte et une photo."
ANSWER_PASSPORT = "Le passeport se demande au service Population, comptez deux semaines."
ANYTHING_ELSE = "Puis-je vous aider pour autre chose ?"
GOODBYE = "Merci de votre appel. Au revoir, et bonne journée !"


def test_faq_decision_plays_the_answer_then_asks_for_anything_else() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    actions = call.say("comment renouveler ma carte d'identité", decision("faq:id_card"))
    assert actions[:4] == [
        StopPlayback(),
        Play(ANSWER_ID_CARD, "fr", "faq:id_card", True, 3),
        Play(ANYTHING_ELSE, "fr", "anything_else", True, 4),
        Listen(None, "fr"),
    ]
    assert kinds(actions)[4:] == ["RecordTurn"]
    turn = turn_of(actions)
    assert (turn.intent, turn.action, turn.reply_text) == (
        "faq:id_card",
        "answer",
        f"{ANSWER_ID_CARD} {ANYTHING_ELSE}",
    )
    assert call.dialog.state is DialogState.LISTENING


def test_several_questions_then_no_thanks_ends_the_call_as_answered() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("carte d'identité", decision("faq:id_card"))
    call.played()
    call.say("et pour un passeport", decision("faq:passport"))
    call.played()
    actions = call.say("non merci c'est tout", decision("none"))
    assert actions == [Play(GOODBYE, "fr", "goodbye", False, 7), actions[-1]]
    assert turn_of(actions).intent == "goodbye"
    assert call.dialog.state is DialogState.CLOSING
    ending = call.played()
    assert kinds(ending) == ["HangUp", "EndCall"]
    assert ending[0] == HangUp()
    record = record_of(ending)
    assert record.outcome is CallOutcome.ANSWERED
    assert [(t.intent, t.action) for t in record.turns] == [
        ("faq:id_card", "answer"),
        ("faq:passport", "answer"),
        ("goodbye", "goodbye"),
    ]
    assert (record.transfers, record.callbacks, record.department) == ((), (), None)
    assert record.ended_at == call.at
    validate_record(record)
    assert is_contained(record)


@pytest.mark.parametrize(
    "closing",
    ["non merci", "c'est tout", "merci au revoir", "non", "merci beaucoup", "Au revoir !"],
)
def test_closing_phrases_after_an_answer_end_the_call(closing: str) -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("carte d'identité", decision("faq:id_card"))
    call.played()
    assert [p.prompt_key for p in call.say(closing) if isinstance(p, Play)] == ["goodbye"]


def test_a_plain_yes_after_an_answer_invites_the_next_question() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("carte d'identité", decision("faq:id_card"))
    call.played()
    actions = call.say("oui", decision("none"))
    assert actions == [
        Play("Je vous écoute.", "fr", "listening", True, 5),
        Listen(None, "fr"),
        actions[-1],
    ]
    assert (turn_of(actions).intent, turn_of(actions).action) == ("yes", "prompt")
    again = call.say("oui une autre question le passeport", decision("faq:passport"))
    assert [p.prompt_key for p in again if isinstance(p, Play)] == ["faq:passport", "anything_else"]


def test_goodbye_before_anything_was_resolved_is_abandoned() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("au revoir", decision("none"))
    record = record_of(call.played())
    assert record.outcome is CallOutcome.ABANDONED
    assert not is_contained(record)


def test_thanks_alone_at_the_start_is_not_a_goodbye() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    actions = call.say("merci", rejected())
    assert [p.prompt_key for p in actions if isinstance(p, Play)] == ["rephrase"]


def test_an_answer_with_details_offers_them_and_says_them_on_yes() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    actions = call.say("les encombrants", decision("faq:bulky_waste"))
    assert keys(actions) == ["faq:bulky_waste", "offer_details"]
    assert texts(actions)[1] == "Voulez-vous plus de détails ?"
    assert listen_of(actions).grammar is not None  # a yes/no question
    assert call.dialog.state is DialogState.OFFERING
    call.played()
    more = call.say("oui")
    assert keys(more) == ["faq_details:bulky_waste", "anything_else"]
    assert (turn_of(more).intent, turn_of(more).action) == ("yes", "details")
    call.played()
    call.say("non merci")
    record = record_of(call.played())
    assert record.outcome is CallOutcome.ANSWERED


def test_no_to_details_goes_on_to_anything_else() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("les encombrants", decision("faq:bulky_waste"))
    call.played()
    assert keys(call.say("non")) == ["anything_else"]
    assert call.dialog.state is DialogState.LISTENING


def test_a_new_question_instead_of_yes_to_details_is_answered() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("les encombrants", decision("faq:bulky_waste"))
    assert keys(call.say("et pour un passeport", decision("faq:passport"))) == [
        "faq:passport",
        "anything_else",
    ]


def test_hanging_up_during_the_details_is_not_a_contained_answer() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("les encombrants", decision("faq:bulky_waste"))
    call.played()
    call.say("oui")
    record = record_of(call.hang_up())
    assert record.outcome is CallOutcome.ABANDONED


def test_no_and_goodbye_to_details_ends_the_call_as_answered() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("les encombrants", decision("faq:bulky_waste"))
    call.played()
    assert keys(call.say("non merci au revoir")) == ["goodbye"]
    record = record_of(call.played())
    assert record.outcome is CallOutcome.ANSWERED
