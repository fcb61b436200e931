"""Greeting in the right language, and switching language on request or on detection."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.dialog.driver import (
    MONDAY_EVENING,
    MONDAY_MORNING,
    Call,
    city_kb,
    decision,
    keys,
    kinds,
    listen_of,
    minimal_kb,
    plays,
    texts,
    turn_of,
)
from voicebot.dialog.actions import Listen, Play
from voicebot.dialog.config import DialogConfig
from voicebot.dialog.machine import DialogState


def test_call_start_greets_names_the_operator_key_and_offers_the_other_languages_at_once() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    greeting = "Bonjour, commune de Woluwe-Test. Dites votre demande, ou tapez zéro pour l'accueil."
    assert call.started == [
        Play(greeting, "fr", "greeting", True, 1),
        # One short sentence, each language named in its own words, said in the first one.
        Play("Nederlands, English of Deutsch?", "nl", "language_offer:fr", True, 2),
        Listen(None, "fr"),
    ]
    assert call.dialog.state is DialogState.LISTENING
    assert call.dialog.turns == ()


def test_call_start_in_an_offered_language_greets_in_it() -> None:
    call = Call(city_kb(), MONDAY_MORNING, language="nl")
    assert [(p.prompt_key, p.language, p.text) for p in plays(call.started)] == [
        (
            "greeting",
            "nl",
            "Goeiedag, gemeente Woluwe-Test. Zeg uw vraag, of toets nul voor het onthaal.",
        ),
        ("language_offer:nl", "fr", "Français, English ou Deutsch ?"),
    ]
    assert call.dialog.language == "nl"


def test_a_city_with_one_language_offers_no_other() -> None:
    kb = city_kb()
    kb = replace(kb, city=replace(kb.city, languages=("fr",)))
    assert kinds(Call(kb, MONDAY_MORNING).started) == ["Play", "Listen"]


def test_call_start_in_a_language_not_offered_falls_back_to_the_default() -> None:
    call = Call(minimal_kb(), MONDAY_MORNING, language="de")
    assert call.dialog.language == "fr"
    assert plays(call.started)[0].language == "fr"


def test_language_hints_can_be_turned_off() -> None:
    call = Call(city_kb(), MONDAY_MORNING, config=DialogConfig(announce_languages=False))
    assert kinds(call.started) == ["Play", "Listen"]


@pytest.mark.parametrize(
    ("heard", "language", "confirmation", "question"),
    [
        ("english please", "en", "All right, I will continue in English.", "How can I help you?"),
        (
            "in het nederlands",
            "nl",
            "Prima, ik ga verder in het Nederlands.",
            "Waarmee kan ik u helpen?",
        ),
        (
            "auf deutsch",
            "de",
            "Gut, ich spreche jetzt Deutsch mit Ihnen.",
            "Wie kann ich Ihnen helfen?",
        ),
        (
            "parlez-vous anglais",
            "en",
            "All right, I will continue in English.",
            "How can I help you?",
        ),
    ],
)
def test_asking_for_an_offered_language_switches_to_it(
    heard: str, language: str, confirmation: str, question: str
) -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    actions = call.say(heard, decision("none"))
    assert kinds(actions) == ["StopPlayback", "Play", "Play", "Listen", "RecordTurn"]
    assert [(p.text, p.language) for p in plays(actions)] == [
        (confirmation, language),
        (question, language),
    ]
    assert listen_of(actions) == Listen(None, language)
    turn = turn_of(actions)
    assert (turn.intent, turn.action, turn.language) == (
        f"language:{language}",
        "language",
        language,
    )
    answer = call.say("how do i renew my card", decision("faq:id_card", language=language))
    assert plays(answer)[0].language == language
    assert plays(answer)[0].prompt_key == "faq:id_card"


def test_asking_for_a_language_not_offered_says_which_ones_are() -> None:
    call = Call(minimal_kb(), MONDAY_MORNING)
    actions = call.say("auf deutsch bitte", decision("none"))
    assert texts(actions) == [
        "Je suis désolé, je ne peux vous répondre qu'en français ou anglais.",
        "Que puis-je faire pour vous ?",
    ]
    turn = turn_of(actions)
    assert (turn.intent, turn.action, turn.language) == (
        "language:de",
        "language_unavailable",
        "fr",
    )
    assert call.dialog.language == "fr"


def test_an_utterance_detected_in_another_offered_language_switches_and_is_answered() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    actions = call.say(
        "how do i renew my identity card", decision("faq:id_card", language="en"), language="en"
    )
    assert kinds(actions) == ["StopPlayback", "Play", "Play", "Play", "Listen", "RecordTurn"]
    assert keys(actions) == ["language_switched", "faq:id_card", "anything_else"]
    assert {p.language for p in plays(actions)} == {"en"}
    assert texts(actions)[1] == "Come to the Population office with your old card and a photo."
    turn = turn_of(actions)
    assert (turn.intent, turn.action, turn.language) == ("faq:id_card", "answer", "en")
    assert call.dialog.language == "en"


def test_an_utterance_detected_in_a_language_not_offered_is_not_routed() -> None:
    call = Call(minimal_kb(), MONDAY_MORNING)
    actions = call.say("wo ist das rathaus", decision("faq:opening_hours"), language="de")
    assert keys(actions) == ["language_unavailable", "how_can_i_help"]
    assert turn_of(actions).intent == "language:de"


def test_switching_language_during_an_offer_asks_the_offer_again_in_the_new_language() -> None:
    call = Call(city_kb(), MONDAY_EVENING)
    call.say("je dois renouveler ma carte d'identité", decision("population"))
    actions = call.say("english please")
    assert keys(actions) == ["language_switched", "offer_faq:id_card"]
    assert texts(actions)[1] == (
        "I can still help with this question: How do I renew my identity card. "
        "Would you like to hear the answer?"
    )
    grammar = listen_of(actions).grammar
    assert grammar is not None and "yes" in grammar and grammar[-1] == "[unk]"
    assert call.dialog.state is DialogState.OFFERING
