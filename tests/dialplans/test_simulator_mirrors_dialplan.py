"""The Asterisk simulator runs the shipped dialplan: every step it reports exists there.

For each Newexten event of the flows, extensions.conf must have the same application at
the same context, extension and priority, and when the step's data only depends on
values the test knows (globals, the extension, the variables it set over AMI), the
simulator must report exactly the data Asterisk would (Newexten shows it substituted).
"""

from __future__ import annotations

from collections import Counter

from tests.support.asterisk_conf import Dialplan, substitute
from voicebot.telephony import contract
from voicebot.telephony.ami_codec import AmiEvent

from .flows import FlowRun, run_flows, simulated_pbx, unused_port


def _known_values(dialplan: Dialplan, run: FlowRun, event: AmiEvent) -> dict[str, str]:
    call = next(c for c in run.calls if c.channel.name == event.get("Channel"))
    assigned = run.variables[str(call.call_id)]
    values = {
        **dialplan.globals,
        # Deployment values the simulator is given instead of the sample's.
        contract.GlobalVar.AUDIOSOCKET: f"127.0.0.1:{run.audiosocket_port}",
        contract.GlobalVar.FALLBACK_WAIT: f"{run.simulator.timing.fallback_wait:g}",
        "EXTEN": event.get("Exten") or "",
        "CHANNEL": call.channel.name,
        contract.VAR_UUID: str(call.call_id),
        contract.VAR_RING_TIMEOUT: dialplan.globals[contract.GlobalVar.RING_TIMEOUT],
    }
    # Channel variables the flow never set read as empty, as in Asterisk.
    values.update({str(v): "" for v in contract.ChannelVar if v not in values})
    values.update(assigned)
    return values


def _check_steps(dialplan: Dialplan, run: FlowRun) -> Counter[str]:
    compared: Counter[str] = Counter()
    steps = [e for e in run.events if e.name == "Newexten"]
    assert steps, "the simulator emitted no Newexten event"
    for event in steps:
        context_name = event.get("Context") or ""
        exten, priority = event.get("Exten") or "", int(event.get("Priority") or 0)
        where = f"{context_name},{exten},{priority} ({event.get('Application')})"
        extension = dialplan.context(context_name).match(exten)
        assert extension is not None, f"simulator ran {where}: no such extension"
        step = extension.step(priority)
        assert step is not None, f"simulator ran {where}: no such priority"
        assert step.app == event.get("Application"), f"{where}: extensions.conf has {step.app}"
        expected = substitute(step.data, _known_values(dialplan, run, event))
        if "${" not in expected:
            assert event.get("AppData") == expected, f"{where}: data differs"
            compared[step.app] += 1
    return compared


async def test_simulated_calls_only_run_steps_of_the_shipped_dialplan(
    dialplan: Dialplan,
) -> None:
    async with simulated_pbx() as pbx:
        run = await run_flows(pbx)
    compared = _check_steps(dialplan, run)
    for app in ("Dial", "Goto", "GotoIf", "TryExec", "UserEvent", "Wait", "Hangup"):
        assert compared[app], f"no {app} step had its data compared"
    contexts = {e.get("Context") for e in run.events if e.name == "Newexten"}
    assert contexts == {contract.INCOMING_CONTEXT, contract.DEPARTMENTS_CONTEXT}
    assert any(e.get("Exten") == "h" for e in run.events if e.name == "Newexten")


async def test_unreachable_assistant_follows_the_shipped_fallback(dialplan: Dialplan) -> None:
    async with simulated_pbx(audiosocket_port=unused_port()) as pbx:
        call = await pbx.run.simulator.place_call()
        pbx.run.calls.append(call)
        pbx.run.variables[str(call.call_id)] = {}
        await call.wait_ended(timeout=3)
        run = pbx.run
    _check_steps(dialplan, run)
    dialled = [
        e.get("Exten")
        for e in run.events
        if e.name == "Newexten" and e.get("Application") == "Dial"
    ]
    assert dialled == [dialplan.globals[contract.GlobalVar.OPERATOR]]
