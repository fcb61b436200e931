"""Silence, the maximum call duration, hang-ups at any point, and barge-in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

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
    record_of,
    rejected,
    transfer_of,
    turn_of,
)
from voicebot.calllog.rows import is_contained
from voicebot.dialog.actions import EndCall, HangUp, Listen, Play, StopPlayback, TransferPlanned
from voicebot.dialog.config import DialogConfig
from voicebot.dialog.events import Hangup, PlaybackFinished, Tick
from voicebot.dialog.machine import DialogState
from voicebot.records import CallOutcome, TransferReason, TransferStatus


def test_a_silent_caller_hears_the_keypad_menu_then_is_put_through_to_reception() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.played()
    first = call.silence()
    # Maybe a caller who cannot speak: the keypad way first, rather than "are you there?".
    assert kinds(first) == ["Play", "Listen", "RecordTurn"]
    assert keys(first) == ["menu"]
    turn = turn_of(first)
    assert (turn.intent, turn.action, turn.transcript, turn.asr_confidence) == (
        "silence",
        "menu",
        "",
        None,
    )
    call.played()
    second = call.silence()
    assert keys(second) == ["no_speech", "transfer:operator"]
    assert (turn_of(second).intent, turn_of(second).action) == ("silence", "operator")
    transfer = transfer_of(call.played())
    assert (transfer.target, transfer.summary.reason) == ("operator", TransferReason.SILENT)
    record = record_of(call.dial_result(TransferStatus.ANSWER))
    assert record.outcome is CallOutcome.OPERATOR


def test_a_silent_caller_outside_opening_hours_is_prompted_then_the_call_ends_as_failed() -> None:
    call = Call(city_kb(), MONDAY_EVENING)
    call.played()
    assert keys(call.silence()) == ["menu"]
    call.played()
    second = call.silence()
    assert keys(second) == ["silence", "menu"]
    assert (turn_of(second).intent, turn_of(second).action) == ("silence", "silence_prompt")
    call.played()
    last = call.silence()
    assert kinds(last) == ["Play", "RecordTurn"]
    goodbye = last[0]
    assert isinstance(goodbye, Play) and goodbye.prompt_key == "silence_goodbye"
    assert not goodbye.interruptible
    assert (turn_of(last).intent, turn_of(last).action) == ("silence", "goodbye")
    ending = call.played()
    assert kinds(ending) == ["HangUp", "EndCall"]
    assert record_of(ending).outcome is CallOutcome.FAILED


def test_silence_after_an_answer_repeats_anything_else_and_ends_as_answered() -> None:
    call = Call(city_kb(), MONDAY_MORNING, config=DialogConfig(max_silence_prompts=1))
    call.say("carte d'identité", decision("faq:id_card"))
    call.played()
    assert keys(call.silence()) == ["silence", "anything_else"]
    call.played()
    call.silence()
    record = record_of(call.played())
    assert record.outcome is CallOutcome.ANSWERED
    assert is_contained(record)


def test_silence_during_an_offer_repeats_the_offer_with_its_grammar() -> None:
    call = Call(city_kb(), MONDAY_EVENING)
    call.say("carte d'identité", decision("population"))
    call.played()
    actions = call.silence()
    assert keys(actions) == ["silence", "offer_faq:id_card"]
    assert listen_of(actions).grammar is not None


def test_speaking_resets_the_silence_count() -> None:
    call = Call(city_kb(), MONDAY_EVENING)
    call.silence()
    call.silence()
    call.say("carte d'identité", decision("faq:id_card"))
    call.played()
    assert keys(call.silence()) == ["silence", "anything_else"]


def test_without_silence_prompts_the_first_timeout_says_goodbye() -> None:
    call = Call(city_kb(), MONDAY_MORNING, config=DialogConfig(max_silence_prompts=0))
    assert keys(call.silence()) == ["silence_goodbye"]
    assert call.dialog.state is DialogState.CLOSING


def test_maximum_duration_hands_over_to_the_open_operator() -> None:
    config = DialogConfig(max_call_duration=timedelta(minutes=3))
    call = Call(city_kb(), MONDAY_MORNING, config=config)
    call.played()
    assert call.tick(MONDAY_MORNING + timedelta(minutes=2, seconds=59)) == []
    actions = call.tick(MONDAY_MORNING + timedelta(minutes=3))
    assert kinds(actions) == ["TransferPlanned", "Play", "Play", "RecordTurn"]
    planned = actions[0]
    assert isinstance(planned, TransferPlanned)
    assert planned.transfer.summary.reason is TransferReason.MAX_DURATION
    assert [(p.prompt_key, p.interruptible) for p in actions if isinstance(p, Play)] == [
        ("max_duration", False),
        ("transfer:operator", False),
    ]
    assert (turn_of(actions).intent, turn_of(actions).action) == ("max_duration", "operator")
    assert transfer_of(call.played()).target == "operator"


def test_maximum_duration_with_the_operator_closed_says_goodbye() -> None:
    config = DialogConfig(max_call_duration=timedelta(minutes=3))
    call = Call(city_kb(), MONDAY_EVENING, config=config)
    call.played()
    actions = call.tick(MONDAY_EVENING + timedelta(minutes=4))
    assert keys(actions) == ["max_duration", "goodbye"]
    record = record_of(call.played())
    assert record.outcome is CallOutcome.FAILED


def test_maximum_duration_waits_for_the_current_play_to_finish() -> None:
    config = DialogConfig(max_call_duration=timedelta(minutes=3))
    call = Call(city_kb(), MONDAY_MORNING, config=config)
    call.say("carte d'identité", decision("faq:id_card"))
    assert call.tick(MONDAY_MORNING + timedelta(minutes=5)) == []
    call.played()
    assert keys(call.tick(MONDAY_MORNING + timedelta(minutes=5, seconds=1))) == [
        "max_duration",
        "transfer:operator",
    ]


def test_an_utterance_past_the_maximum_duration_is_handed_over_instead_of_routed() -> None:
    config = DialogConfig(max_call_duration=timedelta(seconds=3))
    call = Call(city_kb(), MONDAY_MORNING, config=config)
    actions = call.say("carte d'identité", decision("faq:id_card"))
    assert keys(actions) == ["max_duration", "transfer:operator"]
    turn = turn_of(actions)
    assert (turn.intent, turn.transcript) == ("max_duration", "carte d'identité")


def _at_greeting(call: Call) -> None:
    call.played()


def _after_rephrase(call: Call) -> None:
    call.say("euh", rejected())


def _while_clarifying(call: Call) -> None:
    call.say("document", decision("faq:id_card", ambiguous=True, others=["faq:passport"]))


def _in_an_offer(call: Call) -> None:
    call.say("permis de bâtir", decision("urbanism"))  # closed on Mondays
    assert call.dialog.state is DialogState.OFFERING


def _in_the_menu(call: Call) -> None:
    call.say("euh", rejected())
    call.say("euh", rejected())


@pytest.mark.parametrize(
    "situation", [_at_greeting, _after_rephrase, _while_clarifying, _in_an_offer, _in_the_menu]
)
def test_hangup_anywhere_ends_the_call_once_as_abandoned(situation: Callable[[Call], None]) -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    situation(call)
    ending = call.hang_up()
    assert kinds(ending) == ["EndCall"]
    record = record_of(ending)
    assert record.outcome is CallOutcome.ABANDONED
    assert record.turns == call.dialog.turns
    assert call.dialog.ended
    assert call.hang_up() == []
    assert call.silence() == []
    assert sum(isinstance(a, EndCall) for a in call.history) == 1


def test_hangup_during_an_answer_is_recorded_as_interrupted_and_abandoned() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("carte d'identité", decision("faq:id_card"))
    ending = call.hang_up()
    assert kinds(ending) == ["RecordTurn", "EndCall"]
    turn = turn_of(ending)
    assert (turn.intent, turn.action, turn.transcript, turn.reply_text, turn.index) == (
        "hangup",
        "answer_interrupted",
        "",
        "",
        1,
    )
    record = record_of(ending)
    assert record.outcome is CallOutcome.ABANDONED
    assert [t.action for t in record.turns] == ["answer", "answer_interrupted"]
    assert not is_contained(record)


def test_hangup_after_the_answer_was_heard_is_answered() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    actions = call.say("carte d'identité", decision("faq:id_card"))
    answer = next(p for p in actions if isinstance(p, Play))
    call.send(PlaybackFinished(call.later(), answer.play_id))  # "anything else?" still playing
    ending = call.hang_up()
    assert kinds(ending) == ["EndCall"]
    record = record_of(ending)
    assert record.outcome is CallOutcome.ANSWERED
    assert is_contained(record)


def test_hangup_during_the_goodbye_keeps_the_reason_of_the_goodbye() -> None:
    call = Call(city_kb(), MONDAY_MORNING, config=DialogConfig(max_silence_prompts=0))
    call.silence()
    assert record_of(call.hang_up()).outcome is CallOutcome.FAILED


def test_barge_in_stops_an_interruptible_play_and_listens_again() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    assert call.barge_in() == [StopPlayback(), Listen(None, "fr")]
    assert call.barge_in() == []  # nothing playing any more


def test_barge_in_during_an_offer_keeps_the_yes_no_grammar() -> None:
    call = Call(city_kb(), MONDAY_EVENING)
    offer = call.say("carte", decision("population"))
    assert call.barge_in() == [StopPlayback(), listen_of(offer)]


def test_barge_in_cannot_interrupt_a_transfer_announcement_or_goodbye() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("carte", decision("population"))
    assert call.barge_in() == []
    other = Call(city_kb(), MONDAY_MORNING)
    other.say("au revoir", rejected())
    assert other.barge_in() == []


def test_a_stale_playback_report_does_not_trigger_the_transfer_early() -> None:
    call = Call(city_kb(), MONDAY_MORNING)  # greeting and language offer: plays 1-2
    actions = call.say("carte", decision("population"))  # stops them; announcement is play 3
    assert actions[0] == StopPlayback()
    assert call.send(PlaybackFinished(call.later(), 2)) == []
    assert kinds(call.send(PlaybackFinished(call.later(), 3))) == ["Transfer"]


def test_goodbye_hangs_up_only_after_it_was_played() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("au revoir", rejected())
    assert call.send(Tick(call.later())) == []
    ending = call.played()
    assert ending[0] == HangUp()
    assert call.send(Hangup(call.later())) == []
