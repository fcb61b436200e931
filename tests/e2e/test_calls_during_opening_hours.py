"""`voicebot serve` as a subprocess, one process for the module, on a Monday morning.

Each test places real calls through the Asterisk simulator: the caller's speech is
synthesized (espeak-ng) and streamed in real time, voice activity detection and
endpointing run on it inside the served process, only the words come from the per-call
transcript script. What the caller hears is compared byte for byte with the assistant's
own rendering of the expected sentences. One test follows a call on the operator console
in Chromium (the card with why the call came, as it is decided).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from tests.e2e.conversation import (
    BYTES_PER_SECOND,
    AssistantRenders,
    has_heard,
    place_call,
    talk_over_greeting,
    wait_until_heard,
)
from tests.e2e.served import OPEN_HOURS, ServedAssistant, serve_assistant
from tests.support.caller import CallerVoice, say, wait_quiet
from tests.web.axe import axe_available, axe_violations
from tests.web.cdp import Browser, chromium_available
from voicebot.accounts.passwords import FAST_TEST_COST, PasswordHashing
from voicebot.accounts.store import AccountStore
from voicebot.calllog.models import Call, Turn
from voicebot.dialog.prompts import PromptBook
from voicebot.live.events import call_key
from voicebot.telephony import contract
from voicebot.telephony.simulator import DepartmentBehaviour, SimulatedCall

pytestmark = pytest.mark.asyncio(loop_scope="module")

NOT_UNDERSTOOD = "blablabla quelle heure est il sur mars"
OPERATOR, OPERATOR_PASSWORD = "luc.janssens", "le beffroi sonne à midi"
TWO_SECONDS = 2 * BYTES_PER_SECOND


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(
    tmp_path_factory: pytest.TempPathFactory, serve_cache: Path
) -> AsyncIterator[ServedAssistant]:
    workdir = tmp_path_factory.mktemp("serve-open-hours")
    async with serve_assistant(workdir, serve_cache, {"simulated_time": OPEN_HOURS}) as served:
        yield served


def setvars(call: SimulatedCall) -> list[tuple[str, str]]:
    """(variable, value) of every Setvar on the call's channel, in order."""
    return [
        (action.headers.require("Variable"), action.headers.get("Value") or "")
        for action in call.actions
        if action.name == "Setvar"
    ]


def redirects(call: SimulatedCall) -> list[list[str]]:
    """[channel, context, exten, priority] of every Redirect, in order."""
    return [
        [action.headers.require(h) for h in ("Channel", "Context", "Exten", "Priority")]
        for action in call.actions
        if action.name == "Redirect"
    ]


def turns_of(record: dict[str, Any]) -> list[tuple[str, str]]:
    """(intent, action) of each turn of a call record."""
    return [(turn["intent"], turn["action"]) for turn in record["turns"]]


