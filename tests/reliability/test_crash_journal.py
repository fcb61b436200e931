"""Issue 13 item 11: ``kill -9`` with calls in progress.

Before the call journal the call log never heard of those calls (their callers reached
the operator through the dialplan). Now the next start finds them in the dead process's
journal and records each with outcome ``interrupted``: when it started and how far it
got (one call in its greeting, one ringing the department it was transferred to).

The fast test kills a small real process journaling two calls; the long one (two starts
of ``voicebot serve``, about a minute) kills serve itself in the middle of real calls.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.reliability.conftest import BotFactory
from tests.reliability.harness import DEPARTMENT_EXTEN, dialled, stored_calls, wait_stored
from voicebot.calllog.journal import CallJournal, read_journal
from voicebot.calllog.models import Call, Transfer
from voicebot.calllog.pseudonymize import Pseudonymizer
from voicebot.records import CallOutcome
from voicebot.telephony.simulator import SimulatorTiming

RINGING = SimulatorTiming(ring_time=60.0, talk_time=0.2, fallback_wait=5.0)
"""The department lets the phone ring: the transferred call is still in Dial() at the kill."""


KEY = b"journal-test-key-0123456789"
AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def hasher() -> Pseudonymizer:
    return Pseudonymizer(KEY, "32")


def journal(directory: Path) -> CallJournal:
    return CallJournal(directory, hasher().caller_hash)


def test_a_kill_9_leaves_calls_that_the_next_start_records_as_interrupted(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "journal"
    # A real process journals two calls, one of them in transfer, then is SIGKILLed.
    script = textwrap.dedent(
        f"""
        import sys, time
        from datetime import datetime, UTC
        from pathlib import Path
        from voicebot.calllog.journal import CallJournal
        from voicebot.calllog.pseudonymize import Pseudonymizer
        j = CallJournal(Path({str(directory)!r}), Pseudonymizer({KEY!r}, "32").caller_hash)
        j.open()
        at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
        j.started("greeting", at, "fr", "0470 12 34 56", "PJSIP/citizen-1")
        j.started("moving", at, "nl", None, "PJSIP/citizen-2")
        j.transferring("moving", at, "population", "2002")
        j.started("done", at, "fr", None, None)
        j.ended(["done"])
        print("ready", flush=True)
        time.sleep(60)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()

    after = journal(directory)
    records = {record.call_id: record for record in after.open()}
    assert set(records) == {"greeting", "moving"}
    assert all(r.outcome is CallOutcome.INTERRUPTED for r in records.values())
    assert records["greeting"].started_at == AT and records["greeting"].transfers == ()
    assert records["greeting"].caller_hash == hasher().caller_hash("0470123456")
    assert records["greeting"].caller_number is None
    moved = records["moving"].transfers
    assert [(t.target, t.extension) for t in moved] == [("population", "2002")]
    assert records["moving"].language == "nl" and records["moving"].channel == "PJSIP/citizen-2"
    # Journaled again here until the writer says they are durable; the dead file is gone.
    assert [p.name for p in directory.iterdir()] == [after.path.name if after.path else ""]
    assert set(read_journal(after.path)[0]) == {"greeting", "moving"} if after.path else False
    after.ended(["greeting", "moving"])
    after.close()
    assert list(directory.iterdir()) == []


@pytest.mark.reliability
async def test_calls_in_progress_at_a_kill_9_are_recorded_interrupted_at_the_next_start(
    bots: BotFactory,
) -> None:
    bot = await bots("crash", timing=RINGING)
    moving = await bot.simulator.place_call("0400001101")
    await asyncio.sleep(0.3)
    await moving.send_dtmf("1")
    greeting = await bot.simulator.place_call("0400001102")
    async with asyncio.timeout(30):
        while DEPARTMENT_EXTEN not in dialled(moving):
            await asyncio.sleep(0.05)
        while (await bot.metrics())["voicebot_call_sessions_active"] < 2:
            await asyncio.sleep(0.05)
    os.kill(bot.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    await asyncio.to_thread(bot.served.process.wait, 10)
    await bot.close()
    assert stored_calls(bot.engine) == {}  # nothing reached the call log before the kill

    again = await bots("crash")  # same data directory and database
    restarted_s = time.monotonic() - killed_at
    assert await wait_stored(again.engine, 2, timeout=30) == 2
    stored = stored_calls(again.engine)
    ids = {str(moving.call_id), str(greeting.call_id)}
    assert set(stored) == ids
    assert {row.outcome for row in stored.values()} == {"interrupted"}
    with again.engine.connect() as connection:
        moves = connection.execute(
            select(Call.call_id, Transfer.extension, Transfer.dial_status).join(
                Transfer, Transfer.call_pk == Call.id
            )
        ).all()
    assert [tuple(row) for row in moves] == [(str(moving.call_id), DEPARTMENT_EXTEN, "PENDING")]
    notes = [line for line in again.served.log().splitlines() if "interrupted" in line]
    assert notes, again.served.log()
    journal = again.served.workdir / "data" / "journal"
    print(
        f"\nkill -9 with 2 calls in progress: both recorded 'interrupted' at the next "
        f"start ({restarted_s:.1f} s after the kill), the transferred one with its "
        f"pending transfer to {DEPARTMENT_EXTEN}; journal files now: "
        f"{sorted(p.name for p in journal.iterdir())}"
    )
