"""Real-time playout: cut PCM into fixed frames and hand them out on a monotonic clock.

Asterisk's AudioSocket application writes every frame it receives straight to the
channel (apps/app_audiosocket.c: ast_audiosocket_receive_frame() then ast_write()), with
no jitter buffer in between, so the assistant itself must send one 20 ms frame every
20 ms. Deadlines are absolute (start + k * 20 ms) so sleep overshoot never accumulates
into drift, and only the frame being sent is committed to the socket: ``stop()`` (barge-in)
therefore silences the caller within one frame.

With ``keepalive`` the grid never stops: when nothing is queued the frame sent is
``SILENCE_FRAME``. A real Asterisk 22 ends AudioSocket after 2000 ms without a frame in
either direction, and a caller leg may send none at all (silence suppression, hold).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass

from voicebot.telephony.audiosocket_codec import FRAME_BYTES, FRAME_MS

_LOGGER = logging.getLogger(__name__)

FRAME_SECONDS = FRAME_MS / 1000
"""Duration of one frame: 20 ms."""
SILENCE_FRAME = bytes(FRAME_BYTES)
"""The keep-alive frame: digital silence. Sent as this very object, so that a transport
can recognise it by identity and write bytes it encoded once."""


@dataclass(frozen=True, slots=True)
class PlayoutSummary:
    """Pacing figures for one connection's outbound audio."""

    frames_sent: int
    """Frames handed to the transport."""
    max_lateness: float
    """Worst delay of a frame behind its deadline, in seconds."""
    max_early: float
    """Most a frame was sent ahead of its deadline, in seconds (at most the wake-up
    allowance)."""
    mean_lateness: float
    """Average signed offset from the deadline, in seconds."""
    resyncs: int
    """Times the schedule was re-anchored after a stall longer than the resync limit."""


class PlayoutStats:
    """Per-frame send offsets: seconds each frame left after (+) or before (-) its deadline."""

    def __init__(self, capacity: int = 180_000) -> None:
        self._capacity = capacity
        self.lateness = array("d")
        """Signed offset of each frame in send order (the first ``capacity`` frames)."""
        self.frames_sent = 0
        self.silence_frames = 0
        """Of ``frames_sent``, keep-alive frames sent while nothing was queued."""
        self.resyncs = 0
        self._max = 0.0
        self._early = 0.0
        self._total = 0.0

    def record(self, offset: float) -> None:
        """Note one frame sent ``offset`` seconds after (or, if negative, before) its deadline."""
        self.frames_sent += 1
        self._total += offset
        self._max = max(self._max, offset)
        self._early = max(self._early, -offset)
        if len(self.lateness) < self._capacity:
            self.lateness.append(offset)

    def off_schedule(self, threshold: float) -> int:
        """How many recorded frames left more than ``threshold`` seconds off their deadline."""
        return sum(1 for value in self.lateness if abs(value) > threshold)

    def summary(self) -> PlayoutSummary:
        """Aggregate figures so far."""
        mean = self._total / self.frames_sent if self.frames_sent else 0.0
        return PlayoutSummary(self.frames_sent, self._max, self._early, mean, self.resyncs)


