"""The AMI client, channel directory and call control against recorded Asterisk sessions.

``AmiTraceReplay`` plays Asterisk's side of each recorded call; the test plays the app's
part through the project's own ``AmiClient``, ``ChannelDirectory`` and
``AmiCallControl`` (the calls the call session makes), and the replay checks that every
action the client sends equals the recorded one, field by field.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.telephony import traces
from tests.telephony.ami_replay import AmiTraceReplay
from voicebot.calls.agent_notice import agent_notice
from voicebot.calls.control import AmiCallControl, transfer_variables
from voicebot.dialog import Transfer
from voicebot.dialog.actions import TransferSummary
from voicebot.knowledge.loader import load_kb, sample_kb_path
from voicebot.telephony import contract
from voicebot.telephony.ami import AmiClient, AmiSettings
from voicebot.telephony.channels import ChannelDirectory

WHISPER_PCM = bytes(320)
KB = load_kb(sample_kb_path())
"""The capture's knowledge base: the sample one (waste 2003, civil status 2002...)."""


def _recorded_transfers(blocks: list[traces.AmiBlock]) -> list[Transfer]:
    """The transfers the app made in a recording, rebuilt from its Setvar values."""
    transfers: list[Transfer] = []
    values: dict[str, str] = {}
    for block in blocks:
        if block.from_asterisk:
            continue
        if block.first == ("Action", "Setvar"):
            values[block.get("Variable") or ""] = block.get("Value") or ""
        elif block.first == ("Action", "Redirect"):
            target = values[contract.VAR_TARGET]
            transfers.append(
                Transfer(
                    extension=block.get("Exten") or "",
                    target=target,
                    summary=TransferSummary(
                        intent=values[contract.VAR_INTENT],
                        department=None if target == contract.OPERATOR_TARGET else target,
                        transcript=values[contract.VAR_SUMMARY],
                        language=values[contract.VAR_LANG],
                    ),
                )
            )
            values = {}
    return transfers


def with_screen_pops(blocks: list[traces.AmiBlock], values: list[str]) -> list[traces.AmiBlock]:
    """The recording with the Setvar VB_SCREEN_POP added after each transfer's VB_WHISPER.

    The one deliberate change since the capture: the dialplan used to cut the screen pop
    from VB_SUMMARY in bytes (``${VB_SUMMARY:0:40}``); the assistant now sends it cut to
    whole characters. Asterisk answers it like every Setvar ("Variable Set").
    """
    out: list[traces.AmiBlock] = []
    remaining = iter(values)
    whisper: traces.AmiBlock | None = None
    for block in blocks:
        out.append(block)
        if block.first == ("Action", "Setvar") and block.get("Variable") == contract.VAR_WHISPER:
            whisper = block
        elif whisper is not None and block.get("ActionID") == whisper.get("ActionID"):
            action_id = f"{whisper.get('ActionID')}-screen-pop".encode()
            channel = (whisper.get("Channel") or "").encode()
            value = next(remaining).encode()
            out.append(
                traces.AmiBlock(
                    traces.FROM_APP,
                    block.t,
                    (
                        b"Action: Setvar",
                        b"ActionID: " + action_id,
                        b"Channel: " + channel,
                        b"Variable: " + contract.VAR_SCREEN_POP.encode(),
                        b"Value: " + value,
                    ),
                )
            )
            out.append(
                traces.AmiBlock(
                    traces.FROM_ASTERISK,
                    block.t,
                    (b"Response: Success", b"ActionID: " + action_id, b"Message: Variable Set"),
                )
            )
            whisper = None
    return out


def _dial_statuses(blocks: list[traces.AmiBlock]) -> list[str]:
    return [
        b.get("DialStatus") or ""
        for b in blocks
        if b.from_asterisk and b.get("UserEvent") == contract.UserEventName.DIAL_RESULT
    ]


async def _client(port: int) -> tuple[AmiClient, ChannelDirectory]:
    client = AmiClient(
        AmiSettings(
            port=port,
            username="voicebot",
            secret="not-recorded",
            action_timeout=2.0,
            ping_interval=3600.0,
            reconnect_initial_delay=0.01,
        )
    )
    directory = ChannelDirectory()
    directory.attach(client)
    await client.connect(timeout=20)
    return client, directory


TRANSFER_CALLS = ["transfer", "busy", "noanswer", "cancel", "dtmf3", "dtmf0", "utf8"]


