"""SIGTERM to `voicebot serve` during a call: the call finishes, its record is stored, exit 0."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.e2e.conversation import BYTES_PER_SECOND, GREETING_BEFORE_TALKING_S
from tests.e2e.served import OPEN_HOURS
from tests.support.caller import CallerVoice, say
from tests.support.serve_process import ServeProcess, start_serve
from voicebot.calllog.db import create_calllog_engine
from voicebot.calllog.models import Call, Transfer, Turn

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def wait_for_log(served: ServeProcess, text: str, timeout: float) -> None:
    """Wait until the serve process has printed ``text``."""
    async with asyncio.timeout(timeout):
        while text not in served.log():
            await asyncio.sleep(0.05)


async def test_sigterm_lets_the_call_in_progress_finish_and_store_its_record(
    tmp_path: Path, serve_cache: Path, voice: CallerVoice
) -> None:
    served = await start_serve(
        tmp_path / "serve", cache_dir=serve_cache, settings={"simulated_time": OPEN_HOURS}
    )
    try:
        request = "mes poubelles n'ont pas été ramassées ce matin"
        speech = await voice.speech(request)
        call = await served.simulator.place_call("0470000301")
        call_id = str(call.call_id)
        served.script(call_id, [request])
        await call.wait_heard(int(GREETING_BEFORE_TALKING_S * BYTES_PER_SECOND), 15)
        served.process.send_signal(signal.SIGTERM)
        await wait_for_log(served, "shutting down: 1 call(s) in progress", timeout=10)

        # Shutting down: a new call is not taken; Asterisk's dialplan sends it to the operator.
        refused = await served.simulator.place_call("0470000302")
        await refused.wait_ended(15)
        assert refused.heard == []
        assert refused.action_names() == []
        dialled = [e.headers.get("AppData") or "" for e in refused.events if e.name == "Newexten"]
        assert any(data.startswith("PJSIP/1000,") for data in dialled), dialled

        # The call in progress goes on: the caller asks, the assistant transfers.
        assert served.process.poll() is None, "serve must wait for the call in progress"
        await say(call, speech)
        await call.wait_ended(30)
        code = await asyncio.to_thread(served.process.wait, 30)
    finally:
        await served.stop()

    assert code == 0, served.log()
    assert "voicebot ready" in served.log()
    assert call.transfers == ["voicebot-departments,2003,1"]
    assert "still running at shutdown" not in served.log()
    engine = create_calllog_engine(served.settings["database_url"])
    try:
        with engine.connect() as connection:
            calls = connection.execute(select(Call.call_id, Call.outcome, Call.id)).all()
            assert [(c.call_id, c.outcome) for c in calls] == [(call_id, "transferred")]
            turns = connection.execute(select(Turn.intent, Turn.action)).all()
            transfers = connection.execute(select(Transfer.target, Transfer.dial_status)).all()
    finally:
        engine.dispose()
    assert [tuple(turn) for turn in turns] == [("waste", "transfer")]
    assert [tuple(transfer) for transfer in transfers] == [("waste", "ANSWER")]