class PacedPlayer:
    """Sends queued PCM in fixed frames, one per frame period, on absolute deadlines.

    ``send`` is called with exactly ``frame_bytes`` bytes per frame (the tail of the queue
    is padded with silence). It must not block: it is called on the event loop.
    """

    def __init__(
        self,
        send: Callable[[bytes], None],
        *,
        frame_bytes: int = FRAME_BYTES,
        frame_seconds: float = FRAME_SECONDS,
        resync_after: float = 0.1,
        wake_early: float = 0.001,
        label: str = "",
        keepalive: bool = False,
    ) -> None:
        if frame_bytes <= 0 or frame_bytes % 2:
            raise ValueError(f"frame_bytes must be a positive even number, got {frame_bytes}")
        self._send = send
        self._frame_bytes = frame_bytes
        self._frame_seconds = frame_seconds
        self._resync_after = resync_after
        # The event loop's selector rounds its timeout up to whole milliseconds, so a
        # sleep tends to end ~1 ms late; waking this much early centres frames on the grid.
        self._wake_early = wake_early
        self._label = label
        self._keepalive = keepalive
        if keepalive and frame_bytes != len(SILENCE_FRAME):
            raise ValueError(f"keepalive sends {len(SILENCE_FRAME)}-byte frames")
        self._pending = bytearray()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._next_deadline = 0.0
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.stats = PlayoutStats()

    @property
    def pending_bytes(self) -> int:
        """PCM bytes queued and not yet sent."""
        return len(self._pending)

    @property
    def playing(self) -> bool:
        """True while queued audio remains to be sent."""
        return not self._idle.is_set()

    def start(self) -> None:
        """Start the pacing task (idempotent); with keepalive the frames start now."""
        if self._task is None and not self._closed:
            run = self._run_keepalive() if self._keepalive else self._run()
            self._task = asyncio.get_running_loop().create_task(run, name=f"playout {self._label}")

    def play(self, pcm: bytes) -> None:
        """Queue 16-bit PCM after whatever is already queued."""
        if self._closed:
            raise RuntimeError(f"player {self._label} is closed")
        if len(pcm) % 2:
            raise ValueError(f"PCM must hold whole 16-bit samples, got {len(pcm)} bytes")
        if not pcm:
            return
        self._pending += pcm
        self._idle.clear()
        self._wakeup.set()
        self.start()

    def stop(self) -> int:
        """Drop everything not yet sent (barge-in); return the number of bytes dropped."""
        dropped = len(self._pending)
        self._pending.clear()
        self._idle.set()
        return dropped

    async def drain(self) -> None:
        """Wait until every queued byte has been sent (or playback was stopped)."""
        await self._idle.wait()

    async def close(self) -> None:
        """Stop playback and the pacing task."""
        self._closed = True
        self.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            # A new run continues the previous grid if it is still ahead of us, so two
            # back-to-back prompts never put two frames into one 20 ms slot.
            self._next_deadline = max(time.monotonic(), self._next_deadline)
            while self._pending:
                delay = self._next_deadline - self._wake_early - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if not self._pending:
                    break
                frame = self._take_frame()
                now = time.monotonic()
                self._send(frame)
                self.stats.record(now - self._next_deadline)
                self._next_deadline += self._frame_seconds
                if now - self._next_deadline > self._resync_after:
                    # The loop stalled for several frames: sending the backlog in a burst
                    # would only make Asterisk play it too fast, so restart the grid.
                    _LOGGER.warning(
                        "playout %s: %.0f ms behind schedule, re-anchoring",
                        self._label,
                        (now - self._next_deadline) * 1000,
                    )
                    self.stats.resyncs += 1
                    self._next_deadline = now
            if not self._pending:
                self._idle.set()

    def _take_frame(self) -> bytes:
        """The next frame of queued audio, its tail padded with silence."""
        frame = bytes(self._pending[: self._frame_bytes])
        del self._pending[: self._frame_bytes]
        if len(frame) < self._frame_bytes:
            frame += bytes(self._frame_bytes - len(frame))
        return frame

    async def _run_keepalive(self) -> None:
        """One frame per period for as long as the player lives: queued audio, else silence."""
        self._next_deadline = time.monotonic()
        stats = self.stats
        while True:
            delay = self._next_deadline - self._wake_early - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if self._pending:
                frame = self._take_frame()
                if not self._pending:
                    self._idle.set()
            else:
                frame = SILENCE_FRAME
                stats.silence_frames += 1
            now = time.monotonic()
            self._send(frame)
            stats.record(now - self._next_deadline)
            self._next_deadline += self._frame_seconds
            if now - self._next_deadline > self._resync_after:
                _LOGGER.warning(
                    "playout %s: %.0f ms behind schedule, re-anchoring",
                    self._label,
                    (now - self._next_deadline) * 1000,
                )
                stats.resyncs += 1
                self._next_deadline = now
