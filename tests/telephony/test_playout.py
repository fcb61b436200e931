"""PacedPlayer: fixed frames on an absolute 20 ms grid, barge-in, drain."""

from __future__ import annotations

import asyncio
import time

from voicebot.telephony.playout import PacedPlayer


async def test_player_sends_full_frames_and_pads_the_tail_with_silence() -> None:
    frames: list[bytes] = []
    player = PacedPlayer(frames.append, frame_seconds=0.005)
    player.play(b"\x01\x02" * 200)  # 400 bytes: one full frame and 80 bytes
    async with asyncio.timeout(20):
        await player.drain()
    await player.close()
    assert [len(f) for f in frames] == [320, 320]
    assert frames[1][:80] == (b"\x01\x02" * 40)
    assert frames[1][80:] == bytes(240)


async def test_consecutive_plays_continue_the_same_grid() -> None:
    sent_at: list[float] = []
    player = PacedPlayer(lambda _frame: sent_at.append(time.monotonic()))
    player.play(bytes(320 * 5))
    player.play(bytes(320 * 5))
    async with asyncio.timeout(20):
        await player.drain()
    await player.close()
    assert len(sent_at) == 10
    # 9 periods of 20 ms, never faster: the second play did not put a frame into a slot
    # the first one used. (How close to 180 ms depends on the load: see the benchmark.)
    assert sent_at[-1] - sent_at[0] >= 0.175
    summary = player.stats.summary()
    assert summary.frames_sent == 10 and summary.max_early <= 0.0015


async def test_stop_drops_pending_audio_and_reports_how_much() -> None:
    frames: list[bytes] = []
    player = PacedPlayer(frames.append)
    player.play(bytes(320 * 50))
    await asyncio.sleep(0.05)
    dropped = player.stop()
    sent_when_stopped = len(frames)
    await asyncio.sleep(0.06)
    await player.close()
    assert dropped == (50 - sent_when_stopped) * 320
    assert len(frames) <= sent_when_stopped + 1
    assert not player.playing


async def test_player_rejects_half_samples() -> None:
    player = PacedPlayer(lambda _f: None)
    try:
        player.play(b"\x00")
    except ValueError as exc:
        assert "whole 16-bit samples" in str(exc)
    else:
        raise AssertionError("odd-length PCM was accepted")
    finally:
        await player.close()
