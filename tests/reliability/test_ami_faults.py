"""AMI faults under load: connections dropped and the manager interface restarted while
calls are being transferred. The connector logs in again within 2 s, every transfer ends
with the caller put through (to the department, or to the operator as the fallback), and
every call ends and is recorded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from tests.reliability.conftest import BotFactory
from tests.reliability.harness import (
    DEPARTMENT_EXTEN,
    OPERATOR_EXTEN,
    Bot,
    CallKind,
    CallResult,
    StoredCall,
    answered_by,
    expect_scripted,
    record_problems,
    run_load,
    stored_calls,
    wait_stored,
)

RECONNECT_LIMIT_S = 2.0


@dataclass
class FaultLog:
    """Faults injected and how long the connector took to log in again after each."""

    reconnects: list[float] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)


async def wait_login(bot: Bot, logins_before: int, timeout: float = 10.0) -> float:
    """Seconds until the simulator sees a new successful login."""
    started = time.monotonic()
    async with asyncio.timeout(timeout):
        while bot.simulator.ami.logins <= logins_before:
            await asyncio.sleep(0.01)
    return time.monotonic() - started


async def inject_faults(
    bot: Bot, done: asyncio.Event, log: FaultLog, downs: Sequence[float]
) -> None:
    """Alternate a dropped connection and a manager restart (down for each of ``downs``
    in turn) until ``done``, one second of service between faults."""
    while not done.is_set():
        logins = bot.simulator.ami.logins
        if len(log.kinds) % 2 == 0:
            bot.simulator.drop_ami_connections()
            log.kinds.append("drop")
        else:
            await bot.simulator.stop_ami()
            await asyncio.sleep(downs[(len(log.kinds) // 2) % len(downs)])
            logins = bot.simulator.ami.logins
            await bot.simulator.start_ami()
            log.kinds.append("restart")
        log.reconnects.append(await wait_login(bot, logins))
        await asyncio.sleep(1.0)


def put_through(result: CallResult, stored: StoredCall) -> str | None:
    """DTMF calls reach the department or, as the fallback, the operator; FAQ calls as usual."""
    if result.kind is CallKind.FAQ:
        return expect_scripted(result, stored)
    assert result.call is not None
    reached = answered_by(result.call)
    if reached not in (DEPARTMENT_EXTEN, OPERATOR_EXTEN):
        return f"not put through (dialled {reached}), recorded {stored.outcome} {stored.intents}"
    return None


async def load_under_ami_faults(
    bots: BotFactory,
    speech: bytes,
    *,
    calls: int,
    concurrency: int,
    downs: Sequence[float],
    stuck_s: float,
) -> FaultLog:
    """Calls (3 in 4 transferred by DTMF) while faults are injected; ``stuck_s`` is the
    longest a call may take (an undisturbed one takes about 5 s)."""
    bot = await bots()
    kinds = [CallKind.FAQ if i % 4 == 0 else CallKind.DTMF for i in range(calls)]
    done = asyncio.Event()
    log = FaultLog()
    chaos = asyncio.create_task(inject_faults(bot, done, log, downs))
    try:
        report = await run_load(bot, kinds, concurrency, speech, call_timeout=120)
    finally:
        done.set()
        await asyncio.wait_for(chaos, 30)
    assert not report.errors, report.errors[:10]
    assert await wait_stored(bot.engine, calls) == calls
    problems = record_problems(report.results, stored_calls(bot.engine), put_through)
    assert not problems, problems[:10]
    slow = [
        f"{r.kind} {r.call_id}: {r.seconds:.1f} s" for r in report.results if r.seconds > stuck_s
    ]
    assert not slow, slow[:10]
    await bot.wait_idle()
    assert len(log.reconnects) >= 4
    assert max(log.reconnects) < RECONNECT_LIMIT_S, log.reconnects
    operator = sum(
        1 for r in report.results if r.call is not None and answered_by(r.call) == OPERATOR_EXTEN
    )
    print(
        f"\nAMI faults: {calls} calls, {concurrency} concurrent, {len(log.kinds)} faults "
        f"({log.kinds.count('restart')} restarts down {'/'.join(map(str, downs))} s), reconnect max "
        f"{max(log.reconnects):.2f} s mean {sum(log.reconnects) / len(log.reconnects):.2f} s, "
        f"{operator} call(s) sent to the operator, call p95 {report.percentile(0.95):.1f} s "
        f"max {max(report.durations):.1f} s, {report.seconds:.0f} s in all"
    )
    return log


async def test_transfers_survive_ami_drops_and_restarts_and_reconnect_within_2_s(
    bots: BotFactory, question_speech: bytes
) -> None:
    await load_under_ami_faults(
        bots, question_speech, calls=60, concurrency=15, downs=[0.5], stuck_s=15.0
    )


@pytest.mark.reliability
async def test_300_calls_under_repeated_ami_faults_all_end_put_through_and_recorded(
    bots: BotFactory, question_speech: bytes
) -> None:
    await load_under_ami_faults(
        bots, question_speech, calls=300, concurrency=30, downs=[0.5, 2.0, 4.0], stuck_s=30.0
    )
