"""Asterisk ends AudioSocket by itself (issue 12 item 1): the caller is still on the line
and the dialplan puts them through to the operator. The record follows that dial instead
of calling the caller's call ``abandoned``."""

from __future__ import annotations

import pytest

from tests.dialog.driver import MONDAY_MORNING, Call, city_kb, decision, kinds, record_of
from voicebot.calllog.rows import validate_record
from voicebot.dialog.events import AudioTakenByDialplan
from voicebot.dialog.machine import DialogState
from voicebot.records import CallOutcome, TransferReason, TransferStatus


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (TransferStatus.ANSWER, CallOutcome.OPERATOR),
        (TransferStatus.NOANSWER, CallOutcome.FAILED),
        (TransferStatus.CANCEL, CallOutcome.ABANDONED),
    ],
)
def test_the_dialplans_operator_dial_is_the_calls_outcome(
    status: TransferStatus, outcome: CallOutcome
) -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.played()
    # Nothing to say (the caller is gone from the assistant); the operators hear of it.
    assert kinds(call.send(AudioTakenByDialplan(at=call.later(2.0)))) == ["TransferPlanned"]
    assert call.dialog.state is DialogState.TRANSFERRING
    record = record_of(call.dial_result(status))
    assert [(t.target, t.extension, t.dial_status, t.reason) for t in record.transfers] == [
        ("operator", "1000", status, TransferReason.UNREACHABLE)
    ]
    assert record.outcome is outcome
    validate_record(record)


def test_a_result_that_never_comes_still_says_the_operator_took_the_call() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("combien coûte un passeport", decision("faq:passport"))
    call.send(AudioTakenByDialplan(at=call.later(1.0)))  # in the middle of the answer
    record = record_of(call.hang_up())
    assert record.transfers[-1].dial_status is TransferStatus.PENDING
    assert record.outcome is CallOutcome.OPERATOR
    assert [t.action for t in record.turns] == ["answer"]  # no "interrupted" turn: not a hang-up


def test_an_announced_transfer_is_not_sent_once_the_dialplan_has_the_caller() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("je dois renouveler ma carte d'identité", decision("population"))
    call.send(AudioTakenByDialplan(at=call.later(1.0)))
    assert kinds(call.played()) == []  # the announcement's end: no Transfer any more
    record = record_of(call.dial_result(TransferStatus.ANSWER))
    assert [t.target for t in record.transfers] == ["operator"]
    assert record.outcome is CallOutcome.OPERATOR


def test_during_a_transfer_the_transfers_own_result_counts() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("je dois renouveler ma carte d'identité", decision("population"))
    call.played()
    assert call.send(AudioTakenByDialplan(at=call.later(1.0))) == []
    record = record_of(call.dial_result(TransferStatus.ANSWER))
    assert [t.target for t in record.transfers] == ["population"]
    assert record.outcome is CallOutcome.TRANSFERRED
