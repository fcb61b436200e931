"""CPU of the AudioSocket keep-alive: silence frames every 20 ms on calls that play nothing.

    python -m bench.keepalive [--calls 50] [--seconds 30]

A real Asterisk 22 ends AudioSocket after 2 s without a frame in either direction, so
every call now sends a 320-byte silence frame every 20 ms whenever nothing plays. This
measures what that costs: ``--calls`` idle connections to the real ``AudioSocketServer``
for ``--seconds``, once with the keep-alive and once without, side by side in one run,
the process's CPU time (user + system) over each window. The callers read and discard;
they run in a child process so their reading is not counted. Reported: CPU seconds per
call-minute of keep-alive (the difference over the calls and minutes), frames sent, and
the pacing of the frames (lateness against their 20 ms slots).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import time
import uuid
from typing import Any

from voicebot.telephony.audiosocket import AudioSocketConnection, AudioSocketServer
from voicebot.telephony.audiosocket_codec import UuidMessage, encode


def _callers(port: int, calls: int, seconds: float) -> None:
    """Child process: ``calls`` AudioSocket clients that send their UUID and read."""

    async def one() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(encode(UuidMessage(uuid.uuid4())))
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                async with asyncio.timeout(deadline - time.monotonic()):
                    if not await reader.read(65536):
                        break
            except TimeoutError:
                break
        writer.close()

    async def main() -> None:
        await asyncio.gather(*(one() for _ in range(calls)))

    asyncio.run(main())


async def measure(keepalive: bool, calls: int, seconds: float) -> dict[str, Any]:
    """CPU of the serving process with ``calls`` idle connections for ``seconds``."""
    connections: list[AudioSocketConnection] = []
    ready = asyncio.Event()

    async def handler(conn: AudioSocketConnection) -> None:
        connections.append(conn)
        if len(connections) == calls:
            ready.set()
        await conn.wait_closed()

    server = AudioSocketServer(handler, "127.0.0.1", 0, keepalive=keepalive)
    await server.start()
    child = multiprocessing.get_context("spawn").Process(
        target=_callers, args=(server.port, calls, seconds + 5.0)
    )
    child.start()
    try:
        async with asyncio.timeout(30):
            await ready.wait()
        await asyncio.sleep(1.0)  # let every connection settle on its grid
        cpu0, wall0 = time.process_time(), time.monotonic()
        frames0 = sum(c.playout_stats.frames_sent for c in connections)
        await asyncio.sleep(seconds)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        frames = sum(c.playout_stats.frames_sent for c in connections) - frames0
        lateness = sorted(
            abs(value) * 1000 for c in connections for value in c.playout_stats.lateness[-500:]
        )
    finally:
        await server.stop(timeout=2.0)
        child.join(timeout=15)
        if child.is_alive():
            child.kill()
    return {
        "keepalive": keepalive,
        "calls": calls,
        "seconds": round(wall, 2),
        "cpu_s": round(cpu, 3),
        "frames_sent": frames,
        "frames_per_call_per_s": round(frames / calls / wall, 1),
        "lateness_p50_ms": round(statistics.median(lateness), 2) if lateness else None,
        "lateness_p99_ms": round(lateness[int(0.99 * (len(lateness) - 1))], 2)
        if lateness
        else None,
    }


async def run(calls: int, seconds: float) -> dict[str, Any]:
    """Both windows, then the cost per call-minute."""
    without = await measure(False, calls, seconds)
    with_keepalive = await measure(True, calls, seconds)
    call_minutes = calls * with_keepalive["seconds"] / 60
    extra = (
        with_keepalive["cpu_s"] - without["cpu_s"] * with_keepalive["seconds"] / without["seconds"]
    )
    return {
        "without": without,
        "with": with_keepalive,
        "cpu_s_per_call_minute": round(extra / call_minutes, 4),
        "cpu_share_per_call": round(extra / with_keepalive["seconds"] / calls, 5),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(run(args.calls, args.seconds)), indent=2))


if __name__ == "__main__":
    main()
