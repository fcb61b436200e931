"""An AMI flood of call announcements and hangups (issue 13 item 3).

Before: each VoicebotCall registration swept every known call and each Hangup scanned
them all, on the event loop, so 20,000 announced-and-hung-up calls stalled the whole
process (``/health`` 36-48 s, a call placed meanwhile not transferred within 89 s). Now
the channel directory costs O(1) per event, its unserved entries expire from a heap, and
the connector's bounded event queue dispatches within a share of the loop. The flood's
blocks are the ones a real Asterisk 22 sent (tests/data/asterisk-22), with fresh ids.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Coroutine
from typing import Any

import httpx
import pytest

from tests.reliability.conftest import BotFactory
from tests.reliability.harness import (
    DEPARTMENT_EXTEN,
    Bot,
    CallKind,
    CallResult,
    answered_by,
    dtmf_call,
    faq_call,
    stored_calls,
    wait_stored,
)
from tests.telephony import traces


def _template(user_event: str | None, event: str) -> bytes:
    for block in traces.load_ami("transfer"):
        if block.first == ("Event", event) and block.get("UserEvent") == user_event:
            return block.wire
    raise LookupError(f"no {event} {user_event} in the transfer trace")


def flood_blocks(calls: int) -> bytes:
    """``calls`` announcements (UserEvent VoicebotCall) each followed by its Hangup."""
    announce = _template("VoicebotCall", "UserEvent")
    hangup = next(
        b.wire
        for b in traces.load_ami("transfer")
        if b.first == ("Event", "Hangup")
        and b.get("Channel") == "Local/s@voicebot-incoming-00000002;2"
    )
    call = traces.calls()["transfer"]["audiosocket"]
    old_uuid = call["uuid"].encode()
    old_channel = call["channel"].encode()
    old_uniqueid = b"1796353717.5"
    parts: list[bytes] = []
    for n in range(calls):
        new_uuid = str(uuid.uuid4()).encode()
        channel = f"Local/s@voicebot-incoming-{n + 0x100000:08x};2".encode()
        uniqueid = f"1796400000.{n}".encode()
        for block in (announce, hangup):
            parts.append(
                block.replace(old_uuid, new_uuid)
                .replace(old_channel, channel)
                .replace(old_uniqueid, uniqueid)
            )
    return b"".join(parts)


async def health_seconds(bot: Bot) -> float:
    """How long GET /health takes to answer (bounded: a stalled process fails the test)."""
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=bot.served.api_url, timeout=10.0) as client:
        response = await client.get("/health")
    assert response.status_code in (200, 503)
    return time.monotonic() - started


async def timed(result: CallResult, call: Coroutine[Any, Any, None]) -> None:
    started = time.monotonic()
    try:
        await call
    finally:
        result.seconds = time.monotonic() - started


async def flood_while_calling(bots: BotFactory, speech: bytes, calls: int) -> None:
    bot = await bots()
    flood = flood_blocks(calls)
    started = time.monotonic()
    flooding = asyncio.create_task(bot.simulator.ami.broadcast_raw(flood))
    dtmf = CallResult(CallKind.DTMF, "0400000001")
    faq = CallResult(CallKind.FAQ, "0400000002")
    async with asyncio.timeout(60):
        health = await health_seconds(bot)
        await asyncio.gather(
            timed(dtmf, dtmf_call(bot, dtmf)), timed(faq, faq_call(bot, speech, faq))
        )
        await flooding
    flood_s = time.monotonic() - started
    assert dtmf.call is not None and answered_by(dtmf.call) == DEPARTMENT_EXTEN
    assert await wait_stored(bot.engine, 2) == 2
    stored = stored_calls(bot.engine)
    assert stored[dtmf.call_id].intents == ("dtmf:1",)
    assert stored[faq.call_id].intents[0] == "faq:opening_hours"
    print(
        f"\nAMI flood: {2 * calls} events taken in {flood_s:.1f} s "
        f"({2 * calls / flood_s:.0f}/s), /health in {health:.2f} s, "
        f"DTMF call transferred in {dtmf.seconds:.1f} s, FAQ call {faq.seconds:.1f} s"
    )


async def test_a_flood_of_20000_announced_and_hung_up_calls_stalls_no_call(
    bots: BotFactory, question_speech: bytes
) -> None:
    await flood_while_calling(bots, question_speech, calls=20_000)


@pytest.mark.reliability
async def test_a_flood_of_200000_announced_and_hung_up_calls_stalls_no_call(
    bots: BotFactory, question_speech: bytes
) -> None:
    await flood_while_calling(bots, question_speech, calls=200_000)
