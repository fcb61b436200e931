"""The end-of-utterance state machine, driven by seconds and booleans only."""

from __future__ import annotations

import pytest

from voicebot.speech.endpointing import (
    Endpointer,
    EndpointerConfig,
    EndpointEvent,
    EndpointEventType,
    EndpointState,
)

CONFIG = EndpointerConfig(
    min_speech=0.06, trailing_silence=0.3, no_input_timeout=5.0, max_utterance=10.0
)
FRAME = 0.02


def feed(endpointer: Endpointer, start: float, end: float, is_speech: bool) -> list[EndpointEvent]:
    """Observe one chunk every 20 ms over [start, end)."""
    events: list[EndpointEvent] = []
    steps = round((end - start) / FRAME)
    for i in range(steps):
        events += endpointer.observe(round(start + i * FRAME, 6), is_speech)
    return events


def types(events: list[EndpointEvent]) -> list[EndpointEventType]:
    return [e.type for e in events]


def test_speech_then_trailing_silence_gives_start_then_end() -> None:
    ep = Endpointer(CONFIG, start_time=0.0)
    events = feed(ep, 0.0, 0.5, False)
    events += feed(ep, 0.5, 1.5, True)
    events += feed(ep, 1.5, 2.0, False)
    assert types(events) == [EndpointEventType.SPEECH_START, EndpointEventType.SPEECH_END]
    start, end = events
    assert start.speech_start == pytest.approx(0.5)
    assert start.timestamp == pytest.approx(0.56)
    assert end.speech_end == pytest.approx(1.48)
    assert end.timestamp == pytest.approx(1.78)
    assert ep.state is EndpointState.DONE


def test_speech_end_waits_for_the_full_trailing_silence() -> None:
    ep = Endpointer(CONFIG, start_time=0.0)
    feed(ep, 0.0, 1.0, True)
    assert feed(ep, 1.0, 1.28, False) == []
    assert types(ep.observe(1.3, False)) == [EndpointEventType.SPEECH_END]


def test_short_pauses_inside_speech_do_not_end_the_utterance() -> None:
    ep = Endpointer(CONFIG, start_time=0.0)
    events = feed(ep, 0.0, 1.0, True)
    events += feed(ep, 1.0, 1.2, False)  # 200 ms pause < 300 ms
    events += feed(ep, 1.2, 2.0, True)
    assert types(events) == [EndpointEventType.SPEECH_START]
    assert ep.state is EndpointState.IN_SPEECH


def test_a_blip_shorter_than_min_speech_is_not_speech() -> None:
    ep = Endpointer(CONFIG, start_time=0.0)
    events = feed(ep, 0.0, 0.04, True)  # two chunks: 0.00 and 0.02 s
    events += feed(ep, 0.04, 1.0, False)
    assert events == []
    assert ep.state is EndpointState.WAITING


def test_speech_start_is_confirmed_exactly_at_min_speech() -> None:
    ep = Endpointer(CONFIG, start_time=0.0)
    assert ep.observe(0.0, True) == []
    assert ep.observe(0.02, True) == []
    assert ep.observe(0.04, True) == []
    assert types(ep.observe(0.06, True)) == [EndpointEventType.SPEECH_START]


def test_no_frames_at_all_for_2_seconds_ends_the_utterance_on_clock_ticks() -> None:
    ep = Endpointer(CONFIG, start_time=0.0)
    feed(ep, 0.0, 1.0, True)
    events: list[EndpointEvent] = []
    # Asterisk sends nothing: only the session clock ticks, every 100 ms.
    for i in range(1, 21):
        events += ep.tick(round(1.0 + i * 0.1, 6))
    assert types(events) == [EndpointEventType.SPEECH_END]
    assert events[0].timestamp == pytest.approx(1.3)
    assert events[0].speech_end == pytest.approx(0.98)


def test_frames_resuming_after_a_gap_first_close_the_previous_utterance() -> None:
    ep = Endpointer(CONFIG, start_time=0.0)
    feed(ep, 0.0, 1.0, True)
    # No tick during the gap; the next frame (speech) arrives 2 s later.
    events = ep.observe(3.0, True)
    assert types(events) == [EndpointEventType.SPEECH_END]
    assert events[0].speech_end == pytest.approx(0.98)


def test_no_input_timeout_fires_once_on_silence_frames() -> None:
    ep = Endpointer(CONFIG, start_time=10.0)
    events = feed(ep, 10.0, 16.0, False)
    assert types(events) == [EndpointEventType.NO_INPUT]
    assert events[0].timestamp == pytest.approx(15.0)
    assert ep.state is EndpointState.DONE


def test_no_input_timeout_fires_on_ticks_alone() -> None:
    ep = Endpointer(CONFIG, start_time=0.0)
    assert ep.tick(4.99) == []
    assert types(ep.tick(5.0)) == [EndpointEventType.NO_INPUT]
    assert ep.tick(9.0) == []


def test_speech_before_the_timeout_cancels_no_input() -> None:
    ep = Endpointer(CONFIG, start_time=0.0)
    events = feed(ep, 0.0, 4.0, False)
    events += feed(ep, 4.0, 7.0, True)
    assert types(events) == [EndpointEventType.SPEECH_START]


def test_an_unconfirmed_burst_at_the_deadline_postpones_no_input_until_it_resolves() -> None:
    ep = Endpointer(CONFIG, start_time=0.0)
    feed(ep, 0.0, 4.98, False)
    assert ep.observe(4.98, True) == []
    assert ep.observe(5.0, True) == []  # deadline, but a burst is being confirmed
    assert types(ep.observe(5.04, True)) == [EndpointEventType.SPEECH_START]


