"""The last voiced frame, from the frames' energy alone."""

from __future__ import annotations

import numpy as np

from voicebot.speech.audio import int16_to_pcm
from voicebot.speech.voicing import VoicedFrames


def frame(dbfs: float) -> bytes:
    """A 20 ms sine frame at ``dbfs`` RMS."""
    t = np.arange(160) / 8000
    amplitude = 32767 * 10 ** (dbfs / 20) * np.sqrt(2)
    return int16_to_pcm(amplitude * np.sin(2 * np.pi * 400 * t))


def test_frames_near_the_loudest_are_voice_and_quiet_ones_are_not() -> None:
    voiced = VoicedFrames(floor_dbfs=-55.0, below_peak_db=35.0)
    assert voiced.last_voiced is None
    assert voiced.observe(0.02, frame(-20.0))
    assert voiced.observe(0.04, frame(-45.0))  # a consonant 25 dB below the vowel
    assert not voiced.observe(0.06, frame(-58.0))  # the line's hiss
    assert voiced.last_voiced == 0.04


def test_a_frame_far_below_the_utterance_peak_is_not_voice_even_above_the_floor() -> None:
    voiced = VoicedFrames(floor_dbfs=-55.0, below_peak_db=35.0)
    voiced.observe(0.02, frame(-10.0))
    assert not voiced.observe(0.04, frame(-50.0))  # 40 dB down: the pause's background
    assert voiced.last_voiced == 0.02


def test_reset_forgets_the_peak_and_the_last_voiced_frame() -> None:
    voiced = VoicedFrames(floor_dbfs=-55.0, below_peak_db=35.0)
    voiced.observe(0.02, frame(-10.0))
    voiced.reset()
    assert voiced.last_voiced is None
    assert voiced.observe(1.0, frame(-50.0))  # a quiet caller's next turn
