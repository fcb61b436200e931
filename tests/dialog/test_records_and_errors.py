"""Turn records carry everything the statistics need; malformed input is refused by name."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from itertools import count

import pytest

from tests.dialog.driver import (
    MONDAY_EVENING,
    MONDAY_MORNING,
    Call,
    city_kb,
    decision,
    minimal_kb,
    record_of,
    transfer_of,
    turn_of,
)
from voicebot.calllog.rows import validate_record
from voicebot.dialog.actions import RecordTurn
from voicebot.dialog.config import DialogConfig
from voicebot.dialog.events import (
    CallStarted,
    DialogError,
    DtmfDigit,
    Event,
    Hangup,
    TransferResult,
    Utterance,
)
from voicebot.dialog.machine import Dialog
from voicebot.records import CallRecord, TransferStatus


def test_an_utterance_turn_records_transcript_scores_action_reply_and_timings() -> None:
    ticks = count()
    clock = lambda: next(ticks) * 0.0025  # noqa: E731 - each call advances 2.5 ms
    call = Call(city_kb(), MONDAY_MORNING, clock=clock)
    actions = call.say(
        "comment renouveler ma carte",
        decision("faq:id_card", score=0.77, margin=0.12),
        confidence=0.88,
        timings={"endpointing": 300.0, "asr": 120.5, "routing": 14.0},
    )
    turn = turn_of(actions)
    assert turn == dataclasses.replace(
        turn,
        call_id="call-1",
        index=0,
        started_at=call.at,
        language="fr",
        transcript="comment renouveler ma carte",
        asr_confidence=0.88,
        intent="faq:id_card",
        score=0.77,
        margin=0.12,
        action="answer",
        reply_text=(
            "Présentez-vous au service Population avec votre ancienne carte et une photo. "
            "Puis-je vous aider pour autre chose ?"
        ),
        dtmf=None,
    )
    assert turn.timings_ms == {"endpointing": 300.0, "asr": 120.5, "routing": 14.0, "dialog": 2.5}
    assert isinstance(turn.intent, str) and type(turn.action) is str


def test_without_a_clock_no_dialog_timing_is_invented() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    turn = turn_of(call.say("carte", decision("faq:id_card"), timings={"asr": 80.0}))
    assert turn.timings_ms == {"asr": 80.0}


def test_end_call_carries_every_turn_transfer_and_callback_recorded_along_the_way() -> None:
    call = Call(city_kb(), MONDAY_EVENING)
    call.say("carte", decision("faq:id_card"))
    call.played()
    call.say("permis", decision("urbanism"))  # closed, and so is the desk: callback offer
    call.say("oui")
    call.played()
    record = record_of(call.hang_up())
    recorded = [a.turn for a in call.history if isinstance(a, RecordTurn)]
    assert record.turns == tuple(recorded)
    assert [t.index for t in record.turns] == list(range(len(record.turns)))
    assert [t.action for t in record.turns] == ["answer", "closed", "callback"]
    assert record.callbacks[0].department == "urbanism"
    assert (record.outcome, record.department, record.channel) == (
        "callback",
        "urbanism",
        "PJSIP/trunk-00000001",
    )
    validate_record(record)
    assert CallRecord.from_json(record.to_json()) == record


def test_a_busy_department_then_reception_is_recorded_as_two_transfers() -> None:
    call = Call(city_kb(), MONDAY_MORNING)
    call.say("carte", decision("population"))
    call.played()
    call.dial_result(TransferStatus.BUSY)
    record = record_of(call.dial_result(TransferStatus.ANSWER))
    assert [t.action for t in record.turns] == ["transfer", "operator"]
    assert [(t.target, t.dial_status, t.fallback) for t in record.transfers] == [
        ("population", TransferStatus.BUSY, "operator"),
        ("operator", TransferStatus.ANSWER, None),
    ]
    validate_record(record)
    assert CallRecord.from_json(record.to_json()) == record


def _started() -> Dialog:
    dialog = Dialog(city_kb())
    dialog.handle(CallStarted(MONDAY_MORNING, "call-9"))
    return dialog


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (Utterance(datetime(2026, 3, 2, 10, 0), "carte"), r"Utterance\.at: naive datetime"),
        (Utterance(MONDAY_MORNING, "carte", confidence=1.5), r"Utterance\.confidence: 1\.5"),
        (DtmfDigit(MONDAY_MORNING, "12"), r"DtmfDigit\.digit: '12'"),
        (TransferResult(MONDAY_MORNING, TransferStatus.PENDING), "PENDING is not a dial result"),
        (CallStarted(MONDAY_MORNING, "again"), "CallStarted received twice"),
        (
            Utterance(MONDAY_MORNING, "x", decision=decision("faq:nope")),
            r"routing label 'faq:nope' is not a target of knowledge base city-test\.yaml",
        ),
        (
            Utterance(MONDAY_MORNING, "x", decision=decision("library")),
            r"routing label 'library'",
        ),
    ],
)
def test_malformed_events_are_refused_naming_the_field(event: Event, message: str) -> None:
    with pytest.raises(DialogError, match=message):
        _started().handle(event)


def test_events_before_call_started_are_refused() -> None:
    with pytest.raises(DialogError, match="Hangup received before CallStarted"):
        Dialog(minimal_kb()).handle(Hangup(MONDAY_MORNING))


def test_call_started_needs_a_call_id() -> None:
    with pytest.raises(DialogError, match=r"CallStarted\.call_id: empty"):
        Dialog(minimal_kb()).handle(CallStarted(MONDAY_MORNING, ""))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_failures": 0}, r"max_failures: must be at least 1"),
        ({"max_silence_prompts": -1}, r"max_silence_prompts: must not be negative"),
        ({"max_call_duration": timedelta(0)}, r"max_call_duration: must be positive"),
        ({"min_asr_confidence": 1.2}, r"min_asr_confidence: must be within 0\.\.1"),
        ({"operator_digit": "00"}, r"operator_digit: must be one key"),
        ({"summary_max_chars": 5}, r"summary_max_chars: must be at least 20"),
    ],
)
def test_bad_config_values_are_refused_naming_the_field(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        DialogConfig(**changes)  # type: ignore[arg-type]


def test_config_without_keywords_for_an_offered_language_is_refused() -> None:
    config = DialogConfig(yes_words={"fr": ("oui",), "nl": ("ja",), "en": ("yes",)})
    with pytest.raises(ValueError, match=r"yes_words: no phrases for language 'de'"):
        Dialog(city_kb(), config)


def test_long_transcripts_are_shortened_in_the_transfer_summary() -> None:
    call = Call(city_kb(), MONDAY_MORNING, config=DialogConfig(summary_max_chars=40))
    call.say("bonjour " * 20 + "je voudrais renouveler ma carte", decision("population"))
    summary = transfer_of(call.played()).summary
    assert summary.transcript == "…bonjour je voudrais renouveler ma carte"
    assert len(summary.transcript) == 40
