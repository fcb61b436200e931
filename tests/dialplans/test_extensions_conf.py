"""dialplans/extensions.conf provides every name the assistant relies on, consistently."""

from __future__ import annotations

import re

import pytest

from tests.support.asterisk_conf import (
    ConfFile,
    Dialplan,
    DialplanStep,
    goto_targets,
    split_app,
    split_args,
    substitute,
    variable_references,
)
from voicebot.knowledge.loader import load_kb, sample_kb_path
from voicebot.telephony import contract
from voicebot.telephony.ami_codec import AmiEvent, AmiHeaders
from voicebot.telephony.channels import ChannelDirectory, DialStatus
from voicebot.telephony.simulator import AsteriskSimulator

ASTERISK_VARIABLES = {
    "CHANNEL": "name of the current channel",
    "EXTEN": "current extension",
    "DIALSTATUS": "set by Dial()",
    "TRYSTATUS": "set by TryExec()",
    "INVALID_EXTEN": "set when a channel lands on the i extension",
}
"""Variables Asterisk sets itself (docs: Dialplan > Variables > Special variables)."""

CORE_APPS = {"Answer", "Set", "Goto", "GotoIf", "Hangup", "NoOp", "Wait"}
"""Applications of the PBX core (pbx_builtins.c, pbx_variables.c): always there."""
MODULE_OF = {
    "AudioSocket": "app_audiosocket.so",
    "TryExec": "app_exec.so",
    "ExecIf": "app_exec.so",
    "UserEvent": "app_userevent.so",
    "Dial": "app_dial.so",
    "StartMusicOnHold": "res_musiconhold.so",
    "StopMusicOnHold": "res_musiconhold.so",
    "UUID": "func_uuid.so",
    "LEN": "func_strings.so",
    "CALLERID": "func_callerid.so",
    "CDR": "func_cdr.so",
}
"""Module providing each loadable application and function the dialplan uses."""


def _steps_running(dialplan: Dialplan, app: str) -> list[DialplanStep]:
    """Steps running ``app`` directly or through TryExec/ExecIf."""
    found = []
    for step in dialplan.steps():
        if step.app == app:
            found.append(step)
        elif step.app in ("TryExec", "ExecIf"):
            inner = step.data.partition("?")[2] if step.app == "ExecIf" else step.data
            if inner and split_app(split_args(inner, ":")[0])[0] == app:
                found.append(step)
    return found


def _user_events(dialplan: Dialplan) -> list[tuple[DialplanStep, str, list[tuple[str, str]]]]:
    events = []
    for step in _steps_running(dialplan, "UserEvent"):
        name, *body = split_args(step.data)
        fields = [tuple(part.split(":", 1)) for part in body]
        assert all(len(f) == 2 for f in fields), f"{step.where}: body must be 'Key: value'"
        events.append((step, name, [(k.strip(), v.strip()) for k, v in fields]))
    return events


def test_contract_contexts_exist_and_the_simulator_defaults_to_them(dialplan: Dialplan) -> None:
    assert dialplan.context(contract.INCOMING_CONTEXT).match(contract.INCOMING_EXTEN)
    departments = dialplan.context(contract.DEPARTMENTS_CONTEXT)
    assert departments.match(contract.DEFAULT_OPERATOR_EXTEN)
    simulator = AsteriskSimulator()
    assert (simulator.bot_context, simulator.department_context, simulator.operator_exten) == (
        contract.INCOMING_CONTEXT,
        contract.DEPARTMENTS_CONTEXT,
        dialplan.globals[contract.GlobalVar.OPERATOR],
    )


def test_every_knowledge_base_extension_is_dialled_by_the_departments_context(
    dialplan: Dialplan,
) -> None:
    kb = load_kb(sample_kb_path())
    departments = dialplan.context(contract.DEPARTMENTS_CONTEXT)
    assert dialplan.globals[contract.GlobalVar.OPERATOR] == kb.operator.extension
    for extension in [kb.operator.extension, *(d.extension for d in kb.departments)]:
        matched = departments.match(extension)
        assert matched is not None, f"no extension of the departments context matches {extension}"
        assert any(s.app == "Dial" for s in matched.steps), f"{matched.name} does not Dial"


def test_globals_define_every_contract_global(dialplan: Dialplan) -> None:
    missing = {str(name) for name in contract.GlobalVar} - set(dialplan.globals)
    assert not missing, f"[globals] lacks {sorted(missing)}"
    assert re.fullmatch(r"[\w.-]+:\d+", dialplan.globals[contract.GlobalVar.AUDIOSOCKET])


