"""Whole calls through the real stack (Asterisk simulated): answered, transferred, fallbacks."""

from __future__ import annotations

import asyncio

from voicebot.calllog.records import CallOutcome
from voicebot.calllog.views import CallDetail
from voicebot.telephony import contract
from voicebot.telephony.simulator import DepartmentBehaviour

from .conftest import CallStack, say, wait_quiet


async def _stored(stack: CallStack, call_id: str) -> CallDetail:
    """The call's record once the session has ended and the writer has stored it."""
    async with asyncio.timeout(20):
        while True:
            assert stack.writer.flush(10), "the writer could not reach the database"
            detail = stack.writer.repository.get_call(call_id)
            if detail is not None:
                return detail
            await asyncio.sleep(0.1)


async def test_faq_question_is_answered_then_goodbye(stack: CallStack) -> None:
    call = await stack.simulator.place_call("0470123456")
    await wait_quiet(call)
    greeting = len(call.received_audio())
    assert greeting > 16000, "the caller should hear a greeting of at least a second"
    await say(stack, call, "combien coûte un passeport")
    await wait_quiet(call)
    assert len(call.received_audio()) > greeting + 32000, "the FAQ answer was not spoken"
    await say(stack, call, "non merci au revoir")
    async with asyncio.timeout(30):
        await call.wait_socket_closed(30)
    detail = await _stored(stack, str(call.call_id))
    assert detail.call.outcome == CallOutcome.ANSWERED
    intents = [turn.intent for turn in detail.turns]
    assert intents[0] == "faq:passport", intents
    first = detail.turns[0]
    assert first.transcript == "combien coûte un passeport"
    for stage in ("endpoint_ms", "asr_ms", "routing_ms", "reply_ready_ms"):
        assert stage in first.timings_ms, first.timings_ms


async def test_department_request_is_transferred_with_setvar_then_redirect(
    stack: CallStack,
) -> None:
    call = await stack.simulator.place_call("0470654321")
    await wait_quiet(call)
    await say(stack, call, "mes sacs poubelles n ont pas été ramassés ce matin")
    await call.wait_ended(45)
    names = call.action_names()
    assert "Redirect" in names, names
    redirect = next(a for a in call.actions if a.name == "Redirect")
    assert redirect.headers.get("Context") == contract.DEPARTMENTS_CONTEXT
    assert redirect.headers.get("Exten") == "2003"
    set_vars = {
        a.headers.get("Variable"): a.headers.get("Value")
        for a in call.actions
        if a.name == "Setvar"
    }
    assert set_vars[contract.VAR_TARGET] == "waste"
    assert names.index("Setvar") < names.index("Redirect")
    # The agent's phone shows the department's name, not its id, then the request.
    screen_pop = set_vars[contract.VAR_SCREEN_POP] or ""
    assert screen_pop.startswith("Propreté publique: mes sacs poubelles"), screen_pop
    assert len(screen_pop) <= contract.SCREEN_POP_MAX_CHARS
    ringing = next(e for e in call.events if e.name == "DialBegin")
    assert ringing.headers.get("DestCallerIDName") == screen_pop
    detail = await _stored(stack, str(call.call_id))
    assert detail.call.outcome == CallOutcome.TRANSFERRED
    assert detail.call.department == "waste"


async def test_busy_department_falls_back_to_the_operator(stack: CallStack) -> None:
    stack.simulator.set_department("2003", DepartmentBehaviour.BUSY)
    call = await stack.simulator.place_call("0470111222")
    await wait_quiet(call)
    await say(stack, call, "mes sacs poubelles n ont pas été ramassés ce matin")
    await call.wait_ended(60)
    exts = [a.headers.get("Exten") for a in call.actions if a.name == "Redirect"]
    assert exts == ["2003", "1000"], exts
    detail = await _stored(stack, str(call.call_id))
    assert detail.transfers[0].dial_status == "BUSY"
    assert detail.call.outcome == CallOutcome.OPERATOR
