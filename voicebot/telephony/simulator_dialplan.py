"""The simulated dialplan: the bot context and the departments context.

Mirrors what the project's dialplan does on a real Asterisk::

    [bot]  Answer(); Set(VB_UUID=${UUID()});
           UserEvent(VoicebotCall,UUID: ${VB_UUID},Channel: ${CHANNEL});
           AudioSocket(${VB_UUID},host:port)       ; or Dial(AudioSocket/host:port/uuid/c(slin))
    [departments]  Dial(PJSIP/${EXTEN},20);
           UserEvent(VoicebotDialResult,UUID: ...,DialStatus: ${DIALSTATUS},Target: ${EXTEN});
           Wait(fallback) when the dial failed, so the assistant can Redirect to the operator;
           Hangup()

with the AMI events of each step (Newexten, VarSet, UserEvent, DialBegin/DialEnd, bridge
events) and the AudioSocket behaviour observed on Asterisk master: after a Redirect the
TCP connection is closed about 1 ms later, with no 0x00 message.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from voicebot.telephony.simulator_call import CallStage, SimulatedCall
from voicebot.telephony.simulator_channels import ChannelState, new_channel
from voicebot.telephony.simulator_events import ChannelEvents

EndCall = Callable[[SimulatedCall, int, tuple[str, ...]], None]
"""Simulator hook ending a call with a cause and the hangup-request events to emit."""


class DepartmentBehaviour(StrEnum):
    """How a department extension reacts when the assistant transfers a call to it."""

    ANSWER = "answer"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    UNAVAILABLE = "unavailable"


class AudioSocketMode(StrEnum):
    """How the simulated dialplan reaches the assistant."""

    APPLICATION = "application"
    """``AudioSocket(uuid,host:port)`` dialplan application."""
    CHANNEL = "channel"
    """``Dial(AudioSocket/host:port/uuid/c(slin))`` through chan_audiosocket."""


_DIAL_OUTCOME = {
    DepartmentBehaviour.ANSWER: ("ANSWER", 16),
    DepartmentBehaviour.BUSY: ("BUSY", 17),
    DepartmentBehaviour.NO_ANSWER: ("NOANSWER", 19),
    DepartmentBehaviour.UNAVAILABLE: ("CHANUNAVAIL", 44),
}


@dataclass(frozen=True, slots=True)
class SimulatorTiming:
    """Delays of the simulated PBX, in seconds (short defaults keep tests fast)."""

    redirect_close_delay: float = 0.001
    """AudioSocket EOF after the Redirect response (about 1 ms on a real Asterisk)."""
    ring_time: float = 0.2
    """A department rings this long before answering or giving up."""
    talk_time: float = 0.3
    """An answered department call lasts this long."""
    fallback_wait: float = 5.0
    """After a failed Dial the channel waits this long for another Redirect."""


class SimulatedDialplan:
    """Runs the bot and departments contexts for simulated calls."""

    def __init__(
        self,
        events: ChannelEvents,
        end_call: EndCall,
        *,
        audiosocket_host: str,
        audiosocket_port: int,
        bot_context: str,
        department_context: str,
        mode: AudioSocketMode,
        timing: SimulatorTiming,
    ) -> None:
        self._ev = events
        self._end_call = end_call
        self.audiosocket_host = audiosocket_host
        self.audiosocket_port = audiosocket_port
        self.bot_context = bot_context
        self.department_context = department_context
        self.mode = mode
        self.timing = timing
        self.departments: dict[str, DepartmentBehaviour] = {}
        """Behaviour per extension; unlisted extensions answer."""

    async def run_bot_context(self, call: SimulatedCall, *, answer: bool) -> None:
        """Answer, Set(VB_UUID), UserEvent(VoicebotCall), then AudioSocket or Dial."""
        channel = call.channel
        priority = 1
        if answer:
            self._ev.newexten(channel, "Answer", "", call, priority=priority)
            self._ev.newstate(channel, ChannelState.UP, call)
            priority += 1
        uuid_text = str(call.call_id)
        self._ev.newexten(channel, "Set", f"VB_UUID={uuid_text}", call, priority=priority)
        self._ev.varset(channel, "VB_UUID", uuid_text, call)
        body = f"VoicebotCall,UUID: {uuid_text},Channel: {channel.name}"
        self._ev.newexten(channel, "UserEvent", body, call, priority=priority + 1)
        self._ev.user_event(
            channel, "VoicebotCall", [("UUID", uuid_text), ("Channel", channel.name)], call
        )
        service = f"{self.audiosocket_host}:{self.audiosocket_port}"
        if self.mode is AudioSocketMode.APPLICATION:
            self._ev.newexten(
                channel, "AudioSocket", f"{uuid_text},{service}", call, priority=priority + 2
            )
            await call.connect(self.audiosocket_host, self.audiosocket_port)
        else:
            await self._dial_audiosocket_channel(call, service, priority + 2)

    async def _dial_audiosocket_channel(
        self, call: SimulatedCall, service: str, priority: int
    ) -> None:
        channel = call.channel
        dial_data = f"{service}/{call.call_id}/c(slin)"
        self._ev.newexten(channel, "Dial", f"AudioSocket/{dial_data}", call, priority=priority)
        peer = new_channel(
            f"AudioSocket/{service}",
            context=channel.context,
            exten=channel.exten,
            linkedid=channel.linkedid,
        )
        # chan_audiosocket names its channel "AudioSocket/<service>-<uuid>".
        peer.name = f"AudioSocket/{service}-{call.call_id}"
        call.related.append(peer)
        self._ev.newchannel(peer, call)
        self._ev.dial("DialBegin", channel, peer, ("DialString", dial_data), call)
        await call.connect(self.audiosocket_host, self.audiosocket_port)
        self._ev.newstate(peer, ChannelState.UP, call)
        self._ev.dial("DialEnd", channel, peer, ("DialStatus", "ANSWER"), call)
        bridge_id = str(uuid.uuid4())
        channel.bridge_id = peer.bridge_id = bridge_id
        self._ev.bridge("BridgeCreate", bridge_id, 0, None, call)
        self._ev.bridge("BridgeEnter", bridge_id, 1, channel, call)
        self._ev.bridge("BridgeEnter", bridge_id, 2, peer, call)

    def leave_audiosocket_bridge(self, call: SimulatedCall) -> None:
        """Channel mode: BridgeLeave x2, Hangup of the AudioSocket channel, BridgeDestroy."""
        if self.mode is not AudioSocketMode.CHANNEL:
            return
        peer = next((c for c in call.related if c.name.startswith("AudioSocket/")), None)
        if peer is None or peer.hung_up:
            return
        bridge_id = peer.bridge_id
        self._ev.bridge("BridgeLeave", bridge_id, 1, call.channel, call)
        self._ev.bridge("BridgeLeave", bridge_id, 0, peer, call)
        self._ev.hangup_channel(peer, 16, call)
        self._ev.bridge("BridgeDestroy", bridge_id, 0, None, call)
        call.channel.bridge_id = ""

    async def run_redirect(
        self, call: SimulatedCall, context: str, exten: str, priority: int
    ) -> None:
        """After a Redirect: end AudioSocket with an EOF, then run the new extension."""
        if call.stage is CallStage.WITH_ASSISTANT:
            call.stage = CallStage.TRANSFERRED
            await asyncio.sleep(self.timing.redirect_close_delay)
            # Asterisk does not send 0x00: the AudioSocket application just ends.
            self.leave_audiosocket_bridge(call)
            call.close_socket()
        channel = call.channel
        if context != self.department_context:
            self._ev.newexten(
                channel, "NoOp", "", call, context=context, exten=exten, priority=priority
            )
            return
        behaviour = self.departments.get(exten, DepartmentBehaviour.ANSWER)
        dial_string = f"PJSIP/{exten}"
        self._ev.newexten(
            channel,
            "Dial",
            f"{dial_string},20",
            call,
            context=context,
            exten=exten,
            priority=priority,
        )
        status, cause = _DIAL_OUTCOME[behaviour]
        if behaviour is not DepartmentBehaviour.UNAVAILABLE:
            await self._ring_department(call, exten, behaviour, cause)
        self._ev.newexten(
            channel,
            "UserEvent",
            f"VoicebotDialResult,UUID: {call.call_id},DialStatus: {status},Target: {exten}",
            call,
            priority=priority + 1,
        )
        self._ev.user_event(
            channel,
            "VoicebotDialResult",
            [("UUID", str(call.call_id)), ("DialStatus", status), ("Target", exten)],
            call,
        )
        if behaviour is not DepartmentBehaviour.ANSWER:
            self._ev.newexten(
                channel, "Wait", f"{self.timing.fallback_wait:g}", call, priority=priority + 2
            )
            await asyncio.sleep(self.timing.fallback_wait)
        self._ev.newexten(channel, "Hangup", "", call, priority=priority + 3)
        self._end_call(call, 16, ("SoftHangupRequest", "HangupRequest"))

    async def _ring_department(
        self, call: SimulatedCall, exten: str, behaviour: DepartmentBehaviour, cause: int
    ) -> None:
        channel = call.channel
        callee = new_channel(
            f"PJSIP/{exten}",
            context="from-internal",
            exten=exten,
            linkedid=channel.linkedid,
            caller_num=channel.caller_num,
            caller_name=channel.caller_name,
        )
        call.related.append(callee)
        self._ev.newchannel(callee, call)
        self._ev.dial("DialBegin", channel, callee, ("DialString", exten), call)
        if behaviour is DepartmentBehaviour.BUSY:
            await asyncio.sleep(0.01)
            self._ev.hangup_channel(callee, cause, call)
            self._ev.dial("DialEnd", channel, callee, ("DialStatus", "BUSY"), call)
            return
        self._ev.newstate(callee, ChannelState.RINGING, call)
        await asyncio.sleep(self.timing.ring_time)
        if behaviour is DepartmentBehaviour.NO_ANSWER:
            self._ev.hangup_channel(callee, cause, call)
            self._ev.dial("DialEnd", channel, callee, ("DialStatus", "NOANSWER"), call)
            return
        self._ev.newstate(callee, ChannelState.UP, call)
        self._ev.dial("DialEnd", channel, callee, ("DialStatus", "ANSWER"), call)
        bridge_id = str(uuid.uuid4())
        self._ev.bridge("BridgeCreate", bridge_id, 0, None, call)
        self._ev.bridge("BridgeEnter", bridge_id, 1, channel, call)
        self._ev.bridge("BridgeEnter", bridge_id, 2, callee, call)
        await asyncio.sleep(self.timing.talk_time)
        self._ev.bridge("BridgeLeave", bridge_id, 1, callee, call)
        self._ev.bridge("BridgeLeave", bridge_id, 0, channel, call)
        self._ev.hangup_channel(callee, 16, call)
        self._ev.bridge("BridgeDestroy", bridge_id, 0, None, call)