def test_every_variable_read_is_set_somewhere(dialplan: Dialplan) -> None:
    set_by_dialplan = {
        match.group(1)
        for step in dialplan.steps()
        for match in re.finditer(r"Set\(([A-Za-z_]\w*)=", f"{step.app}({step.data})")
    }
    set_by_assistant = {str(v) for v in contract.ChannelVar if v is not contract.ChannelVar.UUID}
    known = set_by_dialplan | set_by_assistant | set(dialplan.globals) | set(ASTERISK_VARIABLES)
    for step in dialplan.steps():
        variables, _ = variable_references(step.data)
        unknown = variables - known
        assert not unknown, f"{step.where} reads {sorted(unknown)}, which nothing sets"


def test_every_channel_variable_of_the_contract_is_used(dialplan: Dialplan) -> None:
    read = set().union(*(variable_references(s.data)[0] for s in dialplan.steps()))
    unused = {str(v) for v in contract.ChannelVar} - read
    assert not unused, f"the dialplan never reads {sorted(unused)}"


def test_user_events_are_exactly_the_contract_ones(dialplan: Dialplan) -> None:
    seen: set[str] = set()
    for step, name, fields in _user_events(dialplan):
        event = contract.UserEventName(name)  # ValueError: an event the code does not know
        assert [k for k, _ in fields] == list(contract.USER_EVENT_FIELDS[event]), step.where
        assert dict(fields)["UUID"] == f"${{{contract.VAR_UUID}}}", step.where
        seen.add(name)
    assert seen == {str(e) for e in contract.UserEventName}


def _as_asterisk_sends(name: str, body: list[tuple[str, str]], channel: str) -> AmiEvent:
    """A dialplan UserEvent as manager_channels.c channel_user_event_cb() writes it:
    event and privilege, the channel snapshot, ``UserEvent``, then the body."""
    headers = [
        ("Event", "UserEvent"),
        ("Privilege", "user,all"),
        ("Channel", channel),
        ("Uniqueid", "1700000000.42"),
        ("Linkedid", "1700000000.42"),
        ("CallerIDNum", "0470000000"),
        ("UserEvent", name),
        *body,
    ]
    return AmiEvent("UserEvent", AmiHeaders(tuple(headers)))


@pytest.mark.parametrize("status", ["BUSY", "ANSWER", "CANCEL"])
def test_channel_directory_understands_every_event_as_the_dialplan_writes_it(
    dialplan: Dialplan, status: str
) -> None:
    call_id = "6f1c1a5e-8a63-4d8e-9a55-5f0d2a0c7b11"
    channel = "PJSIP/trunk-0000002a"
    target = "2004"
    values = {
        "VB_UUID": call_id,
        "CHANNEL": channel,
        "DIALSTATUS": status,
        "EXTEN": target,
        "VB_DIALLED": target,
        "INVALID_EXTEN": target,
    }
    events = _user_events(dialplan)
    (announce,) = [e for e in events if e[1] == contract.UserEventName.CALL]
    results = [e for e in events if e[1] == contract.UserEventName.DIAL_RESULT]
    assert len(results) == 3, "after Dial(), in the i and in the h extension"
    for step, name, fields in results:
        directory = ChannelDirectory()
        for event_name, body in ((announce[1], announce[2]), (name, fields)):
            substituted = [(k, substitute(v, values)) for k, v in body]
            directory.handle_event(_as_asterisk_sends(event_name, substituted, channel))
        entry = directory.channel_for(call_id)
        assert entry is not None and entry.channel == channel, step.where
        assert entry.caller_id_num == "0470000000"
        result = directory.dial_result_for(call_id)
        assert result is not None, step.where
        expected = "INVALIDARGS" if step.exten == "i" else status
        assert (result.status, result.target) == (DialStatus(expected), target), step.where


def test_priorities_are_consecutive_from_one(dialplan: Dialplan) -> None:
    for context in dialplan.contexts.values():
        for extension in context.extensions.values():
            numbers = [s.priority for s in extension.steps]
            assert numbers == list(range(1, len(numbers) + 1)), (
                f"{context.name},{extension.name}: priorities {numbers} have a gap "
                "(Asterisk stops at the first missing priority)"
            )


