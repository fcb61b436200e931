"""The phone path without speech: every department by keys, from the greeting on."""

from __future__ import annotations

import dataclasses

import pytest

from tests.dialog.driver import (
    MONDAY_EVENING,
    MONDAY_MORNING,
    Call,
    city_kb,
    decision,
    keys,
    record_of,
    texts,
    transfer_of,
    turn_of,
)
from voicebot.dialog.actions import StopPlayback, TransferPlanned
from voicebot.dialog.config import DialogConfig
from voicebot.dialog.machine import DialogState
from voicebot.knowledge.keypad import KeypadError, build_keypad
from voicebot.knowledge.model import KnowledgeBase, MenuGroup
from voicebot.records import CallOutcome, TransferReason, TransferStatus

REQUEST = "je dois renouveler ma carte d'identité"


def _grouped_kb() -> KnowledgeBase:
    """Urbanism and waste behind one key (3) of the first level."""
    kb = city_kb()
    departments = tuple(
        dataclasses.replace(d, dtmf=None) if d.id != "population" else d for d in kb.departments
    )
    group = MenuGroup(
        "town",
        "3",
        {
            "fr": "la ville et les rues",
            "nl": "de stad en de straten",
            "en": "the town and its streets",
            "de": "Stadt und Straßen",
        },
        ("urbanism", "waste"),
    )
    return dataclasses.replace(kb, departments=departments, menu=(group,))


@pytest.mark.parametrize(("digit", "target"), [("0", "operator"), ("1", "population")])
def test_a_key_during_the_greeting_stops_it_and_goes_straight_to_its_target(
    digit: str, target: str
) -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    actions = call.press(digit)  # the greeting is still playing
    assert actions[0] == StopPlayback()
    assert keys(actions) == [f"transfer:{target}"]
    planned = actions[1]
    assert isinstance(planned, TransferPlanned)
    assert planned.transfer.summary.reason is TransferReason.KEYPAD
    assert transfer_of(call.played()).target == target


@pytest.mark.parametrize("digit", ["*", "#", "7"])
def test_any_other_key_before_the_menu_announces_it(digit: str) -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    assert keys(call.press(digit)) == ["menu"]
    assert call.dialog.state is DialogState.MENU


def test_a_group_key_opens_its_second_level_and_star_goes_back() -> None:
    call = Call(_grouped_kb(), MONDAY_MORNING)
    call.press("*")
    assert texts(call.press("3")) == [
        "La ville et les rues. Pour le service Urbanisme, tapez 1. "
        "Pour le service Propreté, tapez 2. Pour revenir au premier menu, tapez étoile. "
        "Pour parler avec l'accueil, tapez 0."
    ]
    assert keys(call.press("*")) == ["menu"]
    assert keys(call.press("3")) == ["menu:town"]
    actions = call.press("2")
    assert keys(actions) == ["transfer:waste"]
    assert (turn_of(actions).intent, turn_of(actions).dtmf) == ("dtmf:2", "2")
    assert transfer_of(call.played()).extension == "2003"


def test_the_first_level_names_the_group_and_the_direct_department() -> None:
    call = Call(_grouped_kb(), MONDAY_MORNING)
    assert texts(call.press("#")) == [
        "Vous pouvez aussi choisir avec le clavier de votre téléphone. "
        "Pour le service Population, tapez 1. Pour la ville et les rues, tapez 3. "
        "Pour parler avec l'accueil, tapez 0."
    ]


def test_the_operator_key_works_in_a_second_level() -> None:
    call = Call(_grouped_kb(), MONDAY_MORNING)
    call.press("3")
    assert keys(call.press("0")) == ["transfer:operator"]


def test_an_unknown_key_in_a_second_level_repeats_it_while_attempts_remain() -> None:
    call = Call(_grouped_kb(), MONDAY_MORNING, config=DialogConfig(max_menu_failures=2))
    call.press("3")
    assert keys(call.press("9")) == ["rephrase", "menu:town"]
    assert keys(call.press("9")) == ["transfer:operator"]


