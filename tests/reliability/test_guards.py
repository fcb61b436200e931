"""The small guards the reliability runs led to, checked directly: records made storable
whatever the PBX and recogniser send, calls found again from their AudioSocket after an
AMI outage, and filters that PostgreSQL could not even compare."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.calllog.factories import Turn, make_call
from voicebot.calllog.filters import CallFilter
from voicebot.calllog.rows import MAX_FREE_TEXT, storable, validate_record
from voicebot.telephony.ami_codec import AmiEvent, AmiHeaders
from voicebot.telephony.channels import audiosocket_call_id

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def test_storable_record_loses_only_the_characters_the_database_cannot_take() -> None:
    hostile = make_call(
        "c-1",
        caller="9" * 200,
        turns=[Turn("none", "bon\x00jour " + "x" * (2 * MAX_FREE_TEXT))],
        callbacks=[("population", "0470\x00123456")],
    )
    with pytest.raises(ValueError, match="caller_number longer than 64"):
        validate_record(hostile)
    fixed = storable(hostile)
    validate_record(fixed)
    assert fixed.caller_number == "9" * 64
    assert fixed.turns[0].transcript.startswith("bonjour x")
    assert len(fixed.turns[0].transcript) == MAX_FREE_TEXT
    assert fixed.callbacks[0].caller_number == "0470123456"
    assert (fixed.call_id, fixed.outcome, fixed.started_at) == (
        hostile.call_id,
        hostile.outcome,
        hostile.started_at,
    )


def test_storable_leaves_a_clean_record_as_it_is() -> None:
    clean = make_call("c-2", turns=[Turn("faq:x", "quelles sont vos heures")])
    assert storable(clean) == clean
    assert storable(replace(clean, caller_number=None)).caller_number is None


def show_channel(application: str, data: str) -> AmiEvent:
    return AmiEvent(
        "CoreShowChannel",
        AmiHeaders(
            (
                ("Channel", "PJSIP/citizen-1"),
                ("Application", application),
                ("ApplicationData", data),
            )
        ),
    )


@pytest.mark.parametrize(
    ("application", "data", "expected"),
    [
        ("AudioSocket", f"{UUID},10.0.0.5:9092", UUID),
        ("AudioSocket", f"{UUID.upper()},bot:9092", UUID),
        ("Dial", f"AudioSocket/bot:9092/{UUID}/c(slin)", UUID),
        ("Dial", "PJSIP/2001,20", None),
        ("AudioSocket", "not-a-uuid,bot:9092", None),
        ("Playback", UUID, None),
        ("", "", None),
    ],
)
def test_a_call_is_recognised_from_the_channel_running_its_audiosocket(
    application: str, data: str, expected: str | None
) -> None:
    assert audiosocket_call_id(show_channel(application, data)) == expected


@pytest.mark.parametrize("name", ["department", "intent", "language", "text"])
def test_filters_with_a_nul_character_are_refused_by_name(name: str) -> None:
    with pytest.raises(ValueError, match=f"filter {name}: contains a NUL character"):
        CallFilter(**{name: "po\x00p"})