def test_every_goto_target_exists(dialplan: Dialplan) -> None:
    checked = 0
    for step in dialplan.steps():
        for target in goto_targets(step):
            context = dialplan.context(substitute(target.context or step.context, dialplan.globals))
            exten_name = substitute(target.exten or step.exten, dialplan.globals)
            assert "${" not in exten_name, f"{step.where}: cannot resolve {exten_name}"
            extension = (
                context.extensions.get(exten_name)
                if target.exten is None
                else context.match(exten_name)
            )
            assert extension is not None, f"{step.where}: no extension {exten_name}"
            found = (
                extension.step(int(target.priority))
                if target.priority.isdigit()
                else extension.labelled(target.priority)
            )
            assert found is not None, f"{step.where}: no priority/label {target.priority}"
            checked += 1
    assert checked >= 10


def test_audiosocket_runs_under_tryexec_then_falls_back_unless_done(dialplan: Dialplan) -> None:
    incoming = dialplan.context(contract.INCOMING_CONTEXT)
    extension = incoming.match(contract.INCOMING_EXTEN)
    assert extension is not None
    (audio,) = [s for s in extension.steps if s.app == "TryExec"]
    assert audio.data == "AudioSocket(${VB_UUID},${VOICEBOT_AUDIOSOCKET})"
    check = extension.step(audio.priority + 1)
    assert check is not None and check.app == "GotoIf"
    assert f'"${{{contract.VAR_DONE}}}" = "{contract.DONE_VALUE}"' in check.data
    fallback = extension.step(audio.priority + 2)
    assert fallback is not None and fallback.app == "Goto"
    assert fallback.data == f"{contract.DEPARTMENTS_CONTEXT},${{VOICEBOT_OPERATOR}},1"
    assert extension.step(audio.priority - 1) is not None
    announce = [s for s in extension.steps if s.app == "UserEvent"]
    assert announce and announce[0].priority < audio.priority, "announce before streaming"


def test_transfers_whisper_to_the_agent_and_continue_after_dial(dialplan: Dialplan) -> None:
    dials = _steps_running(dialplan, "Dial")
    assert dials
    for step in dials:
        target, timeout, options = split_args(step.data)
        assert target == "${VOICEBOT_DIAL_PREFIX}${EXTEN}${VOICEBOT_DIAL_SUFFIX}"
        assert timeout == f"${{{contract.VAR_RING_TIMEOUT}}}"
        assert options.startswith("g"), f"{step.where}: without g the result is never reported"
    assert any(f"A(${{{contract.VAR_WHISPER}}})" in s.data for s in dials)


def test_loadable_apps_and_functions_are_required_in_modules_conf(
    dialplan: Dialplan, modules_conf: ConfFile
) -> None:
    required = set(modules_conf.section("modules").get_all("require"))
    used: set[str] = set()
    for step in dialplan.steps():
        used.add(step.app)
        used |= variable_references(step.data)[1]
        used |= {m.group(1) for m in re.finditer(r"(?:^|[?:])\s*([A-Z][A-Za-z]+)\(", step.data)}
    for name in sorted(used - CORE_APPS):
        if name not in MODULE_OF:
            pytest.fail(f"{name}: which module provides it? add it to MODULE_OF")
        assert MODULE_OF[name] in required, f"{name} needs {MODULE_OF[name]} in modules.conf"
    assert {"res_audiosocket.so", "app_audiosocket.so"} <= required


def test_the_dialplan_never_slices_a_value_by_bytes(dialplan: Dialplan) -> None:
    # ${VAR:offset:length} counts bytes: ${VB_SUMMARY:0:40} sent a real Asterisk 22's
    # agent half an "é" as caller-id name. The assistant cuts values itself.
    for step in dialplan.steps():
        assert not re.search(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-?\d", step.data), (
            f"{step.where}: {step.data}"
        )


def test_the_screen_pop_is_the_assistants_value_as_sent(dialplan: Dialplan) -> None:
    pops = [s for s in dialplan.steps() if s.app == "Set" and s.data.startswith("CALLERID(name)=")]
    assert [s.data for s in pops] == [f"CALLERID(name)=${{{contract.VAR_SCREEN_POP}}}"]


def test_modules_conf_requires_only_what_the_voicebot_dialplan_needs(
    dialplan: Dialplan, modules_conf: ConfFile
) -> None:
    # Before: chan_pjsip and res_pjsip were required, and a real Asterisk 22 built without
    # a SIP stack exited at start ("Failed to load module chan_pjsip.so - Required").
    required = set(modules_conf.section("modules").get_all("require"))
    needed = set(MODULE_OF.values()) | {"res_audiosocket.so", "chan_audiosocket.so"}
    assert required <= needed, f"required without being used: {sorted(required - needed)}"
    assert {"chan_pjsip.so", "res_pjsip.so"} <= set(modules_conf.section("modules").get_all("load"))
