"""Ambiguity, misunderstanding and the DTMF menu: clarify once, rephrase, menu, operator."""

from __future__ import annotations

import dataclasses

import pytest

from tests.dialog.driver import (
    MONDAY_MORNING,
    Call,
    city_kb,
    decision,
    keys,
    kinds,
    listen_of,
    rejected,
    texts,
    transfer_of,
    turn_of,
)
from voicebot.dialog.config import DialogConfig
from voicebot.dialog.machine import DialogState
from voicebot.records import TransferReason
from voicebot.routing.decision import RouteDecision

MENU = (
    "Vous pouvez aussi choisir avec le clavier de votre téléphone. "
    "Pour le service Population, tapez 1. Pour le service Urbanisme, tapez 2. "
    # The department without a digit of its own gets the first free one.
    "Pour le service Propreté, tapez 3. Pour parler avec l'accueil, tapez 0."
)
REPHRASE = (
    "Excusez-moi, je n'ai pas bien compris. Pouvez-vous reformuler votre demande en quelques mots ?"
)


def _ambiguous() -> RouteDecision:
    return decision(
        "faq:id_card", margin=0.01, ambiguous=True, others=["faq:passport", "population"]
    )


def _clarifying_call() -> Call:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("il me faut un document pour voyager", _ambiguous())
    return call


def test_ambiguous_decision_asks_one_question_naming_both_options() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    actions = call.say("il me faut un document pour voyager", _ambiguous())
    assert kinds(actions) == ["StopPlayback", "Play", "Listen", "RecordTurn"]
    assert texts(actions) == [
        "Votre demande concerne-t-elle la question : Comment renouveler ma carte d'identité, "
        "ou plutôt la question : Comment obtenir un passeport ?"
    ]
    assert keys(actions) == ["clarify"]
    turn = turn_of(actions)
    assert (turn.intent, turn.action, turn.score, turn.margin) == (
        "faq:id_card",
        "clarify",
        0.82,
        0.01,
    )
    assert call.dialog.state is DialogState.CLARIFYING


def test_departments_are_named_by_their_names_in_the_question() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    ambiguous = decision("population", ambiguous=True, margin=0.01, others=["urbanism"])
    assert texts(call.say("un permis pour ma carte", ambiguous)) == [
        "Votre demande concerne-t-elle le service Population, ou plutôt le service Urbanisme ?"
    ]


@pytest.mark.parametrize(
    ("reply", "routed", "first_key", "intent"),
    [
        ("le passeport", None, "faq:passport", "faq:passport"),
        ("pour la carte d identité", None, "faq:id_card", "faq:id_card"),
        ("le premier", None, "faq:id_card", "faq:id_card"),
        ("la deuxième", None, "faq:passport", "faq:passport"),
        ("oui", None, "faq:id_card", "faq:id_card"),
        ("euh voilà quoi", decision("faq:passport"), "faq:passport", "faq:passport"),
        ("en fait c'est pour la collecte", decision("waste"), "transfer:waste", "waste"),
    ],
)
def test_the_reply_to_the_clarifying_question_chooses(
    reply: str, routed: RouteDecision | None, first_key: str, intent: str
) -> None:
    call = _clarifying_call()
    actions = call.say(reply, routed)
    assert keys(actions)[0] == first_key
    assert turn_of(actions).intent == intent
    assert call.dialog.state is not DialogState.CLARIFYING


def test_an_unresolved_clarification_asks_to_rephrase_and_is_not_asked_again() -> None:
    call = _clarifying_call()
    actions = call.say("je ne sais pas trop", _ambiguous())
    assert texts(actions) == [REPHRASE]
    assert (turn_of(actions).intent, turn_of(actions).action) == ("none", "rephrase")
    assert call.dialog.state is DialogState.LISTENING


def test_goodbye_instead_of_a_choice_ends_the_call() -> None:
    call = _clarifying_call()
    assert keys(call.say("bon ben au revoir", rejected())) == ["goodbye"]


def test_silence_while_clarifying_asks_the_same_question_again() -> None:
    call = _clarifying_call()
    call.played()
    assert keys(call.silence()) == ["silence", "clarify"]
    assert call.dialog.state is DialogState.CLARIFYING


def test_an_ambiguous_decision_without_a_different_runner_up_is_followed() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    same = decision("faq:parking", ambiguous=True, others=["faq:parking", "none"])
    assert keys(call.say("parking", same)) == ["faq:parking", "anything_else"]


def test_no_to_the_clarifying_question_counts_as_a_failure() -> None:
    call = _clarifying_call()
    actions = call.say("non", rejected())
    assert keys(actions) == ["rephrase"]
    assert turn_of(actions).intent == "no"
    assert keys(call.say("bla bla", rejected())) == ["menu"]


def test_not_understood_asks_to_rephrase_then_announces_the_dtmf_menu() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    first = call.say("blablabla", rejected())
    assert kinds(first) == ["StopPlayback", "Play", "Listen", "RecordTurn"]
    assert texts(first) == [REPHRASE]
    assert (turn_of(first).intent, turn_of(first).action) == ("none", "rephrase")
    second = call.say("toujours rien", rejected())
    assert texts(second) == [MENU]
    assert (turn_of(second).intent, turn_of(second).action) == ("none", "menu")
    assert call.dialog.state is DialogState.MENU


