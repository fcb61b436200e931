"""When the caller's voice was last heard, from the energy of each 20 ms frame (pure).

The VAD decides whether a stretch of audio is speech; its decision lags the voice by a
chunk or two at the end of an utterance (Silero's probability decays over ~80 ms, up to
~140 ms). The frame energy does not lag: a frame whose level is close enough to the
utterance's loudest frames, and above the line's floor, is voice. The endpointer counts
its trailing silence from the last such frame (see ``Endpointer.observe``).
"""

from __future__ import annotations

import math

from voicebot.speech.audio import rms_dbfs

VOICE_FLOOR_DBFS = -55.0
"""Quieter frames are never voice (line noise, comfort noise)."""
BELOW_PEAK_DB = 35.0
"""Frames this far below the utterance's loudest one are the silence between words, or
the hiss of the line, not voice (consonants sit 10–20 dB below the vowels)."""


class VoicedFrames:
    """Tracks the last voiced frame of the current utterance."""

    def __init__(
        self, floor_dbfs: float = VOICE_FLOOR_DBFS, below_peak_db: float = BELOW_PEAK_DB
    ) -> None:
        self.floor_dbfs = floor_dbfs
        self.below_peak_db = below_peak_db
        self._peak = -math.inf
        self._last_voiced: float | None = None

    @property
    def last_voiced(self) -> float | None:
        """Time of the last voiced frame since the last ``reset`` (None: none yet)."""
        return self._last_voiced

    def observe(self, timestamp: float, pcm: bytes) -> bool:
        """Take the frame that arrived at ``timestamp``; True when it is voice."""
        level = rms_dbfs(pcm)
        if level < self.floor_dbfs:
            return False
        self._peak = max(self._peak, level)
        if level < self._peak - self.below_peak_db:
            return False
        self._last_voiced = timestamp
        return True

    def reset(self) -> None:
        """A new utterance: forget the loudness and the last voiced frame."""
        self._peak = -math.inf
        self._last_voiced = None
