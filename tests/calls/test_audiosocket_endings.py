"""How AudioSocket ends, on the real call stack (Asterisk simulated), issue 12: the
assistant closes its half at the Redirect (item 5), and when Asterisk ends AudioSocket by
itself the record follows the dialplan's operator dial instead of saying "abandoned"
(item 1). One stack for the module: its start (models, router) is most of the cost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from voicebot.records import CallOutcome
from voicebot.telephony import contract
from voicebot.telephony.simulator import DepartmentBehaviour, SimulatedCall

from .conftest import CallStack, open_stack, stored

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    calls_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[CallStack]:
    database = tmp_path_factory.mktemp("audiosocket-endings") / "calls.db"
    async with open_stack(calls_data_dir, database) as opened:
        yield opened


def dialled(call: SimulatedCall) -> list[str]:
    """Extensions the simulated PBX dialled for this call, in order."""
    return [
        event.headers.get("DialString") or ""
        for event in call.events
        if event.name == "DialBegin" and (event.headers.get("DialString") or "").isdigit()
    ]


async def test_the_assistant_closes_its_half_at_the_redirect_not_at_the_dial_result(
    stack: CallStack,
) -> None:
    # Issue 12 item 5: the assistant kept AudioSocket open (CLOSE-WAIT) until the dial
    # result came, 16.8 s after an answered Redirect and 36.8 s after a no-answer.
    ring_time = stack.simulator.timing.ring_time
    stack.simulator.set_timing(ring_time=60.0)  # the department rings; nobody answers yet
    stack.simulator.set_department("2001", DepartmentBehaviour.NO_ANSWER)
    try:
        await _transfer_then_hang_up_while_it_rings(stack)
    finally:
        stack.simulator.set_timing(ring_time=ring_time)
        stack.simulator.set_department("2001", DepartmentBehaviour.ANSWER)


async def _transfer_then_hang_up_while_it_rings(stack: CallStack) -> None:
    call = await stack.simulator.place_call("0470222333")
    await call.wait_heard(3200, timeout=15)  # the greeting has begun
    await call.send_dtmf("1")  # population, 2001, from the greeting on
    await call.wait_assistant_closed(20)
    assert call.transfers == [f"{contract.DEPARTMENTS_CONTEXT},2001,1"]
    results = [e for e in call.events if e.headers.get("UserEvent") == "VoicebotDialResult"]
    assert results == [], "closed only once the dial result came"
    await call.hangup()  # the caller gives up while it rings: CANCEL from the h extension
    detail = await stored(stack, str(call.call_id))
    assert [(t.target, t.dial_status) for t in detail.transfers] == [("population", "CANCEL")]
    assert detail.call.outcome == CallOutcome.ABANDONED


async def test_asterisk_ending_audiosocket_by_itself_is_recorded_as_the_operator_it_dialled(
    stack: CallStack,
) -> None:
    # Issue 12 item 1: AudioSocket() giving up (2 s without a frame either way on a real
    # Asterisk 22) sends the caller to reception through the dialplan; the record said
    # "abandoned" because the session took the closed socket for a hang-up.
    call = await stack.simulator.place_call("0470333444")
    await call.wait_heard(3200, timeout=15)
    call.end_audiosocket()
    await call.wait_ended(30)
    assert dialled(call) == [contract.DEFAULT_OPERATOR_EXTEN]
    assert call.actions == []  # no Setvar, no Redirect: the dialplan did it all
    detail = await stored(stack, str(call.call_id))
    assert detail.call.outcome == CallOutcome.OPERATOR
    assert [(t.target, t.extension, t.dial_status) for t in detail.transfers] == [
        ("operator", contract.DEFAULT_OPERATOR_EXTEN, "ANSWER")
    ]


async def test_a_caller_hanging_up_is_still_recorded_abandoned(
    stack: CallStack,
) -> None:
    call = await stack.simulator.place_call("0470333555")
    await call.wait_heard(3200, timeout=15)
    await call.hangup()
    detail = await stored(stack, str(call.call_id))
    assert detail.call.outcome == CallOutcome.ABANDONED
    assert detail.transfers == ()