def test_an_utterance_the_session_did_not_route_is_not_understood() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    assert keys(call.say("bonjour", None)) == ["rephrase"]


def test_low_asr_confidence_asks_to_repeat_even_with_a_confident_route() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    actions = call.say("carte d'identité", decision("faq:id_card"), confidence=0.2)
    assert texts(actions) == [
        "Excusez-moi, je vous entends mal. Pouvez-vous répéter, un peu plus lentement ?"
    ]
    turn = turn_of(actions)
    assert (turn.intent, turn.asr_confidence, turn.score) == ("none", 0.2, 0.82)


def test_max_failures_is_configurable() -> None:
    call = Call(city_kb(), MONDAY_MORNING, config=DialogConfig(max_failures=3))
    assert [keys(call.say("euh", rejected())) for _ in range(3)] == [
        ["rephrase"],
        ["rephrase"],
        ["menu"],
    ]


def test_success_resets_the_failure_count() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("euh", rejected())
    call.say("carte", decision("faq:id_card"))
    assert keys(call.say("euh", rejected())) == ["rephrase"]


@pytest.mark.parametrize(
    ("digit", "expected", "target"),
    [("1", ["transfer:population"], "population"), ("0", ["transfer:operator"], "operator")],
)
def test_a_menu_digit_routes_to_its_department_or_the_operator(
    digit: str, expected: list[str], target: str
) -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("euh", rejected())
    call.say("euh", rejected())
    actions = call.press(digit)
    assert keys(actions) == expected
    turn = turn_of(actions)
    assert (turn.intent, turn.dtmf, turn.transcript, turn.asr_confidence) == (
        f"dtmf:{digit}",
        digit,
        "",
        None,
    )
    assert transfer_of(call.played()).target == target


def test_a_menu_digit_to_a_closed_department_says_its_hours() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("euh", rejected())
    call.say("euh", rejected())
    # A caller who used the keypad is told which keys answer the yes/no question.
    assert keys(call.press("2")) == ["closed:urbanism", "offer_operator", "keypad_yes_no"]
    assert keys(call.press("1")) == ["transfer:operator"]
    # The keypad chose urbanism; the operator gets the call because urbanism is closed.
    summary = transfer_of(call.played()).summary
    assert (summary.department, summary.reason) == ("urbanism", TransferReason.CLOSED)


@pytest.mark.parametrize("fail", ["digit", "speech"], ids=["unknown-digit", "not-understood-again"])
def test_when_the_menu_also_fails_the_call_goes_to_the_operator(fail: str) -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("euh", rejected())
    call.say("euh", rejected())
    actions = call.press("7") if fail == "digit" else call.say("hein", rejected())
    assert keys(actions) == ["transfer:operator"]
    assert turn_of(actions).action == "operator"
    transfer = transfer_of(call.played())
    assert (transfer.extension, transfer.summary.intent, transfer.summary.reason) == (
        "1000",
        "none" if fail == "speech" else "dtmf:7",
        TransferReason.NOT_UNDERSTOOD,
    )


def test_more_menu_attempts_can_be_allowed() -> None:
    call = Call(city_kb(), MONDAY_MORNING, config=DialogConfig(max_menu_failures=2))
    call.say("euh", rejected())
    call.say("euh", rejected())
    again = call.say("hein", rejected())
    assert keys(again) == ["rephrase", "menu"]
    assert turn_of(again).action == "menu"
    assert keys(call.press("8")) == ["transfer:operator"]


def test_an_understood_request_in_the_menu_is_routed() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("euh", rejected())
    call.say("euh", rejected())
    assert keys(call.say("la collecte des encombrants", decision("faq:bulky_waste"))) == [
        "faq:bulky_waste",
        "offer_details",
    ]


def test_a_digit_before_any_menu_routes_directly_and_an_unknown_one_announces_the_menu() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    assert keys(call.press("9")) == ["menu"]
    assert keys(call.press("1")) == ["transfer:population"]


def test_without_dtmf_digits_every_department_still_gets_a_key() -> None:
    kb = city_kb()
    kb = dataclasses.replace(
        kb, departments=tuple(dataclasses.replace(d, dtmf=None) for d in kb.departments)
    )
    call = Call(kb, MONDAY_MORNING)
    call.say("euh", rejected())
    assert texts(call.say("euh", rejected())) == [
        "Vous pouvez aussi choisir avec le clavier de votre téléphone. "
        "Pour le service Population, tapez 1. Pour le service Urbanisme, tapez 2. "
        "Pour le service Propreté, tapez 3. Pour parler avec l'accueil, tapez 0."
    ]
    assert keys(call.press("3")) == ["transfer:waste"]


def test_listen_after_the_menu_accepts_free_speech() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("euh", rejected())
    assert listen_of(call.say("euh", rejected())).grammar is None
