"""The simulated dialplan: ``dialplans/extensions.conf``'s two contexts, step by step.

Mirrors what the project's dialplan does on a real Asterisk (context names and priorities
from ``voicebot/telephony/contract.py`` and the ``IncomingStep``/``DepartmentStep``
numbers below; tests/dialplans/ checks each Newexten the simulator emits against the
shipped extensions.conf)::

    [voicebot-incoming]  s: Answer(); Set(VB_UUID=${UUID()});
           UserEvent(VoicebotCall,UUID: ${VB_UUID},Channel: ${CHANNEL});
           TryExec(AudioSocket(${VB_UUID},host:port))   ; CHANNEL mode: Dial(AudioSocket/...)
           then, unless a Redirect moved the channel: VB_DONE=1 ? Hangup() : the operator
    [voicebot-departments]  _X.: Dial(PJSIP/${EXTEN},20,gr[A(${VB_WHISPER})]);
           UserEvent(VoicebotDialResult,UUID: ...,DialStatus: ${DIALSTATUS},Target: ${EXTEN});
           ANSWER: Hangup(); otherwise music for ``fallback_wait`` seconds so the assistant
           can Redirect, then the operator by itself (or Hangup() if the operator failed).
           h: a caller hanging up during Dial() still gets its VoicebotDialResult.

with the AMI events of each step (Newexten, VarSet, UserEvent, DialBegin/DialEnd, bridge
events) and the AudioSocket behaviour observed on Asterisk master: after a Redirect the
TCP connection is closed about 1 ms later, with no 0x00 message.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from voicebot.telephony import contract
from voicebot.telephony.ami_values import CDR_USERFIELD_BYTES, cdr_userfield
from voicebot.telephony.simulator.call import CallStage, SimulatedCall
from voicebot.telephony.simulator.channels import ChannelState, SimChannel, new_channel
from voicebot.telephony.simulator.events import ChannelEvents

EndCall = Callable[[SimulatedCall, int, tuple[str, ...]], None]
"""Simulator hook ending a call with a cause and the hangup-request events to emit."""

# Values of dialplans/extensions.conf [globals] that show in the simulated steps.
_RING_TIMEOUT = "20"
_RINGBACK = "r"
_DIAL_PREFIX = "PJSIP/"
_MOH_CLASS = "voicebot"
_SCREEN_POP = "yes"


class IncomingStep(IntEnum):
    """Priorities of extension ``s`` in the incoming context (extensions.conf)."""

    ANSWER = 1
    SET_UUID = 2
    USER_EVENT = 3
    AUDIOSOCKET = 4
    DONE_CHECK = 5
    TO_OPERATOR = 6
    HANGUP = 7


class DepartmentStep(IntEnum):
    """Priorities of the ``_X.`` extension of the departments context (extensions.conf)."""

    SET_DIALLED = 1
    DIAL_WITH_WHISPER = 8
    DIAL = 10
    USER_EVENT = 12
    START_MOH = 14
    WAIT = 15
    STOP_MOH = 16
    OPERATOR_CHECK = 17
    TO_OPERATOR = 18
    HANGUP = 19


class HangupStep(IntEnum):
    """Priorities of the ``h`` extension of the departments context."""

    CHECK = 1
    USER_EVENT = 2
    NOOP = 3


class DepartmentBehaviour(StrEnum):
    """How a department extension reacts when the assistant transfers a call to it."""

    ANSWER = "answer"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    UNAVAILABLE = "unavailable"


class AudioSocketMode(StrEnum):
    """How the simulated dialplan reaches the assistant."""

    APPLICATION = "application"
    """``TryExec(AudioSocket(uuid,host:port))``, as dialplans/extensions.conf does."""
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
    audiosocket_inactivity: float | None = 2.0
    """AudioSocket() ends after this long without a frame in either direction (2000 ms
    in app_audiosocket.c since Asterisk 22.4); None: never, as in older releases."""


class SimulatedDialplan:
    """Runs the incoming and departments contexts for simulated calls."""

    def __init__(
        self,
        events: ChannelEvents,
        end_call: EndCall,
        *,
        audiosocket_host: str,
        audiosocket_port: int,
        bot_context: str,
        department_context: str,
        operator_exten: str,
        mode: AudioSocketMode,
        timing: SimulatorTiming,
        dial_prefix: str = _DIAL_PREFIX,
        dial_suffix: str = "",
    ) -> None:
        self._ev = events
        self.dial_prefix = dial_prefix
        """VOICEBOT_DIAL_PREFIX: ``PJSIP/`` (one callee channel) or ``Local/`` (a pair, as
        FreePBX setups and the recorded Asterisk 22 run dial departments)."""
        self.dial_suffix = dial_suffix
        """VOICEBOT_DIAL_SUFFIX, e.g. ``@from-internal`` with ``Local/``."""
        self._end_call = end_call
        self.audiosocket_host = audiosocket_host
        self.audiosocket_port = audiosocket_port
        self.bot_context = bot_context
        self.department_context = department_context
        self.operator_exten = operator_exten
        self.mode = mode
        self.timing = timing
        self.departments: dict[str, DepartmentBehaviour] = {}
        """Behaviour per extension; unlisted extensions answer."""
        self._dialling: dict[uuid.UUID, tuple[str, str]] = {}
        # call -> (extension, DIALSTATUS so far) while Dial() runs: what the h extension
        # reports if the caller hangs up meanwhile.

    def announce(self, call: SimulatedCall) -> None:
        """Answer, Set(VB_UUID), UserEvent(VoicebotCall): the steps before AudioSocket."""
        channel = call.channel
        self._ev.newexten(channel, "Answer", "", call, priority=IncomingStep.ANSWER)
        if channel.state is not ChannelState.UP:
            self._ev.newstate(channel, ChannelState.UP, call)
        uuid_text = str(call.call_id)
        self._ev.newexten(
            channel, "Set", f"{contract.VAR_UUID}={uuid_text}", call, priority=IncomingStep.SET_UUID
        )
        self._ev.varset(channel, contract.VAR_UUID, uuid_text, call)
        call_event = contract.UserEventName.CALL
        body = f"{call_event},UUID: {uuid_text},Channel: {channel.name}"
        self._ev.newexten(channel, "UserEvent", body, call, priority=IncomingStep.USER_EVENT)
        self._ev.user_event(
            channel, call_event, [("UUID", uuid_text), ("Channel", channel.name)], call
        )

    async def run_bot_context(self, call: SimulatedCall) -> bool:
        """Answer, Set(VB_UUID), UserEvent(VoicebotCall), then AudioSocket.

        Returns False when the assistant could not be reached; the caller must then run
        ``run_after_audiosocket()`` (TryExec lets the dialplan go on to the operator).
        """
        self.announce(call)
        channel = call.channel
        uuid_text = str(call.call_id)
        service = f"{self.audiosocket_host}:{self.audiosocket_port}"
        try:
            if self.mode is AudioSocketMode.APPLICATION:
                self._ev.newexten(
                    channel,
                    "TryExec",
                    f"AudioSocket({uuid_text},{service})",
                    call,
                    priority=IncomingStep.AUDIOSOCKET,
                )
                # TryExec runs AudioSocket through pbx_exec(), which makes it the channel's
                # current application (what CoreShowChannels reports).
                channel.application, channel.app_data = "AudioSocket", f"{uuid_text},{service}"
                await call.connect(self.audiosocket_host, self.audiosocket_port)
            else:
                await self._dial_audiosocket_channel(call, service)
        except (OSError, TimeoutError) as exc:
            # res_audiosocket.c logs the failure and AudioSocket() returns -1; TryExec
            # carries on with the next priority.
            call.protocol_errors.append(f"cannot connect to AudioSocket {service}: {exc}")
            call.stage = CallStage.TRANSFERRED
            return False
        return True

    async def _dial_audiosocket_channel(self, call: SimulatedCall, service: str) -> None:
        channel = call.channel
        dial_data = f"{service}/{call.call_id}/c(slin)"
        self._ev.newexten(
            channel, "Dial", f"AudioSocket/{dial_data}", call, priority=IncomingStep.AUDIOSOCKET
        )
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
        try:
            await call.connect(self.audiosocket_host, self.audiosocket_port)
        except (OSError, TimeoutError):
            self._ev.hangup_channel(peer, 44, call)
            self._ev.dial("DialEnd", channel, peer, ("DialStatus", "CHANUNAVAIL"), call)
            raise
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

    async def run_after_audiosocket(self, call: SimulatedCall) -> None:
        """AudioSocket returned without a Redirect: hang up if VB_DONE=1, else the operator."""
        channel = call.channel
        done = channel.variables.get(contract.VAR_DONE) == contract.DONE_VALUE
        self._ev.newexten(
            channel,
            "GotoIf",
            f'$["{channel.variables.get(contract.VAR_DONE, "")}" = "{contract.DONE_VALUE}"]?done',
            call,
            priority=IncomingStep.DONE_CHECK,
        )
        if done:
            self._ev.newexten(channel, "Hangup", "", call, priority=IncomingStep.HANGUP)
            self._end_call(call, 16, ("SoftHangupRequest", "HangupRequest"))
            return
        self._ev.newexten(
            channel,
            "Goto",
            f"{self.department_context},{self.operator_exten},1",
            call,
            priority=IncomingStep.TO_OPERATOR,
        )
        await self._run_departments(call, self.operator_exten)

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
        self._dialling.pop(call.call_id, None)
        if context != self.department_context:
            self._ev.newexten(
                call.channel, "NoOp", "", call, context=context, exten=exten, priority=priority
            )
            return
        await self._run_departments(call, exten)

    async def _run_departments(self, call: SimulatedCall, exten: str | None) -> None:
        while exten is not None:
            exten = await self._dial_department(call, exten)

    async def _dial_department(self, call: SimulatedCall, exten: str) -> str | None:
        """One pass of the ``_X.`` extension; returns the next extension (the operator)."""
        channel = call.channel
        self._ev.newexten(
            channel,
            "Set",
            f"VB_DIALLED={exten}",
            call,
            context=self.department_context,
            exten=exten,
            priority=DepartmentStep.SET_DIALLED,
        )
        self._ev.varset(channel, "VB_DIALLED", exten, call)
        self._ev.varset(channel, "VB_RESULT_SENT", "0", call)
        self._write_call_report(channel, call)
        whisper = channel.variables.get(contract.VAR_WHISPER, "")
        timeout = channel.variables.get(contract.VAR_RING_TIMEOUT) or _RING_TIMEOUT
        options = f"g{_RINGBACK}" + (f"A({whisper})" if whisper else "")
        self._ev.newexten(
            channel,
            "Dial",
            f"{self.dial_prefix}{exten}{self.dial_suffix},{timeout},{options}",
            call,
            priority=DepartmentStep.DIAL_WITH_WHISPER if whisper else DepartmentStep.DIAL,
        )
        behaviour = self.departments.get(exten, DepartmentBehaviour.ANSWER)
        status, cause = _DIAL_OUTCOME[behaviour]
        self._dialling[call.call_id] = (exten, "CANCEL")
        if behaviour is not DepartmentBehaviour.UNAVAILABLE:
            await self._ring_department(call, exten, behaviour, cause)
        self._dialling.pop(call.call_id, None)
        self._ev.varset(channel, "VB_RESULT_SENT", "1", call)
        self._report_dial(call, DepartmentStep.USER_EVENT, status, exten)
        if behaviour is DepartmentBehaviour.ANSWER:
            self._hang_up_in_departments(call)
            return None
        self._ev.newexten(
            channel, "StartMusicOnHold", _MOH_CLASS, call, priority=DepartmentStep.START_MOH
        )
        self._ev.newexten(
            channel,
            "Wait",
            f"{self.timing.fallback_wait:g}",
            call,
            priority=DepartmentStep.WAIT,
        )
        await asyncio.sleep(self.timing.fallback_wait)
        self._ev.newexten(channel, "StopMusicOnHold", "", call, priority=DepartmentStep.STOP_MOH)
        self._ev.newexten(
            channel,
            "GotoIf",
            f'$["{exten}" = "{self.operator_exten}"]?done',
            call,
            priority=DepartmentStep.OPERATOR_CHECK,
        )
        if exten == self.operator_exten:
            self._hang_up_in_departments(call)
            return None
        self._ev.newexten(
            channel,
            "Goto",
            f"{self.department_context},{self.operator_exten},1",
            call,
            priority=DepartmentStep.TO_OPERATOR,
        )
        return self.operator_exten

    def _hang_up_in_departments(self, call: SimulatedCall) -> None:
        """``Hangup()``: the ``h`` extension runs after it too (it finds the result sent)."""
        self._ev.newexten(call.channel, "Hangup", "", call, priority=DepartmentStep.HANGUP)
        self._run_h(call, dialling=None)
        self._end_call(call, 16, ("SoftHangupRequest", "HangupRequest"))

    def _write_call_report(self, channel: SimChannel, call: SimulatedCall) -> None:
        """``Set(CDR(userfield)=voicebot|...)`` and the screen pop, as Asterisk does them:
        the userfield cut at 255 bytes (ast_copy_string(), whatever character it splits),
        CALLERID(name) from VB_SCREEN_POP as the assistant sent it."""
        get = channel.variables.get
        userfield = cdr_userfield(
            get(contract.VAR_UUID, ""),
            get(contract.VAR_TARGET, ""),
            get(contract.VAR_EXTEN, ""),
            get(contract.VAR_INTENT, ""),
            get(contract.VAR_LANG, ""),
            get(contract.VAR_SUMMARY, ""),
        )
        raw = userfield.encode("utf-8")[:CDR_USERFIELD_BYTES]
        channel.userfield = raw.decode("utf-8", errors="surrogateescape")
        if _SCREEN_POP == "yes" and get(contract.VAR_SCREEN_POP):
            self._ev.new_caller_id(channel, get(contract.VAR_SCREEN_POP, ""), call)

    def _report_dial(self, call: SimulatedCall, priority: int, status: str, target: str) -> None:
        event = contract.UserEventName.DIAL_RESULT
        self._ev.newexten(
            call.channel,
            "UserEvent",
            f"{event},UUID: {call.call_id},DialStatus: {status},Target: {target}",
            call,
            priority=priority,
        )
        self._ev.user_event(
            call.channel,
            event,
            [("UUID", str(call.call_id)), ("DialStatus", status), ("Target", target)],
            call,
        )

    def run_hangup_extension(self, call: SimulatedCall) -> None:
        """The caller hung up: in the departments context the ``h`` extension runs.

        It reports the interrupted Dial() (CANCEL while ringing, ANSWER once bridged);
        call it after the HangupRequest and before the channel's Hangup event.
        """
        if call.channel.context != self.department_context:
            return
        self._run_h(call, self._dialling.pop(call.call_id, None))

    def _run_h(self, call: SimulatedCall, dialling: tuple[str, str] | None) -> None:
        """The ``h`` extension; ``dialling`` is the Dial() it interrupts (none: result sent)."""
        channel = call.channel
        self._ev.newexten(
            channel,
            "GotoIf",
            f'$["{"0" if dialling else "1"}" != "0"]?end',
            call,
            exten="h",
            priority=HangupStep.CHECK,
        )
        if dialling is not None:
            target, status = dialling
            self._report_dial(call, HangupStep.USER_EVENT, status, target)
        self._ev.newexten(
            channel, "NoOp", f"voicebot call {call.call_id} ended", call, priority=HangupStep.NOOP
        )

    def callee_legs(self, call: SimulatedCall, exten: str) -> tuple[SimChannel, SimChannel]:
        """The channels Dial() creates: (dialled side, phone side); the same channel for
        ``PJSIP/``, the two halves of a Local channel for ``Local/``."""
        channel = call.channel
        if self.dial_prefix.lower() != "local/":
            callee = new_channel(
                f"{self.dial_prefix}{exten}",
                context="from-internal",
                exten=exten,
                linkedid=channel.linkedid,
                caller_num=channel.caller_num,
                caller_name=channel.caller_name,
            )
            return callee, callee
        target, _, context = f"{exten}{self.dial_suffix}".partition("@")
        one = new_channel(
            f"Local/{exten}{self.dial_suffix}",
            context=context or "default",
            exten="",
            linkedid=channel.linkedid,
            caller_num=exten,
            caller_name=channel.caller_name,
            suffix=";1",
        )
        two = new_channel(
            "",
            context=context or "default",
            exten=target,
            linkedid=channel.linkedid,
            caller_num=channel.caller_num,
            caller_name=channel.caller_name,
        )
        two.name = one.name[:-2] + ";2"
        return one, two

    async def _ring_department(
        self, call: SimulatedCall, exten: str, behaviour: DepartmentBehaviour, cause: int
    ) -> None:
        channel = call.channel
        dialled, phone = self.callee_legs(call, exten)
        pair = dialled is not phone
        legs = [dialled, phone] if pair else [dialled]
        call.related.extend(legs)
        for leg in legs:
            self._ev.newchannel(leg, call)
        self._ev.dial("DialBegin", channel, dialled, ("DialString", exten), call)
        if behaviour is DepartmentBehaviour.BUSY:
            await asyncio.sleep(0.01)
            # Recorded with Local legs: the dialled half 0 (Unknown), the Busy() one 17.
            self._hang_up_legs(call, legs, [0, cause] if pair else [cause])
            self._ev.dial("DialEnd", channel, dialled, ("DialStatus", "BUSY"), call)
            return
        self._ev.newstate(dialled, ChannelState.RINGING, call)
        await asyncio.sleep(self.timing.ring_time)
        if behaviour is DepartmentBehaviour.NO_ANSWER:
            self._hang_up_legs(call, legs, [0, 0] if pair else [cause])
            self._ev.dial("DialEnd", channel, dialled, ("DialStatus", "NOANSWER"), call)
            return
        for leg in legs:
            self._ev.newstate(leg, ChannelState.UP, call)
        self._ev.dial("DialEnd", channel, dialled, ("DialStatus", "ANSWER"), call)
        self._ev.new_connected_line(channel, exten, phone.caller_name, call)
        self._dialling[call.call_id] = (exten, "ANSWER")
        bridge_id = str(uuid.uuid4())
        self._ev.bridge("BridgeCreate", bridge_id, 0, None, call)
        self._ev.bridge("BridgeEnter", bridge_id, 1, channel, call)
        self._ev.bridge("BridgeEnter", bridge_id, 2, dialled, call)
        await asyncio.sleep(self.timing.talk_time)
        self._ev.bridge("BridgeLeave", bridge_id, 1, dialled, call)
        self._ev.bridge("BridgeLeave", bridge_id, 0, channel, call)
        # The agent hangs up: the phone side first, then the dialled half (recorded).
        self._hang_up_legs(call, list(reversed(legs)), [16] * len(legs))
        self._ev.bridge("BridgeDestroy", bridge_id, 0, None, call)

    def _hang_up_legs(self, call: SimulatedCall, legs: list[SimChannel], causes: list[int]) -> None:
        for leg, cause in zip(legs, causes, strict=True):
            self._ev.hangup_channel(leg, cause, call)