def test_a_group_key_at_the_greeting_opens_the_group_at_once() -> None:
    call = Call(_grouped_kb(), MONDAY_MORNING)
    assert keys(call.press("3")) == ["menu:town"]


def test_keypad_callers_answer_yes_no_questions_with_1_and_2() -> None:
    call = Call(city_kb(), MONDAY_EVENING)
    actions = call.press("1")  # population is closed in the evening
    assert keys(actions)[-2:] == ["offer_faq:id_card", "keypad_yes_no"]
    assert texts(actions)[-1] == "Tapez 1 pour oui, 2 pour non."
    declined = call.press("2")
    assert turn_of(declined).intent == "no"
    assert keys(declined) == ["offer_callback:population", "keypad_yes_no"]
    accepted = call.press("1")
    assert (turn_of(accepted).intent, turn_of(accepted).action) == ("yes", "callback")
    call.played()
    call.hang_up()
    assert call.dialog.ended


def test_speaking_callers_are_not_told_about_keys_in_offers() -> None:
    call = Call(city_kb(), MONDAY_EVENING)
    assert "keypad_yes_no" not in keys(call.say(REQUEST, decision("population")))


def test_key_1_or_2_chooses_between_the_two_options_of_a_clarifying_question() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("un document", decision("faq:id_card", ambiguous=True, others=["faq:passport"]))
    assert call.dialog.state is DialogState.CLARIFYING
    assert keys(call.press("2"))[0] == "faq:passport"


def test_a_whole_call_by_keys_alone_reaches_the_department() -> None:
    call = Call(_grouped_kb(), MONDAY_MORNING)
    call.played()
    call.press("3")
    call.played()
    call.press("1")  # urbanism: closed on Mondays → hours, then offers by keys
    call.press("1")  # yes: put through to the operator instead
    assert transfer_of(call.played()).target == "operator"
    record = record_of(call.dial_result(TransferStatus.ANSWER))
    assert record.outcome is CallOutcome.OPERATOR


def test_a_department_with_no_key_and_no_digit_left_is_refused() -> None:
    kb = city_kb()
    extra = tuple(
        dataclasses.replace(kb.departments[2], id=f"d{i}", extension=f"30{i}", dtmf=None)
        for i in range(12)
    )
    with pytest.raises(KeypadError, match="at most 9 fit under 'other services'"):
        build_keypad(dataclasses.replace(kb, departments=(*kb.departments, *extra)))


def test_more_departments_than_keys_go_under_other_services() -> None:
    kb = city_kb()
    extra = tuple(
        dataclasses.replace(kb.departments[2], id=f"d{i}", extension=f"30{i}", dtmf=None)
        for i in range(7)
    )
    keypad = build_keypad(dataclasses.replace(kb, departments=(*kb.departments, *extra)))
    assert [(o.digit, o.target or o.group) for o in keypad.top] == [
        ("1", "population"),
        ("2", "urbanism"),
        ("9", "other"),
        ("0", "operator"),
    ]
    assert keypad.path_to("waste") == "91"
    assert keypad.path_to("d6") == "98"


def test_with_every_digit_taken_the_last_one_becomes_other_services() -> None:
    kb = city_kb()
    numbered = tuple(
        dataclasses.replace(kb.departments[2], id=f"d{i}", extension=f"30{i}", dtmf=str(i))
        for i in range(3, 10)
    )
    extra = dataclasses.replace(kb.departments[2], id="late", extension="3999", dtmf=None)
    departments = (*kb.departments[:2], *numbered, dataclasses.replace(kb.departments[2]), extra)
    keypad = build_keypad(dataclasses.replace(kb, departments=departments))
    # d9 gives its digit to "other services" and is listed there, before those without one.
    assert keypad.option("9") == keypad.top[-2]
    assert keypad.top[-2].group == "other"
    assert [o.target for o in keypad.groups["other"]] == ["d9", "waste", "late", "operator"]
    assert all(keypad.path_to(d.id) for d in departments)
