"""`voicebot serve` as a subprocess on a Saturday night: departments and operator closed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.e2e.conversation import (
    AssistantRenders,
    place_call,
    talk_over_greeting,
    wait_until_heard,
)
from tests.e2e.served import SATURDAY_NIGHT, ServedAssistant, serve_assistant
from tests.support.caller import CallerVoice, say
from voicebot.dialog.prompts import PromptBook

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(
    tmp_path_factory: pytest.TempPathFactory, serve_cache: Path
) -> AsyncIterator[ServedAssistant]:
    workdir = tmp_path_factory.mktemp("serve-closed")
    async with serve_assistant(workdir, serve_cache, {"simulated_time": SATURDAY_NIGHT}) as served:
        yield served


async def test_closed_department_gives_its_hours_and_records_the_callback_accepted(
    served: ServedAssistant, voice: CallerVoice, prompts: PromptBook, renders: AssistantRenders
) -> None:
    request = "je voudrais déclarer la naissance de mon fils"
    caller = "0470000201"
    call = await place_call(served, caller, [request, "oui"])
    await talk_over_greeting(call, await voice.speech(request))
    closed = prompts.closed("civil_status", "fr")
    assert "Il est ouvert le lundi" in closed.text  # the weekly hours are part of it
    await wait_until_heard(call, renders.pcm(closed), timeout=40)
    # The operator is closed too: the only offer is a callback by the department.
    await wait_until_heard(call, renders.pcm(prompts.offer_callback("civil_status", "fr")), 20)
    await say(call, await voice.speech("oui"))
    await wait_until_heard(call, renders.pcm(prompts.callback_recorded("fr")), timeout=20)
    await call.hangup()  # satisfied: no need to hear "anything else?"

    assert call.transfers == []
    assert call.action_names() == []
    call_id = str(call.call_id)
    record = await served.call_record(call_id)
    assert record["outcome"] == "callback"
    assert record["department"] == "civil_status"
    assert record["transfers"] == []
    assert [(turn["intent"], turn["action"]) for turn in record["turns"]] == [
        ("civil_status", "closed"),
        ("yes", "callback"),
    ]
    assert record["turns"][0]["reply_text"].startswith(closed.text)
    assert [(c["department"], c["status"]) for c in record["callbacks"]] == [
        ("civil_status", "pending")
    ]
    response = await served.get("/api/callbacks", key=served.operator_key)
    assert response.status_code == 200, response.text
    queued = [item for item in response.json()["data"] if item["call_id"] == call_id]
    assert len(queued) == 1
    assert queued[0]["department"] == "civil_status"
    assert queued[0]["language"] == "fr"
    assert queued[0]["caller_number"] == caller
    assert queued[0]["note"] == request
    assert queued[0]["status"] == "pending"
