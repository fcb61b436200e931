"""A faithful Asterisk stand-in for tests, the demo and load tests.

``AsteriskSimulator`` combines the manager interface (``ami``) with a small PBX
model running the project's dialplan (dialplans/extensions.conf, contexts
``voicebot-incoming`` and ``voicebot-departments``, see ``dialplan``) and
emitting the AMI events a real Asterisk emits. What the voicebot user receives is held
against a capture of a real Asterisk 22.10.1 (tests/data/asterisk-22), scenario by
scenario, in tests/telephony/test_simulator_traces.py:

* Incoming call, incoming context: Newchannel (Ring), Newexten Answer, Newstate Up,
  Newexten Set, VarSet VB_UUID, Newexten UserEvent, UserEvent VoicebotCall (snapshot +
  ``UUID`` + ``Channel``), Newexten TryExec (``AudioSocket(uuid,host:port)``), then the
  AudioSocket TCP connection with its UUID. In ``AudioSocketMode.CHANNEL`` the last step
  is ``Dial(AudioSocket/host:port/uuid/c(slin))`` instead: Newchannel
  ``AudioSocket/host:port-<uuid>``, DialBegin, Newstate Up, DialEnd ANSWER, BridgeCreate,
  BridgeEnter x2 (and BridgeLeave x2, Hangup, BridgeDestroy at the end).
* ``place_call`` is a SIP caller (one channel); ``place_local_call`` a Local channel pair
  as the capture placed them, ``;2`` running the dialplan and ``;1`` the caller, whose
  half hangs up first when the caller does and last when the dialplan ends the call.
* When AudioSocket ends without a Redirect (the assistant closed it, sent 0x00 or
  something invalid, could not be reached, or 2 s passed without a frame either way):
  Hangup() if the assistant set VB_DONE=1, otherwise the operator extension is dialled
  like a department.
* Originate of ``Local/<exten>@<ctx>``: "Originate successfully queued", Newchannel ``;1``
  (Down), Newchannel ``;2`` (Ring), LocalBridge, DialBegin, OriginateResponse (an event
  that also carries ``Response:``), Newstate Up x2, DialEnd ANSWER; the half that enters
  the incoming context (``;2`` for ``Local/s@voicebot-incoming``) is the call's channel.
* Redirect of the caller's channel: "Redirect successful", AudioSocket EOF about 1 ms
  later (no 0x00), Newexten for the new extension, the Dial outcome per the department's
  configured behaviour reported as UserEvent VoicebotDialResult (UUID, DialStatus,
  Target), then the ``h`` extension (it runs after Hangup() too), SoftHangupRequest /
  HangupRequest / Hangup (cause 16). Cdr events only with ``cdr_manager``. After BUSY,
  NOANSWER or CHANUNAVAIL the channel waits ``fallback_wait`` seconds for another
  Redirect (to the operator) before dialling the operator itself. A caller hanging up
  during a Dial gets HangupRequest, the ``h`` extension's VoicebotDialResult (CANCEL or
  ANSWER), then Hangup. With ``dial_prefix="Local/"`` departments are Local pairs with
  the recorded hangup causes (busy: 0 and 17, no answer: 0 and 0).

Action replies reproduce main/manager.c: action_setvar() "Variable Set", action_getvar()
(Variable/Value), action_redirect() "Redirect successful" and its error texts,
action_hangup() "Channel Hungup", action_originate(), action_coreshowchannels() (list
events without Privilege, closed by CoreShowChannelsComplete/EventList: Complete).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import Coroutine, Mapping
from typing import Any

from voicebot.telephony import contract
from voicebot.telephony.ami_codec import AmiHeaders
from voicebot.telephony.simulator.ami import (
    PRIV_CALL,
    AmiSession,
    SimulatedAmiServer,
)
from voicebot.telephony.simulator.call import (
    CallStage,
    EmittedEvent,
    RecordedAction,
    SimulatedCall,
)
from voicebot.telephony.simulator.channels import (
    ChannelState,
    new_channel,
)
from voicebot.telephony.simulator.dialplan import (
    AudioSocketMode,
    DepartmentBehaviour,
    SimulatedDialplan,
    SimulatorTiming,
)
from voicebot.telephony.simulator.events import ChannelEvents
from voicebot.telephony.simulator.rights import VOICEBOT_RIGHTS, AmiUserRights

_LOGGER = logging.getLogger(__name__)


class AsteriskSimulator:
    """Simulated Asterisk: AMI server plus a PBX model placing calls to the assistant."""

    def __init__(
        self,
        *,
        audiosocket_host: str = "127.0.0.1",
        audiosocket_port: int = 9092,
        ami_host: str = "127.0.0.1",
        ami_port: int = 0,
        username: str = "voicebot",
        secret: str = "voicebot",
        ami_rights: AmiUserRights = VOICEBOT_RIGHTS,
        extra_ami_users: Mapping[str, tuple[str, AmiUserRights]] | None = None,
        ami_version: str = "11.0.0",
        auth_failure_delay: float = 1.0,
        bot_context: str = contract.INCOMING_CONTEXT,
        department_context: str = contract.DEPARTMENTS_CONTEXT,
        operator_exten: str = contract.DEFAULT_OPERATOR_EXTEN,
        mode: AudioSocketMode = AudioSocketMode.APPLICATION,
        timing: SimulatorTiming | None = None,
        dial_prefix: str = "PJSIP/",
        dial_suffix: str = "",
        cdr_manager: bool = False,
    ) -> None:
        self.ami = SimulatedAmiServer(
            self._handle_action,
            host=ami_host,
            port=ami_port,
            username=username,
            secret=secret,
            rights=ami_rights,
            extra_users=extra_ami_users,
            ami_version=ami_version,
            auth_failure_delay=auth_failure_delay,
        )
        self.audiosocket_host = audiosocket_host
        self.audiosocket_port = audiosocket_port
        self.bot_context = bot_context
        self.department_context = department_context
        self.operator_exten = operator_exten
        self.mode = mode
        self.timing = timing or SimulatorTiming()
        self.calls: list[SimulatedCall] = []
        self.actions: list[RecordedAction] = []
        """Every AMI action received, in order."""
        self.global_variables: dict[str, str] = {}
        self._ev = ChannelEvents(self.ami, cdr_manager=cdr_manager)
        self._dialplan = SimulatedDialplan(
            self._ev,
            lambda call, cause, requests: self._end_call(call, cause, requests=requests),
            audiosocket_host=audiosocket_host,
            audiosocket_port=audiosocket_port,
            bot_context=bot_context,
            department_context=department_context,
            operator_exten=operator_exten,
            mode=mode,
            timing=self.timing,
            dial_prefix=dial_prefix,
            dial_suffix=dial_suffix,
        )
        self.departments = self._dialplan.departments
        """Behaviour per extension; unlisted extensions answer."""
        self._call_by_channel: dict[str, SimulatedCall] = {}
        self._new_calls: asyncio.Queue[SimulatedCall] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()

    def connect_assistant(self, host: str, port: int) -> None:
        """Where AudioSocket() connects from now on (when the assistant's port is only
        known after the simulator started, as in the demo)."""
        self.audiosocket_host = self._dialplan.audiosocket_host = host
        self.audiosocket_port = self._dialplan.audiosocket_port = port

    # Life cycle ------------------------------------------------------------------------

    @property
    def events(self) -> list[EmittedEvent]:
        """Every AMI event emitted, in order."""
        return self._ev.events

    def emit_dtmf(self, call: SimulatedCall, digit: str, *, begin: bool) -> None:
        """DTMFBegin / DTMFEnd for a key the caller pressed."""
        self._ev.dtmf(call, digit, begin=begin)

    @property
    def ami_port(self) -> int:
        """Port of the manager interface."""
        return self.ami.port

    async def start(self) -> None:
        """Start the manager interface."""
        await self.ami.start()

    async def stop(self) -> None:
        """Stop everything: AMI sessions, calls and background tasks."""
        await self.ami.stop()
        for call in self.calls:
            call.stage = CallStage.ENDED
            await call.shutdown()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)

    async def stop_ami(self) -> None:
        """Take the manager interface down (calls keep running), as when AMI restarts."""
        await self.ami.stop()

    async def start_ami(self) -> None:
        """Bring the manager interface back on the same port."""
        await self.ami.start()

    def drop_ami_connections(self) -> None:
        """Abort all AMI client connections; the listener stays up."""
        self.ami.drop_connections()

    async def __aenter__(self) -> AsteriskSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def set_timing(self, **changes: Any) -> None:
        """Change some delays (``SimulatorTiming`` fields) for what happens from now on,
        e.g. a department that rings longer."""
        self.timing = self._dialplan.timing = dataclasses.replace(self.timing, **changes)

    def set_department(self, exten: str, behaviour: DepartmentBehaviour) -> None:
        """Choose how extension ``exten`` reacts to transfers."""
        self.departments[exten] = behaviour

    def _spawn(self, coro: Coroutine[Any, Any, object], name: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(_discard_result(coro), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # Placing calls ---------------------------------------------------------------------

    async def place_call(
        self, caller_id: str = "0470000000", caller_name: str = "", exten: str = "s"
    ) -> SimulatedCall:
        """An incoming PSTN/SIP call entering the bot context; returns once connected."""
        channel = new_channel(
            "PJSIP/citizen",
            context=self.bot_context,
            exten=exten,
            state=ChannelState.RING,
            caller_num=caller_id,
            caller_name=caller_name,
        )
        call = SimulatedCall(self, channel, uuid.uuid4())
        self._register(call)
        self._ev.newchannel(channel, call)
        await self._run_bot_context(call)
        return call

    def announce_call(self, caller_id: str = "0470000000") -> SimulatedCall:
        """A call the dialplan has announced (UserEvent VoicebotCall) whose AudioSocket
        connection the test opens itself, with ``call.call_id`` (raw-socket fault tests)."""
        channel = new_channel(
            "PJSIP/citizen",
            context=self.bot_context,
            exten="s",
            state=ChannelState.RING,
            caller_num=caller_id,
        )
        call = SimulatedCall(self, channel, uuid.uuid4())
        self._register(call)
        self._ev.newchannel(channel, call)
        self._dialplan.announce(call)
        return call

    async def _run_bot_context(self, call: SimulatedCall) -> None:
        if not await self._dialplan.run_bot_context(call):
            call.department_task = self._spawn(
                self._dialplan.run_after_audiosocket(call), name=f"fallback {call.channel.name}"
            )

    async def next_call(self, timeout: float) -> SimulatedCall:
        """The next call created by an AMI Originate, once it reached the assistant."""
        async with asyncio.timeout(timeout):
            return await self._new_calls.get()

    def call_for_channel(self, name: str) -> SimulatedCall | None:
        """The call owning channel ``name``."""
        return self._call_by_channel.get(name)

    def _register(self, call: SimulatedCall) -> None:
        call.inactivity_timeout = self.timing.audiosocket_inactivity
        self.calls.append(call)
        self._call_by_channel[call.channel.name] = call

    # Call endings ----------------------------------------------------------------------

    def on_assistant_gone(self, call: SimulatedCall) -> None:
        """The assistant closed AudioSocket (or sent 0x00, or an invalid message).

        AudioSocket() returns and TryExec goes on: the dialplan hangs up when the
        assistant set VB_DONE=1, and otherwise hands the caller to the operator.
        """
        if call.stage is not CallStage.WITH_ASSISTANT:
            return
        self._dialplan.leave_audiosocket_bridge(call)
        call.stage = CallStage.TRANSFERRED
        call.department_task = self._spawn(
            self._dialplan.run_after_audiosocket(call),
            name=f"after audiosocket {call.channel.name}",
        )

    def on_caller_hangup(self, call: SimulatedCall, *, with_assistant: bool) -> None:
        """The caller hung up (remote BYE): the caller's Local half first (as recorded),
        HangupRequest, the legs of a Dial() in progress, the ``h`` extension, Hangup."""
        if with_assistant:
            self._dialplan.leave_audiosocket_bridge(call)
        if call.caller_leg is not None:
            self._ev.hangup_channel(call.caller_leg, 16, call)
        self._ev.emit("HangupRequest", PRIV_CALL, [*call.channel.snapshot(), ("Cause", "16")], call)
        if call.department_task is not None and not call.department_task.done():
            call.department_task.cancel()
            for leg in call.related:
                if leg is not call.caller_leg and not leg.name.startswith("AudioSocket/"):
                    self._ev.hangup_channel(leg, 16, call)
        self._dialplan.run_hangup_extension(call)
        self._end_call(call, 16, requests=())

    def _end_call(self, call: SimulatedCall, cause: int, *, requests: tuple[str, ...]) -> None:
        if call.department_task is not None and call.department_task is not asyncio.current_task():
            call.department_task.cancel()
        call.close_socket()
        self._ev.hangup_channel(call.channel, cause, call, requests=requests)
        for other in call.related:
            self._ev.hangup_channel(other, cause, call)
        self._call_by_channel.pop(call.channel.name, None)
        call.mark_ended()

    # AMI actions -----------------------------------------------------------------------

    async def _handle_action(self, name: str, action: AmiHeaders, session: AmiSession) -> bool:
        record = RecordedAction(name, action, time.monotonic())
        self.actions.append(record)
        target = self._call_by_channel.get(action.get("Channel") or "")
        if target is not None:
            target.actions.append(record)
        handlers = {
            "setvar": self._action_setvar,
            "getvar": self._action_getvar,
            "redirect": self._action_redirect,
            "hangup": self._action_hangup,
            "originate": self._action_originate,
            "coreshowchannels": self._action_core_show_channels,
        }
        handler = handlers.get(name.lower())
        if handler is None:
            return False
        await handler(action, session)
        return True

    async def _action_setvar(self, action: AmiHeaders, session: AmiSession) -> None:
        name = action.get("Variable") or ""
        if not name:
            session.respond(action, "Error", "No variable specified")
            return
        value = action.get("Value") or ""
        channel_name = action.get("Channel") or ""
        if not channel_name:
            self.global_variables[name] = value
            session.respond(action, "Success", "Variable Set")
            return
        channel = self._ev.channels.get(channel_name)
        if channel is None:
            session.respond(action, "Error", "No such channel")
            return
        session.respond(action, "Success", "Variable Set")
        call = self._call_by_channel.get(channel_name)
        if call is not None:
            self._ev.varset(channel, name, value, call)
        else:
            channel.variables[name] = value

    async def _action_getvar(self, action: AmiHeaders, session: AmiSession) -> None:
        name = action.get("Variable") or ""
        if not name:
            session.respond(action, "Error", "No variable specified")
            return
        channel_name = action.get("Channel") or ""
        if channel_name:
            channel = self._ev.channels.get(channel_name)
            if channel is None:
                session.respond(action, "Error", "No such channel")
                return
            value = channel.variables.get(name, "")
        else:
            value = self.global_variables.get(name, "")
        session.respond(action, "Success", extra=[("Variable", name), ("Value", value)])

    async def _action_hangup(self, action: AmiHeaders, session: AmiSession) -> None:
        channel_name = action.get("Channel") or ""
        if not channel_name:
            session.respond(action, "Error", "No channel specified")
            return
        channel = self._ev.channels.get(channel_name)
        if channel is None:
            session.respond(action, "Error", "No such channel")
            return
        cause_text = action.get("Cause") or ""
        cause = int(cause_text) if cause_text.isdigit() and int(cause_text) <= 127 else 16
        session.respond(action, "Success", "Channel Hungup")
        call = self._call_by_channel.get(channel_name)
        if call is not None:
            self._dialplan.leave_audiosocket_bridge(call)
            self._end_call(call, cause, requests=("SoftHangupRequest",))
        else:
            channel.hung_up = True
            self._ev.channels.pop(channel_name, None)

    async def _action_redirect(self, action: AmiHeaders, session: AmiSession) -> None:
        for header in ("Channel", "Context", "Exten", "Priority"):
            if not action.get(header):
                session.respond(action, "Error", f"{header} not specified")
                return
        priority_text = action.require("Priority")
        if not priority_text.isdigit() or int(priority_text) < 1:
            session.respond(action, "Error", "Priority is invalid")
            return
        channel_name = action.require("Channel")
        call = self._call_by_channel.get(channel_name)
        if channel_name not in self._ev.channels or call is None:
            session.respond(action, "Error", f"Channel does not exist: {channel_name}")
            return
        if call.stage is CallStage.ENDED:
            session.respond(action, "Error", "Redirect failed, channel not up.")
            return
        context, exten = action.require("Context"), action.require("Exten")
        session.respond(action, "Success", "Redirect successful")
        call.transfers.append(f"{context},{exten},{priority_text}")
        if call.department_task is not None and not call.department_task.done():
            call.department_task.cancel()
        call.department_task = self._spawn(
            self._dialplan.run_redirect(call, context, exten, int(priority_text)),
            name=f"redirect {call.channel.name}",
        )

    async def _action_originate(self, action: AmiHeaders, session: AmiSession) -> None:
        target = action.get("Channel") or ""
        if not target:
            session.respond(action, "Error", "Channel not specified")
            return
        if "/" not in target:
            session.respond(action, "Error", "Invalid channel")
            return
        context = action.get("Context") or ""
        if context and context not in (self.bot_context, self.department_context):
            session.respond(action, "Error", "Extension does not exist.")
            return
        is_async = (action.get("Async") or "").lower() in ("true", "yes", "1", "on")
        if is_async:
            session.respond(action, "Success", "Originate successfully queued")
            self._spawn(self._originate(action, session), name=f"originate {target}")
        else:
            ok = await self._originate(action, session)
            if ok:
                session.respond(action, "Success", "Originate successfully queued")
            else:
                session.respond(action, "Error", "Originate failed")

    async def _originate(self, action: AmiHeaders, session: AmiSession) -> bool:
        target = action.require("Channel")
        tech, _, resource = target.partition("/")
        context = action.get("Context") or self.bot_context
        exten = action.get("Exten") or "s"
        caller_id = action.get("CallerID") or ""
        action_id = action.get("ActionID")
        id_fields = [("ActionID", action_id)] if action_id else []
        if tech.lower() != "local":
            # Only Local channels are simulated; report like a failed originate.
            self._ev.emit(
                "OriginateResponse",
                PRIV_CALL,
                [
                    *id_fields,
                    ("Response", "Failure"),
                    ("Channel", target),
                    ("Context", context),
                    ("Exten", exten),
                    ("Reason", "0"),
                    ("Uniqueid", "<null>"),
                    ("CallerIDNum", "<unknown>"),
                    ("CallerIDName", "<unknown>"),
                ],
            )
            return False
        await self._local_call(
            resource,
            context=context,
            exten=exten,
            caller_num=caller_id,
            caller_name="",
            id_fields=id_fields,
        )
        return True

    async def place_local_call(
        self, caller_id: str = "0470000000", caller_name: str = "", exten: str = "s"
    ) -> SimulatedCall:
        """A call as the recorded Asterisk 22 run placed them (a harness's ``Originate
        Local/<exten>@<bot context>``): ``;2`` runs the dialplan and is the channel the
        assistant sees, ``;1`` is the caller's side; returns once connected."""
        return await self._local_call(
            f"{exten}@{self.bot_context}",
            context="e2e-caller",
            exten="live",
            caller_num=caller_id,
            caller_name=caller_name,
            id_fields=[],
        )

    async def _local_call(
        self,
        resource: str,
        *,
        context: str,
        exten: str,
        caller_num: str,
        caller_name: str,
        id_fields: list[tuple[str, str]],
    ) -> SimulatedCall:
        """A Local channel pair: ``;2`` starts at ``resource`` (exten@context), ``;1`` runs
        ``context``,``exten``. Whichever half enters the bot context is the call's."""
        local_exten, _, local_context = resource.partition("@")
        one = new_channel(
            f"Local/{resource}",
            context=context,
            exten=exten,
            caller_num=caller_num,
            caller_name=caller_name,
            suffix=";1",
        )
        two = new_channel(
            "",
            context=local_context or "default",
            exten=local_exten or "s",
            state=ChannelState.RING,
            caller_num=caller_num,
            caller_name=caller_name,
            linkedid=one.linkedid,
        )
        two.name = one.name[:-2] + ";2"
        two.connected_num, two.connected_name = caller_num, caller_name
        dialplan_half, caller_half = (two, one) if two.context == self.bot_context else (one, two)
        call = SimulatedCall(self, dialplan_half, uuid.uuid4())
        call.related.append(caller_half)
        call.caller_leg = caller_half
        self._register(call)
        self._ev.newchannel(one, call)
        self._ev.newchannel(two, call)
        local_fields = [
            *one.snapshot("LocalOne"),
            *two.snapshot("LocalTwo"),
            ("Context", two.context),
            ("Exten", two.exten),
            ("LocalOptimization", "No"),
        ]
        self._ev.emit("LocalBridge", PRIV_CALL, local_fields, call)
        self._ev.dial("DialBegin", None, one, ("DialString", resource), call)
        # The recorded order of OriginateResponse against LocalBridge, DialBegin and the
        # answer varies from call to call: nothing may rely on it.
        self._ev.emit(
            "OriginateResponse",
            PRIV_CALL,
            [
                *id_fields,
                ("Response", "Success"),
                ("Channel", one.name),
                ("Context", context),
                ("Exten", exten),
                ("Reason", "4"),
                ("Uniqueid", one.uniqueid),
                ("CallerIDNum", caller_num or "<unknown>"),
                ("CallerIDName", caller_name or "<unknown>"),
            ],
            call,
        )
        self._ev.newstate(two, ChannelState.UP, call)
        self._ev.newstate(one, ChannelState.UP, call)
        self._ev.dial("DialEnd", None, one, ("DialStatus", "ANSWER"), call)
        if dialplan_half.context == self.bot_context:
            await self._run_bot_context(call)
        else:
            self._ev.newexten(dialplan_half, "NoOp", "simulated citizen", call)
        self._new_calls.put_nowait(call)
        return call

    async def _action_core_show_channels(self, action: AmiHeaders, session: AmiSession) -> None:
        session.respond(action, "Success", "Channels will follow", event_list="start")
        action_id = action.get("ActionID")
        id_fields = [("ActionID", action_id)] if action_id else []
        now = time.time()
        for channel in list(self._ev.channels.values()):
            seconds = int(now - channel.created_at)
            duration = f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
            # astman_append() output: no Privilege line, ActionID first.
            session.send(
                [
                    ("Event", "CoreShowChannel"),
                    *id_fields,
                    *channel.snapshot(),
                    ("Application", channel.application),
                    ("ApplicationData", channel.app_data),
                    ("Duration", duration),
                    ("BridgeId", channel.bridge_id),
                ]
            )
        session.send(
            [
                # Recorded on 22.10.1: ActionID second, as in every list event.
                ("Event", "CoreShowChannelsComplete"),
                *id_fields,
                ("EventList", "Complete"),
                ("ListItems", str(len(self._ev.channels))),
            ]
        )


async def _discard_result(coro: Coroutine[Any, Any, object]) -> None:
    try:
        await coro
    except asyncio.CancelledError:
        raise
    except Exception:
        _LOGGER.exception("simulator task failed")