def test_an_unconfirmed_burst_followed_by_no_frames_still_times_out() -> None:
    ep = Endpointer(CONFIG, start_time=0.0)
    ep.observe(4.9, True)
    assert types(ep.tick(5.5)) == [EndpointEventType.NO_INPUT]


def test_speech_bursts_separated_by_a_frame_gap_do_not_add_up() -> None:
    ep = Endpointer(CONFIG, start_time=0.0)
    assert ep.observe(1.0, True) == []
    assert ep.observe(1.02, True) == []
    # Frames stop for 1 s; the next speech starts a new candidate run.
    assert ep.observe(2.02, True) == []
    assert ep.observe(2.06, True) == []
    assert types(ep.observe(2.08, True)) == [EndpointEventType.SPEECH_START]


def test_max_utterance_cuts_endless_speech() -> None:
    ep = Endpointer(CONFIG, start_time=0.0)
    events = feed(ep, 1.0, 12.0, True)
    assert types(events) == [EndpointEventType.SPEECH_START, EndpointEventType.MAX_UTTERANCE]
    assert events[1].timestamp == pytest.approx(11.0)
    assert events[1].speech_start == pytest.approx(1.0)


def test_max_utterance_also_fires_on_ticks() -> None:
    ep = Endpointer(EndpointerConfig(trailing_silence=0.3, max_utterance=2.0), start_time=0.0)
    feed(ep, 0.0, 1.9, True)
    assert ep.tick(1.95) == []
    # Silence would end it at 2.18, but the length limit is reached first.
    assert types(ep.tick(2.0)) == [EndpointEventType.MAX_UTTERANCE]


def test_done_ignores_everything_until_reset() -> None:
    ep = Endpointer(CONFIG, start_time=0.0)
    feed(ep, 0.0, 1.0, True)
    feed(ep, 1.0, 1.4, False)
    assert ep.state is EndpointState.DONE
    assert feed(ep, 1.4, 3.0, True) == []
    assert ep.tick(30.0) == []


def test_reset_rearms_the_no_input_clock_from_the_reset_time() -> None:
    ep = Endpointer(CONFIG, start_time=0.0)
    ep.tick(5.0)
    ep.reset(20.0)
    assert ep.state is EndpointState.WAITING
    assert ep.speech_start is None
    assert ep.tick(24.9) == []
    assert types(ep.tick(25.0)) == [EndpointEventType.NO_INPUT]


def test_time_going_backwards_is_rejected_with_both_times() -> None:
    ep = Endpointer(CONFIG, start_time=0.0)
    ep.observe(2.0, False)
    with pytest.raises(ValueError, match=r"1\.000 s after 2\.000 s"):
        ep.observe(1.0, False)


def test_min_speech_zero_starts_on_the_first_speech_chunk() -> None:
    ep = Endpointer(
        EndpointerConfig(min_speech=0.0, trailing_silence=0.1, max_utterance=5.0), start_time=0.0
    )
    assert types(ep.observe(0.0, True)) == [EndpointEventType.SPEECH_START]
    assert ep.observe(0.02, False) == []
    assert types(ep.observe(0.1, False)) == [EndpointEventType.SPEECH_END]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trailing_silence": 0.0}, "trailing_silence"),
        ({"no_input_timeout": -1}, "no_input_timeout"),
        ({"min_speech": 1.0, "max_utterance": 0.5}, "max_utterance"),
    ],
)
def test_invalid_config_names_the_field(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EndpointerConfig(**kwargs)


def test_event_types_are_wire_strings() -> None:
    assert str(EndpointEventType.SPEECH_END) == "speech-end"
    assert EndpointEventType.NO_INPUT.value == "no-input"


def test_silence_counts_from_the_last_voiced_frame_while_the_vad_still_says_speech() -> None:
    ep = Endpointer(CONFIG, start_time=0.0)
    events = feed(ep, 0.0, 1.0, True)  # voice up to 1.0 s
    # The VAD's probability lags: it says speech for 100 ms more, the frames are silent.
    for i in range(5):
        events += ep.observe(round(1.0 + i * FRAME, 6), True, voiced_at=0.98)
    events += feed(ep, 1.1, 1.5, False)
    end = events[-1]
    assert end.type is EndpointEventType.SPEECH_END
    assert end.speech_end == pytest.approx(0.98)
    assert end.timestamp == pytest.approx(1.28)  # 0.98 + 0.3, not 1.08 + 0.3


def test_the_vad_saying_speech_ends_the_turn_when_no_frame_is_voiced_for_the_silence() -> None:
    ep = Endpointer(CONFIG, start_time=0.0)
    events = feed(ep, 0.0, 0.5, True)
    for i in range(30):  # the VAD never lets go, the voice stopped at 0.48 s
        events += ep.observe(round(0.5 + i * FRAME, 6), True, voiced_at=0.48)
    assert types(events) == [EndpointEventType.SPEECH_START, EndpointEventType.SPEECH_END]
    assert events[-1].timestamp == pytest.approx(0.78)


def test_a_voiced_time_later_than_the_chunk_is_taken_as_the_chunk_time() -> None:
    ep = Endpointer(CONFIG, start_time=0.0)
    feed(ep, 0.0, 0.5, True)
    ep.observe(0.5, True, voiced_at=9.0)
    events = feed(ep, 0.52, 1.0, False)
    assert events[-1].speech_end == pytest.approx(0.5)


def test_counting_from_the_vad_alone_can_be_chosen() -> None:
    config = EndpointerConfig(trailing_silence=0.3, from_voiced_frame=False)
    ep = Endpointer(config, start_time=0.0)
    feed(ep, 0.0, 1.0, True)
    events = ep.observe(1.0, True, voiced_at=0.5)
    events += feed(ep, 1.02, 1.5, False)
    assert events[-1].speech_end == pytest.approx(1.0)
