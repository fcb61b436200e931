"""An AMI event flood against ``voicebot serve``: 50,000 events/s offered for 10 s.

    python -m bench.ami_flood [--rate 50000] [--seconds 10] [--calls 4]

``voicebot serve`` (scripted transcripts) runs against the Asterisk simulator, whose
manager interface offers ``--rate`` events a second for ``--seconds`` (UserEvent
VoicebotCall + Hangup pairs for calls that never connect, the blocks a real Asterisk 22
sent, with fresh ids), in 10 ms batches written with TCP back-pressure: what the
assistant does not read stays in the socket and slows the sender. Meanwhile ``--calls``
FAQ calls (question over the greeting, answer heard) and one DTMF transfer run, and
``/health`` is polled every 0.5 s. The same calls run once without the flood, side by
side in the same run. Reported: events offered and taken per second, serve's CPU over
the window (user + system, /proc), each FAQ call's reply time after the end of the
question, the transfer's duration, the caller-side gaps between assistant frames (p99,
max), and /health times (max).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.reliability.harness import (
    QUESTION,
    Bot,
    CallKind,
    CallResult,
    answered_by,
    dtmf_call,
    start_bot,
)
from tests.support.caller import CallerVoice, first_reply_after, say
from tests.telephony import traces


def flood_unit() -> tuple[bytes, bytes, bytes, bytes, bytes]:
    """A recorded VoicebotCall and its Hangup, and the ids to replace in them."""
    blocks = traces.load_ami("transfer")
    call = traces.calls()["transfer"]["audiosocket"]
    announce = next(b.wire for b in blocks if b.get("UserEvent") == "VoicebotCall")
    hangup = next(
        b.wire
        for b in blocks
        if b.first == ("Event", "Hangup") and b.get("Channel") == call["channel"]
    )
    return announce, hangup, call["uuid"].encode(), call["channel"].encode(), b"1796353717.5"


def flood_batch(count: int, start: int) -> bytes:
    """``count`` events (announcement + hangup pairs) with fresh ids."""
    announce, hangup, old_uuid, old_channel, old_uniqueid = flood_unit()
    parts = []
    for n in range(start, start + count // 2):
        new_uuid = str(uuid.uuid4()).encode()
        channel = f"Local/s@voicebot-incoming-{n + 0x1000000:08x};2".encode()
        uniqueid = f"1796500000.{n}".encode()
        for block in (announce, hangup):
            parts.append(
                block.replace(old_uuid, new_uuid)
                .replace(old_channel, channel)
                .replace(old_uniqueid, uniqueid)
            )
    return b"".join(parts)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0


async def flood(bot: Bot, rate: int, seconds: float, taken: list[int]) -> float:
    """Offer ``rate`` events/s for ``seconds`` in 10 ms batches; returns the seconds the
    sender needed (longer than ``seconds`` when back-pressure held it)."""
    per_batch = max(2, rate // 100)
    batches = [flood_batch(per_batch, i * per_batch) for i in range(50)]  # reused, ids vary
    started = time.monotonic()
    deadline = started
    total = int(rate * seconds)
    sent = 0
    index = 0
    while sent < total:
        deadline += 0.01
        await bot.simulator.ami.broadcast_raw(batches[index % len(batches)])
        index += 1
        sent += per_batch
        taken.append(sent)
        delay = deadline - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    return time.monotonic() - started


async def faq(bot: Bot, speech: bytes, number: str) -> dict[str, Any]:
    call = await bot.simulator.place_call(number)
    bot.served.script(str(call.call_id), [QUESTION])
    await call.wait_heard(8000, timeout=30)
    last_voice = await say(call, speech, trailing_silence_s=0.4)
    reply = await first_reply_after(call, last_voice, timeout=60)
    await asyncio.sleep(1.0)
    await call.hangup()
    voiced = [frame.at for frame in call.heard if frame.voiced]
    every = [frame.at for frame in call.heard]
    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(every)]
    return {"reply_s": reply - last_voice, "gaps_ms": gaps, "voiced_frames": len(voiced)}


async def health_poll(bot: Bot, stop: asyncio.Event, times: list[float]) -> None:
    async with httpx.AsyncClient(base_url=bot.served.api_url, timeout=30) as client:
        while not stop.is_set():
            started = time.monotonic()
            with contextlib.suppress(httpx.HTTPError):
                await client.get("/health")
            times.append(time.monotonic() - started)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):
                    await stop.wait()


async def window(bot: Bot, speech: bytes, calls: int, rate: int, seconds: float) -> dict[str, Any]:
    """The calls, with a flood of ``rate`` events/s (0: none) over the same window."""
    stop = asyncio.Event()
    health: list[float] = []
    poller = asyncio.create_task(health_poll(bot, stop, health))
    taken: list[int] = []
    cpu0, wall0 = cpu_seconds(bot.pid), time.monotonic()
    flooding = asyncio.create_task(flood(bot, rate, seconds, taken)) if rate else None
    dtmf = CallResult(CallKind.DTMF, "0400009999")
    started = time.monotonic()
    results = await asyncio.gather(
        *(faq(bot, speech, f"04000{i:05d}") for i in range(calls)), dtmf_call(bot, dtmf)
    )
    transfer_s = time.monotonic() - started
    sender_s = await flooding if flooding is not None else 0.0
    wall = time.monotonic() - wall0
    cpu = cpu_seconds(bot.pid) - cpu0
    stop.set()
    await poller
    faqs = [r for r in results if isinstance(r, dict)]
    gaps = sorted(g for r in faqs for g in r["gaps_ms"])
    return {
        "offered_events_per_s": rate,
        "events": taken[-1] if taken else 0,
        "sender_s": round(sender_s, 2),
        "taken_events_per_s": round(taken[-1] / sender_s) if taken else 0,
        "serve_cpu_share": round(cpu / wall, 3),
        "faq_reply_s": [round(r["reply_s"], 3) for r in faqs],
        "faq_reply_median_s": round(statistics.median(r["reply_s"] for r in faqs), 3),
        "transfer_s": round(transfer_s, 2),
        "transferred_to": answered_by(dtmf.call) if dtmf.call is not None else None,
        "frame_gap_p99_ms": round(gaps[int(0.99 * (len(gaps) - 1))], 1) if gaps else None,
        "frame_gap_max_ms": round(gaps[-1], 1) if gaps else None,
        "health_max_s": round(max(health), 3) if health else None,
    }


async def run(rate: int, seconds: float, calls: int) -> dict[str, Any]:
    voice = CallerVoice()
    await voice.start()
    try:
        speech = await voice.speech(QUESTION)
    finally:
        await voice.close()
    with tempfile.TemporaryDirectory(prefix="ami-flood-") as tmp:
        bot = await start_bot(Path(tmp) / "serve", Path(tmp) / "cache")
        try:
            quiet = await window(bot, speech, calls, 0, seconds)
            flooded = await window(bot, speech, calls, rate, seconds)
        finally:
            await bot.close()
    return {"without_flood": quiet, "with_flood": flooded}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--calls", type=int, default=4)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(run(args.rate, args.seconds, args.calls)), indent=2))


if __name__ == "__main__":
    main()
