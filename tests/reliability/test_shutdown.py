"""SIGTERM during calls: calls in progress finish (those still going at the grace deadline
are cut and recorded), new calls go to the operator, every record is flushed, exit 0."""

from __future__ import annotations

import asyncio
import signal
import time

from tests.reliability.conftest import BotFactory
from tests.reliability.harness import (
    OPERATOR_EXTEN,
    CallKind,
    CallResult,
    answered_by,
    count_calls,
    dtmf_call,
    mixed,
    record_problems,
    run_load,
    stored_calls,
)

GRACE_S = 15.0
"""call_grace_s of the serve process; the callers here think 5 s before asking, so their
calls need about 8 s after the signal, more than the AudioSocket server's own 5 s."""


async def test_sigterm_lets_calls_finish_then_flushes_every_record(
    bots: BotFactory, question_speech: bytes
) -> None:
    bot = await bots(settings={"call_grace_s": GRACE_S})
    silent = await bot.simulator.place_call("0472000001")  # would last about 25 s
    load = asyncio.create_task(run_load(bot, mixed(16), 16, question_speech, think_s=5.0))
    async with asyncio.timeout(20):
        while (await bot.metrics())["voicebot_call_sessions_active"] < 17:
            await asyncio.sleep(0.05)

    bot.served.process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    await asyncio.sleep(0.5)
    late = CallResult(CallKind.DTMF, "0472000002")
    await asyncio.wait_for(dtmf_call(bot, late), 30)  # refused: the PBX falls back
    report = await asyncio.wait_for(load, 60)
    code = await asyncio.to_thread(bot.served.process.wait, 90)
    exited_after = time.monotonic() - signalled

    assert code == 0, bot.served.log()[-3000:]
    assert not report.errors, report.errors
    stored = stored_calls(bot.engine)
    assert count_calls(bot.engine) == len(report.results) + 1
    assert not record_problems(
        report.results, {k: stored[k] for k in stored if k != str(silent.call_id)}
    )
    cut = stored[str(silent.call_id)]
    assert cut.outcome in ("abandoned", "failed") and cut.turn_count == len(cut.intents)
    assert late.call_id not in stored
    assert late.call is not None and answered_by(late.call) == OPERATOR_EXTEN
    # The grace period, the AudioSocket server's own 5 s for handlers, then the flush.
    assert exited_after < GRACE_S + 5.0 + 10.0, exited_after
    assert "call log writer could not flush" not in bot.served.log()
    print(
        f"\nshutdown: SIGTERM with {len(report.results) + 1} calls in progress, "
        f"{len(report.results)} finished normally, 1 cut at the {GRACE_S:.0f} s grace and "
        f"recorded, exit 0 after {exited_after:.1f} s with {count_calls(bot.engine)} rows"
    )
