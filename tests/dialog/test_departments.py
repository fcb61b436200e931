"""Department and operator requests: open → transfer, closed → hours and offers, failures."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from tests.dialog.driver import (
    CALLER,
    CHRISTMAS_EVE_LATE,
    CHRISTMAS_EVE_MORNING,
    HOLIDAY_MORNING,
    MONDAY_EVENING,
    MONDAY_LUNCH,
    MONDAY_MORNING,
    NEW_YEARS_EVE_MORNING,
    Call,
    city_kb,
    decision,
    keys,
    kinds,
    listen_of,
    minimal_kb,
    record_of,
    texts,
    transfer_of,
    turn_of,
)
from voicebot.calllog.rows import validate_record
from voicebot.dialog.actions import (
    Play,
    RecordCallback,
    Transfer,
    TransferPlanned,
    TransferSummary,
)
from voicebot.dialog.events import TransferImpossible
from voicebot.dialog.machine import DialogState
from voicebot.knowledge.model import KnowledgeBase, OpeningHours
from voicebot.records import (
    CallbackRequest,
    CallOutcome,
    TransferReason,
    TransferRecord,
    TransferStatus,
)

REQUEST = "je dois renouveler ma carte d'identité"


def _summary(reason: TransferReason) -> TransferSummary:
    return TransferSummary("population", "population", REQUEST, "fr", reason, (REQUEST,))


def _operator_closed(kb: KnowledgeBase) -> KnowledgeBase:
    return dataclasses.replace(kb, operator=dataclasses.replace(kb.operator, hours=OpeningHours()))


def test_open_department_is_announced_then_transferred_after_the_announcement() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    actions = call.say(REQUEST, decision("population"))
    # Operators hear of the transfer when it is decided, before the announcement.
    assert kinds(actions) == ["StopPlayback", "TransferPlanned", "Play", "RecordTurn"]
    planned = Transfer("2001", "population", _summary(TransferReason.ROUTED))
    assert actions[1] == TransferPlanned(planned)
    assert actions[2] == Play(
        "Je vous mets en relation avec le service Population. Restez en ligne, s'il vous plaît.",
        "fr",
        "transfer:population",
        False,
        3,
    )
    assert (turn_of(actions).intent, turn_of(actions).action) == ("population", "transfer")
    assert call.dialog.state is DialogState.ANNOUNCING
    assert call.played() == [planned]
    assert call.dialog.state is DialogState.TRANSFERRING
    ending = call.dial_result(TransferStatus.ANSWER)
    record = record_of(ending)
    assert kinds(ending) == ["EndCall"]
    assert (record.outcome, record.department) == (CallOutcome.TRANSFERRED, "population")
    assert record.transfers == (
        TransferRecord(
            "call-1",
            "population",
            "2001",
            record.transfers[0].requested_at,
            TransferStatus.ANSWER,
            reason=TransferReason.ROUTED,
        ),
    )
    validate_record(record)


def test_hangup_while_transferring_counts_as_transferred_with_a_pending_status() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say(REQUEST, decision("population"))
    call.played()
    record = record_of(call.hang_up())
    assert record.outcome is CallOutcome.TRANSFERRED
    assert record.transfers[0].dial_status is TransferStatus.PENDING


def test_hangup_during_the_announcement_never_transfers() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say(REQUEST, decision("population"))
    record = record_of(call.hang_up())
    assert (record.outcome, record.transfers, record.department) == (
        CallOutcome.ABANDONED,
        (),
        "population",
    )
    assert call.played() == []


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (MONDAY_MORNING, ["transfer:population"]),
        (MONDAY_EVENING, ["closed:population", "offer_faq:id_card"]),
        (HOLIDAY_MORNING, ["holiday_today", "closed:population", "offer_faq:id_card"]),
        (
            CHRISTMAS_EVE_LATE,
            ["exception_hours:0830-1100", "closed:population", "offer_faq:id_card"],
        ),
        (CHRISTMAS_EVE_MORNING, ["transfer:population"]),
        (NEW_YEARS_EVE_MORNING, ["exception_closed", "closed:population", "offer_faq:id_card"]),
    ],
    ids=["open", "evening", "holiday", "exception-hours", "exception-open", "exception-day"],
)
def test_opening_hours_holidays_and_exceptions_decide_transfer_or_closed(
    moment: datetime, expected: list[str]
) -> None:
    call = Call(city_kb(), moment)
    assert keys(call.say(REQUEST, decision("population"))) == expected


def test_a_department_open_on_mondays_only_is_closed_on_tuesday_in_minimal_kb() -> None:
    tuesday = datetime(2026, 3, 3, 10, 0, tzinfo=MONDAY_MORNING.tzinfo)
    call = Call(minimal_kb(), tuesday)
    actions = call.say(REQUEST, decision("population"))
    assert texts(actions)[0] == (
        "Je ne peux pas vous mettre en relation avec Service Population pour le moment : le "
        "service est fermé. Il est ouvert le lundi de huit heures trente à douze heures et de "
        "treize heures trente à seize heures."
    )


def test_closed_department_offers_its_faq_then_a_callback_which_is_recorded() -> None:
    call = Call(city_kb(), MONDAY_EVENING)
    actions = call.say(REQUEST, decision("population"))
    assert kinds(actions) == ["StopPlayback", "Play", "Play", "Listen", "RecordTurn"]
    assert (turn_of(actions).intent, turn_of(actions).action) == ("population", "closed")
    assert call.dialog.state is DialogState.OFFERING
    declined = call.say("non merci")
    assert keys(declined) == ["offer_callback:population"]
    assert texts(declined) == [
        "Souhaitez-vous être rappelé par le service Population pendant les heures d'ouverture ?"
    ]
    assert (turn_of(declined).intent, turn_of(declined).action) == ("no", "offer")
    accepted = call.say("oui s'il vous plaît")
    callback = CallbackRequest("call-1", call.at, "population", "fr", CALLER, REQUEST)
    assert accepted[1] == RecordCallback(callback)
    assert keys(accepted) == ["callback_recorded", "anything_else"]
    assert (turn_of(accepted).intent, turn_of(accepted).action) == ("yes", "callback")
    record = record_of(call.hang_up())
    assert (record.outcome, record.callbacks, record.department) == (
        CallOutcome.CALLBACK,
        (callback,),
        "population",
    )


def test_closed_department_offers_the_faq_the_router_scored_and_plays_it_on_yes() -> None:
    call = Call(city_kb(), MONDAY_EVENING)
    actions = call.say(REQUEST, decision("population", others=["faq:passport", "urbanism"]))
    assert keys(actions) == ["closed:population", "offer_faq:passport"]
    answered = call.say("oui")
    assert keys(answered) == ["faq:passport", "anything_else"]
    assert (turn_of(answered).intent, turn_of(answered).action) == ("yes", "answer")
    call.played()
    assert record_of(call.hang_up()).outcome is CallOutcome.ANSWERED


def test_closed_department_offers_the_open_operator_after_the_faq() -> None:
    call = Call(city_kb(), MONDAY_LUNCH)
    call.say(REQUEST, decision("population"))
    offered = call.say("non")
    assert keys(offered) == ["offer_operator"]
    assert texts(offered) == ["Voulez-vous que je vous passe l'accueil ?"]
    accepted = call.say("oui")
    assert keys(accepted) == ["transfer:operator"]
    assert (turn_of(accepted).intent, turn_of(accepted).action) == ("yes", "operator")
    # Why the operator gets it: the department asked for is closed.
    expected = Transfer("1000", "operator", _summary(TransferReason.CLOSED))
    assert accepted[1] == TransferPlanned(expected)
    transfer = transfer_of(call.played())
    assert transfer == expected
    record = record_of(call.dial_result(TransferStatus.ANSWER))
    assert (record.outcome, record.department) == (CallOutcome.OPERATOR, "population")


def test_a_callback_after_the_dtmf_menu_notes_the_key_pressed() -> None:
    call = Call(city_kb(), MONDAY_EVENING)
    call.press("9")  # unknown key: the menu
    call.press("2")  # urbanism, closed: no FAQ, desk closed → callback offer
    call.say("oui")
    request = record_of(call.hang_up()).callbacks[0]
    assert (request.department, request.note) == ("urbanism", "dtmf:2")


def test_without_a_caller_number_no_callback_is_offered() -> None:
    call = Call(city_kb(), MONDAY_EVENING, caller=None)
    call.say(REQUEST, decision("population"))
    actions = call.say("non")
    assert keys(actions) == ["anything_else"]
    assert listen_of(actions).grammar is None


def test_a_reply_that_is_neither_yes_nor_no_repeats_the_offer_once() -> None:
    call = Call(city_kb(), MONDAY_EVENING)
    call.say(REQUEST, decision("population"))
    assert keys(call.say("euh je sais pas", decision("none"))) == [
        "yes_no_repeat",
        "offer_faq:id_card",
    ]
    assert keys(call.say("bof", decision("none"))) == ["anything_else"]


def test_goodbye_during_an_offer_ends_the_call() -> None:
    call = Call(city_kb(), MONDAY_EVENING)
    call.say(REQUEST, decision("population"))
    assert keys(call.say("au revoir")) == ["goodbye"]
    assert call.dialog.state is DialogState.CLOSING


def test_a_new_clear_request_during_an_offer_is_handled() -> None:
    call = Call(city_kb(), MONDAY_EVENING)
    call.say(REQUEST, decision("population"))
    actions = call.say("où se garer", decision("faq:parking"))
    assert keys(actions) == ["faq:parking", "anything_else"]


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (TransferStatus.BUSY, TransferReason.BUSY),
        (TransferStatus.NOANSWER, TransferReason.NO_ANSWER),
        (TransferStatus.CHANUNAVAIL, TransferReason.UNREACHABLE),
        (TransferStatus.CONGESTION, TransferReason.UNREACHABLE),
    ],
)
def test_failed_department_transfer_goes_to_the_operator_at_once_without_a_word(
    status: TransferStatus, reason: TransferReason
) -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say(REQUEST, decision("population"))
    call.played()
    actions = call.dial_result(status)
    # The Redirect took the caller's audio away: nothing said now would be heard, so
    # nothing is said, and the operator is dialled at once (the dialplan's hold music).
    assert kinds(actions) == ["TransferPlanned", "Transfer", "RecordTurn"]
    expected = Transfer("1000", "operator", _summary(reason))
    assert actions[0] == TransferPlanned(expected)
    assert transfer_of(actions) == expected
    turn = turn_of(actions)
    assert (turn.intent, turn.action, turn.transcript, turn.reply_text) == (
        "transfer_failed",
        "operator",
        "",
        "",
    )
    assert call.dialog.state is DialogState.TRANSFERRING
    record = record_of(call.dial_result(TransferStatus.ANSWER))
    assert [(t.target, t.dial_status, t.fallback, t.reason) for t in record.transfers] == [
        ("population", status, "operator", TransferReason.ROUTED),
        ("operator", TransferStatus.ANSWER, None, reason),
    ]
    assert record.outcome is CallOutcome.OPERATOR
    validate_record(record)


def test_failed_transfer_with_the_operator_closed_still_records_what_the_pbx_does() -> None:
    # The dialplan sends the caller to the operator's extension whatever its hours: the
    # record says so rather than claiming a callback offer nobody could hear.
    call = Call(_operator_closed(city_kb()), MONDAY_MORNING)
    call.say(REQUEST, decision("population"))
    call.played()
    assert kinds(call.dial_result(TransferStatus.BUSY)) == [
        "TransferPlanned",
        "Transfer",
        "RecordTurn",
    ]
    record = record_of(call.dial_result(TransferStatus.NOANSWER))
    assert [(t.target, t.dial_status, t.fallback) for t in record.transfers] == [
        ("population", TransferStatus.BUSY, "operator"),
        ("operator", TransferStatus.NOANSWER, None),
    ]
    assert (record.outcome, record.callbacks) == (CallOutcome.FAILED, ())
    assert [t.action for t in record.turns] == ["transfer", "operator"]
    validate_record(record)


def test_failed_operator_transfer_ends_the_call_as_failed_with_nothing_said() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("je voudrais parler à quelqu'un", decision("operator"))
    call.played()
    actions = call.dial_result(TransferStatus.NOANSWER)
    assert kinds(actions) == ["EndCall"]  # nobody is left; the dialplan hangs up
    record = record_of(actions)
    assert [(t.target, t.dial_status, t.fallback) for t in record.transfers] == [
        ("operator", TransferStatus.NOANSWER, None)
    ]
    assert record.outcome is CallOutcome.FAILED
    validate_record(record)


def test_a_failed_transfer_after_an_answer_is_not_counted_as_answered() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("carte", decision("faq:id_card"))
    call.played()
    call.say("je voudrais parler à quelqu'un", decision("operator"))
    call.played()
    record = record_of(call.dial_result(TransferStatus.BUSY))
    assert record.outcome is CallOutcome.FAILED


def test_caller_hanging_up_while_the_transfer_rings_is_abandoned() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say(REQUEST, decision("population"))
    call.played()
    record = record_of(call.dial_result(TransferStatus.CANCEL))
    assert record.outcome is CallOutcome.ABANDONED
    assert record.transfers[0].dial_status is TransferStatus.CANCEL


def test_asking_for_a_person_goes_to_the_operator_at_once() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    actions = call.say("je voudrais parler à quelqu'un", decision("operator"))
    assert keys(actions) == ["transfer:operator"]
    assert (turn_of(actions).intent, turn_of(actions).action) == ("operator", "operator")
    transfer = transfer_of(call.played())
    assert (transfer.extension, transfer.summary.reason) == (
        "1000",
        TransferReason.ASKED_FOR_PERSON,
    )


def test_asking_for_a_person_when_the_desk_is_closed_offers_a_callback() -> None:
    call = Call(city_kb(), MONDAY_EVENING)
    actions = call.say("je voudrais parler à quelqu'un", decision("operator"))
    assert keys(actions) == ["closed:operator", "offer_callback:operator"]
    assert texts(actions)[0] == (
        "Je ne peux pas vous mettre en relation avec l'accueil pour le moment : le service est "
        "fermé. Il est ouvert du lundi au vendredi de huit heures à dix-sept heures."
    )


@pytest.mark.parametrize(
    ("request_text", "target"),
    [(REQUEST, "population"), ("je voudrais parler à quelqu'un", "operator")],
)
def test_a_transfer_the_pbx_cannot_take_is_left_to_the_dialplan_for_the_operator(
    request_text: str, target: str
) -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say(request_text, decision(target))
    call.played()
    actions = call.send(TransferImpossible(at=call.later(1), reason="AMI not connected"))
    # No apology, no offer, no VB_DONE: the caller is put through by the dialplan at once.
    assert kinds(actions) == ["TransferPlanned", "ReturnToDialplan", "RecordTurn"]
    planned = actions[0]
    assert isinstance(planned, TransferPlanned)
    assert (planned.transfer.target, planned.transfer.extension) == ("operator", "1000")
    assert planned.transfer.summary.reason is TransferReason.UNREACHABLE
    assert planned.transfer.summary.utterances == (request_text,)
    assert (turn_of(actions).intent, turn_of(actions).action) == ("transfer_failed", "operator")
    assert call.dialog.state is DialogState.TRANSFERRING
    record = record_of(call.dial_result(TransferStatus.ANSWER))
    assert [(t.target, t.extension, t.dial_status, t.fallback) for t in record.transfers] == [
        (
            target,
            "1000" if target == "operator" else "2001",
            TransferStatus.CHANUNAVAIL,
            "operator",
        ),
        ("operator", "1000", TransferStatus.ANSWER, None),
    ]
    assert record.outcome is CallOutcome.OPERATOR
    validate_record(record)


def test_a_transfer_refused_while_the_caller_still_hears_the_assistant_is_apologised_for() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say(REQUEST, decision("population"))
    call.played()
    refused = TransferImpossible(at=call.later(1), reason="AMI not connected", audible=True)
    actions = call.send(refused)
    # Nothing was sent, AudioSocket is still open: the apology is heard, then the dialplan.
    assert keys(actions) == ["transfer_failed"]
    assert texts(actions) == [
        "Excusez-moi, ce transfert n'a pas pu se faire. Je vous mets en relation avec l'accueil."
    ]
    assert "ReturnToDialplan" not in kinds(actions)
    turn = turn_of(actions)
    assert (turn.intent, turn.action, turn.reply_text) == (
        "transfer_failed",
        "operator",
        texts(actions)[0],
    )
    assert kinds(call.played()) == ["ReturnToDialplan"]
    record = record_of(call.dial_result(TransferStatus.ANSWER))
    assert [(t.target, t.dial_status, t.fallback) for t in record.transfers] == [
        ("population", TransferStatus.CHANUNAVAIL, "operator"),
        ("operator", TransferStatus.ANSWER, None),
    ]
    assert record.outcome is CallOutcome.OPERATOR
    validate_record(record)


def test_a_caller_hanging_up_during_the_apology_is_not_counted_for_the_operator() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say(REQUEST, decision("population"))
    call.played()
    call.send(TransferImpossible(at=call.later(1), reason="AMI not connected", audible=True))
    record = record_of(call.hang_up())
    assert [(t.target, t.dial_status) for t in record.transfers] == [
        ("population", TransferStatus.CHANUNAVAIL)
    ]
    assert record.outcome is CallOutcome.ABANDONED


def test_a_dialplan_fallback_whose_result_never_comes_is_recorded_as_pending_for_the_operator() -> (
    None
):
    call = Call(city_kb(), MONDAY_MORNING)
    call.say(REQUEST, decision("population"))
    call.played()
    call.send(TransferImpossible(at=call.later(1), reason="no PBX channel known"))
    record = record_of(call.hang_up())
    assert record.transfers[-1].target == "operator"
    assert record.transfers[-1].dial_status is TransferStatus.PENDING
    assert record.outcome is CallOutcome.OPERATOR


def test_transfer_impossible_outside_a_transfer_changes_nothing() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    assert call.send(TransferImpossible(at=call.later(1), reason="late report")) == []