def transfers_of(record: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    """(target, extension, dial status, fallback) of each transfer of a call record."""
    return [
        (item["target"], item["extension"], item["dial_status"], item["fallback"])
        for item in record["transfers"]
    ]


async def test_faq_question_is_answered_aloud_and_logged_with_its_intent(
    served: ServedAssistant, voice: CallerVoice, prompts: PromptBook, renders: AssistantRenders
) -> None:
    question = "quelle est l'adresse de la maison communale"
    call = await place_call(served, "0470000101", [question, "non merci au revoir"])
    await talk_over_greeting(call, await voice.speech(question))
    await wait_until_heard(call, renders.pcm(prompts.faq_answer("address", "fr")), timeout=60)
    await wait_until_heard(call, renders.pcm(prompts.anything_else("fr")), timeout=15)
    await say(call, await voice.speech("non merci au revoir"))
    await call.wait_ended(20)

    assert has_heard(call, renders.pcm(prompts.goodbye("fr")))
    assert call.transfers == []
    assert setvars(call) == [(contract.VAR_DONE, contract.DONE_VALUE)]
    assert call.hangup_from_assistant
    record = await served.call_record(str(call.call_id))
    assert record["outcome"] == "answered"
    assert record["contained"] is True
    assert record["department"] is None
    assert turns_of(record) == [("faq:address", "answer"), ("goodbye", "goodbye")]
    assert [turn["transcript"] for turn in record["turns"]] == [question, "non merci au revoir"]
    assert record["turns"][0]["reply_text"].startswith(prompts.faq_answer("address", "fr").text)


async def test_department_request_sets_the_transfer_variables_then_redirects(
    served: ServedAssistant, voice: CallerVoice, prompts: PromptBook, renders: AssistantRenders
) -> None:
    request = "mes poubelles n'ont pas été ramassées ce matin"
    call = await place_call(served, "0470000102", [request])
    await talk_over_greeting(call, await voice.speech(request))
    await call.wait_ended(30)

    assert has_heard(call, renders.pcm(prompts.transfer("waste", "fr")))
    variables = setvars(call)
    assert [name for name, _ in variables] == list(contract.ASSISTANT_SET_VARIABLES)
    values = dict(variables)
    assert values[contract.VAR_TARGET] == "waste"
    assert values[contract.VAR_EXTEN] == "2003"
    assert values[contract.VAR_INTENT] == "waste"
    assert values[contract.VAR_SUMMARY] == request
    assert values[contract.VAR_LANG] == "fr"
    # Every Setvar comes before the Redirect, which alone moves the channel.
    assert call.action_names() == ["Setvar"] * len(contract.ASSISTANT_SET_VARIABLES) + ["Redirect"]
    assert redirects(call) == [
        [call.channel.name, contract.DEPARTMENTS_CONTEXT, "2003", str(contract.TRANSFER_PRIORITY)]
    ]
    assert call.transfers == [f"{contract.DEPARTMENTS_CONTEXT},2003,1"]
    record = await served.call_record(str(call.call_id))
    assert record["outcome"] == "transferred"
    assert record["department"] == "waste"
    assert turns_of(record) == [("waste", "transfer")]
    assert transfers_of(record) == [("waste", "2003", "ANSWER", None)]


async def test_busy_department_falls_back_to_the_operator_with_a_second_redirect(
    served: ServedAssistant, voice: CallerVoice
) -> None:
    request = "je voudrais déclarer la naissance de mon fils"
    served.simulator.set_department("2002", DepartmentBehaviour.BUSY)
    try:
        call = await place_call(served, "0470000103", [request])
        await talk_over_greeting(call, await voice.speech(request))
        await call.wait_ended(40)
    finally:
        served.simulator.set_department("2002", DepartmentBehaviour.ANSWER)

    department = contract.DEPARTMENTS_CONTEXT
    assert call.transfers == [f"{department},2002,1", f"{department},1000,1"]
    names = ["Setvar"] * len(contract.ASSISTANT_SET_VARIABLES) + ["Redirect"]
    assert call.action_names() == names + names
    targets = [value for name, value in setvars(call) if name == contract.VAR_TARGET]
    assert targets == ["civil_status", "operator"]
    record = await served.call_record(str(call.call_id))
    assert record["outcome"] == "operator"
    assert record["department"] == "civil_status"
    assert turns_of(record) == [("civil_status", "transfer"), ("transfer_failed", "operator")]
    assert transfers_of(record) == [
        ("civil_status", "2002", "BUSY", "operator"),
        ("operator", "1000", "ANSWER", None),
    ]


@pytest.mark.parametrize(
    ("digit", "target", "extension", "outcome", "department"),
    [("3", "waste", "2003", "transferred", "waste"), ("0", "operator", "1000", "operator", None)],
)
async def test_dtmf_menu_after_two_misunderstood_requests_transfers_by_key(
    served: ServedAssistant,
    voice: CallerVoice,
    prompts: PromptBook,
    renders: AssistantRenders,
    digit: str,
    target: str,
    extension: str,
    outcome: str,
    department: str | None,
) -> None:
    option = prompts.keypad.option(digit)  # the sample KB's keypad
    assert option is not None and option.target == target
    call = await place_call(served, f"047000011{digit}", [NOT_UNDERSTOOD, NOT_UNDERSTOOD])
    nonsense = await voice.speech(NOT_UNDERSTOOD)
    await talk_over_greeting(call, nonsense)
    # "Excusez-moi, je n'ai pas bien compris…": the caller talks over it again.
    await wait_until_heard(call, renders.pcm(prompts.rephrase("fr"))[:TWO_SECONDS], timeout=15)
    await say(call, nonsense)
    menu = renders.pcm(prompts.menu("fr"))
    # Keys are pressed while the menu is still being read, as callers do.
    await wait_until_heard(call, menu[:TWO_SECONDS], timeout=20)
    await call.send_dtmf(digit)
    await call.wait_ended(30)

    assert not has_heard(call, menu), "the key press should have cut the menu short"
    assert has_heard(call, renders.pcm(prompts.transfer(target, "fr")))
    assert call.transfers == [f"{contract.DEPARTMENTS_CONTEXT},{extension},1"]
    record = await served.call_record(str(call.call_id))
    assert record["outcome"] == outcome
    assert record["department"] == department
    action = "operator" if target == "operator" else "transfer"
    assert turns_of(record) == [("none", "rephrase"), ("none", "menu"), (f"dtmf:{digit}", action)]
    assert record["turns"][2]["dtmf"] == digit
    assert transfers_of(record) == [(target, extension, "ANSWER", None)]


async def test_caller_hanging_up_during_a_long_answer_is_logged_once_as_abandoned(
    served: ServedAssistant, voice: CallerVoice, prompts: PromptBook, renders: AssistantRenders
) -> None:
    question = "combien coûte un passeport"
    call = await place_call(served, "0470000104", [question])
    await talk_over_greeting(call, await voice.speech(question))
    answer = renders.pcm(prompts.faq_answer("passport", "fr"))
    await wait_until_heard(call, answer[:TWO_SECONDS], timeout=15)  # mid-sentence
    await call.hangup()
    call_id = str(call.call_id)
    ended = await served.live.wait_for(call_id, "call_ended", timeout=15)

    assert not has_heard(call, answer)
    assert ended["outcome"] == "abandoned"
    record = await served.call_record(call_id)
    assert record["outcome"] == "abandoned"
    assert record["contained"] is False
    assert turns_of(record) == [("faq:passport", "answer"), ("hangup", "answer_interrupted")]
    assert record["transfers"] == []
    assert call.action_names() == []  # nothing to tell Asterisk: the caller is gone
    with served.engine.connect() as connection:
        rows = connection.execute(
            select(func.count()).select_from(Call).where(Call.call_id == call_id)
        ).scalar_one()
    assert rows == 1
    assert len(served.live.of_call(call_id, "call_ended")) == 1
    assert "session failed" not in served.process.log()
    assert "Traceback" not in served.process.log()


async def test_every_call_is_logged_exactly_once_with_every_turn_the_dialog_took(
    served: ServedAssistant,
) -> None:
    if not served.placed:
        pytest.skip("checks the calls placed by the other tests of this module")
    for call_id in served.placed:
        await served.live.wait_for(call_id, "call_ended", timeout=20)
        await served.call_record(call_id)
    with served.engine.connect() as connection:
        rows_per_call: dict[str, int] = {}
        for row in connection.execute(select(Call.call_id, func.count()).group_by(Call.call_id)):
            rows_per_call[row.call_id] = row[1]
        turn_indexes: dict[str, list[int]] = {}
        for row in connection.execute(
            select(Call.call_id, Turn.turn_index)
            .join(Turn, Turn.call_pk == Call.id)
            .order_by(Call.call_id, Turn.turn_index)
        ):
            turn_indexes.setdefault(row.call_id, []).append(row.turn_index)
    assert rows_per_call == dict.fromkeys(served.placed, 1)
    # What the dialog said, turn by turn, on the live event stream of the running calls.
    said = {call_id: len(served.live.of_call(call_id, "turn")) for call_id in served.placed}
    for call_id in served.placed:
        (ended,) = served.live.of_call(call_id, "call_ended")
        indexes = [event["index"] for event in served.live.of_call(call_id, "turn")]
        assert indexes == list(range(said[call_id])) and ended["turns"] == said[call_id]
        assert turn_indexes.get(call_id, []) == list(range(said[call_id])), call_id
    listed = (await served.get("/api/calls?limit=100")).json()
    assert listed["count"] == len(served.placed)
    assert {item["call_id"]: item["turn_count"] for item in listed["data"]} == said
    log = served.process.log()
    assert " ERROR " not in log and "Traceback" not in log, log


async def test_a_caller_leg_sending_no_frames_for_10_s_keeps_the_assistant(
    served: ServedAssistant, voice: CallerVoice, prompts: PromptBook, renders: AssistantRenders
) -> None:
    # A real Asterisk 22 ends AudioSocket after 2 s without a frame in either direction
    # (the simulator does too). Before, the assistant sent nothing while it listened: a
    # caller leg without frames (silence suppression, hold) lost it 2 s after the
    # greeting, went to reception, and the call was recorded abandoned (issue 12 item 1).
    question = "quelle est l'adresse de la maison communale"
    call = await place_call(served, "0470000120", [question, "non merci au revoir"])
    await wait_quiet(call, quiet_s=0.5, timeout=30)  # the greeting is over; now only silence
    with pytest.raises(TimeoutError):
        await call.wait_socket_closed(timeout=10.0)  # ten seconds, not one frame from the caller
    assert not call.ended_by_inactivity
    assert call.frames_sent == 0
    await say(call, await voice.speech(question))
    await wait_until_heard(call, renders.pcm(prompts.faq_answer("address", "fr")), timeout=60)
    await wait_until_heard(call, renders.pcm(prompts.anything_else("fr")), timeout=15)
    await say(call, await voice.speech("non merci au revoir"))
    await call.wait_ended(20)

    assert call.transfers == []
    assert call.hangup_from_assistant
    record = await served.call_record(str(call.call_id))
    assert record["outcome"] == "answered"
    assert ("faq:address", "answer") in turns_of(record)


async def test_a_caller_who_only_uses_the_keypad_reaches_a_department_of_the_second_level(
    served: ServedAssistant, prompts: PromptBook, renders: AssistantRenders
) -> None:
    assert prompts.keypad.path_to("mobility") == "71"  # the sample KB's keypad
    call = await place_call(served, "0470000131", [])
    greeting = renders.pcm(prompts.greeting("fr"))
    # No word said: a key during the greeting opens the group, a second key chooses.
    await wait_until_heard(call, greeting[:TWO_SECONDS], timeout=15)
    await call.send_dtmf("7")
    group_menu = renders.pcm(prompts.menu("fr", "streets"))
    await wait_until_heard(call, group_menu[:TWO_SECONDS], timeout=15)
    await call.send_dtmf("1")
    await call.wait_ended(30)

    assert not has_heard(call, greeting), "the key should have cut the greeting short"
    assert has_heard(call, renders.pcm(prompts.transfer("mobility", "fr")))
    assert call.transfers == [f"{contract.DEPARTMENTS_CONTEXT},2007,1"]
    record = await served.call_record(str(call.call_id))
    assert turns_of(record) == [("dtmf:7", "menu"), ("dtmf:1", "transfer")]
    assert (record["outcome"], record["department"]) == ("transferred", "mobility")


async def test_a_caller_who_says_nothing_hears_the_keypad_menu_then_reaches_reception(
    served: ServedAssistant, prompts: PromptBook, renders: AssistantRenders
) -> None:
    call = await place_call(served, "0470000132", [])
    # Greeting, silence timeout, the whole menu, another timeout: about a minute.
    await call.wait_ended(120)

    assert has_heard(call, renders.pcm(prompts.menu("fr")))
    assert has_heard(call, renders.pcm(prompts.no_speech("fr")))
    assert has_heard(call, renders.pcm(prompts.transfer("operator", "fr")))
    assert call.transfers == [f"{contract.DEPARTMENTS_CONTEXT},1000,1"]
    record = await served.call_record(str(call.call_id))
    assert turns_of(record) == [("silence", "menu"), ("silence", "operator")]
    assert record["outcome"] == "operator"


def _open_console(browser: Browser, base: str) -> None:
    """Sign in as the operator and wait until the console's live feed is connected."""
    browser.goto(f"{base}/login?next=/console")
    browser.submit_and_wait(
        f"document.getElementById('name').value = {json.dumps(OPERATOR)};"
        f"document.getElementById('password').value = {json.dumps(OPERATOR_PASSWORD)};"
        "document.getElementById('login-form').submit();"
    )
    assert browser.evaluate("location.pathname") == "/console"
    browser.wait_for("document.getElementById('live-status').className === 'online'", 20.0)


def _card_reason(browser: Browser, key: str, reason: str, timeout: float) -> str:
    """The text of the call's card once it shows ``reason`` (bounded by ``timeout``)."""
    card = f"li.transfer[data-key={json.dumps(key)}][data-reason={json.dumps(reason)}]"
    text: str = browser.wait_for(
        f"(() => {{ const li = document.querySelector({json.dumps(card)});"
        " return li ? li.innerText : ''; })()",
        timeout,
    )
    return text


@pytest.mark.skipif(not chromium_available(), reason="Debian's chromium is not installed")
@pytest.mark.skipif(not axe_available(), reason="axe-core missing: run scripts/setup.sh")
async def test_the_operator_sees_a_busy_fallback_card_with_its_reason_as_it_is_decided(
    served: ServedAssistant,
    voice: CallerVoice,
    prompts: PromptBook,
    renders: AssistantRenders,
    tmp_path: Path,
) -> None:
    AccountStore(served.engine, PasswordHashing(FAST_TEST_COST)).create(
        OPERATOR, OPERATOR_PASSWORD, "operator", display_name="Luc Janssens"
    )
    browser = Browser(tmp_path / "chromium-profile")
    try:
        await asyncio.to_thread(_open_console, browser, served.process.api_url)
        request = "je voudrais déclarer la naissance de mon fils"
        announcement = renders.pcm(prompts.transfer("civil_status", "fr"))
        served.simulator.set_department("2002", DepartmentBehaviour.BUSY)
        try:
            call = await place_call(served, "0470000190", [request])
            key = call_key(str(call.call_id))
            await talk_over_greeting(call, await voice.speech(request))
            # The card comes with the decision: the caller is still hearing the announcement.
            await asyncio.to_thread(_card_reason, browser, key, "routed", 30.0)
            assert not has_heard(call, announcement), "the card came after the announcement"
            # État civil is busy: the same card now says the call comes to the operator, why.
            async with asyncio.timeout(40):
                while len(call.transfers) < 2:
                    await asyncio.sleep(0.02)
            redirected = time.monotonic()
            text = await asyncio.to_thread(_card_reason, browser, key, "busy", 30.0)
            print(
                f"busy-fallback card {1000 * (time.monotonic() - redirected):.0f} ms after the PBX got the operator's redirect"
            )
            await call.wait_ended(40)
        finally:
            served.simulator.set_department("2002", DepartmentBehaviour.ANSWER)
        assert "Le service État civil était occupé" in text and request in text
        assert str(call.call_id) not in browser.evaluate("document.documentElement.outerHTML")
        violations = await asyncio.to_thread(axe_violations, browser)
        assert violations == [], json.dumps(violations, indent=1, ensure_ascii=False)
        # After a reload, the card is still there (from the call log once the call is stored).
        await served.call_record(str(call.call_id))
        await asyncio.to_thread(browser.goto, f"{served.process.api_url}/console")
        assert "était occupé" in await asyncio.to_thread(_card_reason, browser, key, "busy", 10.0)
    finally:
        browser.close()