@pytest.mark.parametrize("name", TRANSFER_CALLS)
async def test_transfers_send_the_recorded_actions_and_read_the_recorded_results(
    name: str, tmp_path: Path
) -> None:
    blocks = traces.load_ami(name)
    call = traces.calls()[name]["audiosocket"]
    transfers = _recorded_transfers(blocks)
    statuses = _dial_statuses(blocks)
    assert transfers and len(statuses) == len(transfers)
    notices = [agent_notice(KB, transfer) for transfer in transfers]
    pops = [
        transfer_variables(call["uuid"], t, "", n.screen_pop)[contract.VAR_SCREEN_POP]
        for t, n in zip(transfers, notices, strict=True)
    ]
    async with AmiTraceReplay([with_screen_pops(blocks, pops)]) as replay:
        client, directory = await _client(replay.port)
        try:
            control = AmiCallControl(client, directory, sounds_dir=tmp_path)
            caller = await control.caller(call["uuid"])
            assert caller is not None and caller.channel == call["channel"]
            for transfer, status, notice in zip(transfers, statuses, notices, strict=True):
                await control.transfer(
                    call["uuid"],
                    caller.channel,
                    transfer,
                    WHISPER_PCM,
                    screen_pop=notice.screen_pop,
                )
                assert await control.dial_result(call["uuid"], timeout=20) == status
            await replay.wait_finished(3.0)
            hangup = await directory.wait_hangup(call["uuid"], timeout=20)
        finally:
            await client.close()
    assert replay.mismatches == []
    assert hangup.channel == call["channel"]
    for pop in pops:
        assert 0 < len(pop) <= contract.SCREEN_POP_MAX_CHARS
    assert (tmp_path / f"{contract.WHISPER_SOUND_PREFIX}{call['uuid']}.sln").exists()


@pytest.mark.parametrize("name", ["faq", "after-reload"])
async def test_a_call_the_assistant_ends_sets_vb_done_as_recorded(name: str) -> None:
    blocks = traces.load_ami(name)
    call = traces.calls()[name]["audiosocket"]
    async with AmiTraceReplay([blocks]) as replay:
        client, directory = await _client(replay.port)
        try:
            control = AmiCallControl(client, directory)
            caller = await control.caller(call["uuid"])
            assert caller is not None
            await control.mark_done(call["uuid"], caller.channel)
            hangup = await directory.wait_hangup(call["uuid"], timeout=20)
            await replay.wait_finished(3.0)
        finally:
            await client.close()
    assert replay.mismatches == []
    assert hangup.cause == 16


@pytest.mark.parametrize("name", ["greeting", "hangup"])
async def test_a_caller_hanging_up_is_seen_on_the_calls_own_channel(name: str) -> None:
    blocks = traces.load_ami(name)
    call = traces.calls()[name]["audiosocket"]
    async with AmiTraceReplay([blocks]) as replay:
        client, directory = await _client(replay.port)
        try:
            entry = await directory.wait_channel(call["uuid"], timeout=20)
            hangup = await directory.wait_hangup(call["uuid"], timeout=20)
            await replay.wait_finished(3.0)
        finally:
            await client.close()
    assert replay.mismatches == []
    assert entry.channel == call["channel"]
    assert entry.linkedid == call["linkedid"]
    assert hangup.channel == call["channel"]


async def test_after_an_inactivity_timeout_the_dialplan_result_names_the_operator() -> None:
    blocks = traces.load_ami("mute")
    call = traces.calls()["mute"]["audiosocket"]
    async with AmiTraceReplay([blocks]) as replay:
        client, directory = await _client(replay.port)
        try:
            control = AmiCallControl(client, directory)
            assert await control.caller(call["uuid"]) is not None
            result = await directory.wait_dial_result(call["uuid"], timeout=20)
            await replay.wait_finished(3.0)
        finally:
            await client.close()
    assert replay.mismatches == []
    assert (str(result.status), result.target) == ("ANSWER", contract.DEFAULT_OPERATOR_EXTEN)


async def test_after_a_restart_the_client_logs_in_again_and_resyncs() -> None:
    first = traces.load_ami("session-1")[:3]  # banner, Login, its response; then a FIN
    blocks = traces.load_ami("after-restart")
    call = traces.calls()["after-restart"]["audiosocket"]
    async with AmiTraceReplay([first, blocks]) as replay:
        client, directory = await _client(replay.port)
        try:
            control = AmiCallControl(client, directory)
            caller = await control.caller(call["uuid"])
            assert caller is not None
            await control.mark_done(call["uuid"], caller.channel)
            await replay.wait_finished(3.0)
            await directory.wait_hangup(call["uuid"], timeout=20)
        finally:
            await client.close()
    assert replay.connections == 2
    assert client.connections_made == 2
    assert replay.mismatches == []
