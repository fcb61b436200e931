"""Emission and record of the AMI events of simulated channels.

Besides the events the voicebot user receives (UserEvent, Hangup), a real stream carries
VarSet, NewCallerid, NewConnectedLine, Newexten... for users that read them: they are
emitted too, and the manager interface filters per user as manager.conf says.

Each helper builds one event exactly as main/manager_channels.c does: the channel
snapshot (``SimChannel.snapshot()``) first, then the event's own fields. Privileges follow
the event classes in the AMI event documentation (CALL, DIALPLAN, USER, DTMF, CDR).
"""

from __future__ import annotations

import time

from voicebot.telephony.ami_codec import AmiHeaders
from voicebot.telephony.simulator.ami import (
    PRIV_CALL,
    PRIV_CDR,
    PRIV_DIALPLAN,
    PRIV_DTMF,
    PRIV_USER,
    Fields,
    SimulatedAmiServer,
)
from voicebot.telephony.simulator.call import EmittedEvent, SimulatedCall
from voicebot.telephony.simulator.channels import (
    CAUSE_TEXT,
    ChannelState,
    SimChannel,
    bridge_fields,
)


class ChannelEvents:
    """Broadcasts channel events on the simulated AMI and keeps the live channel table."""

    def __init__(self, ami: SimulatedAmiServer, *, cdr_manager: bool = False) -> None:
        self._ami = ami
        self.cdr_manager = cdr_manager
        """Emit Cdr events (only with cdr_manager loaded; the recorded 22.10.1 had none)."""
        self.events: list[EmittedEvent] = []
        """Every event emitted, in order."""
        self.channels: dict[str, SimChannel] = {}
        """Live channels by name (what CoreShowChannels lists)."""

    def emit(
        self, name: str, privilege: str, fields: Fields, call: SimulatedCall | None = None
    ) -> None:
        """Broadcast an event and record it (globally and on ``call``)."""
        self._ami.broadcast(name, privilege, fields)
        record = EmittedEvent(name, AmiHeaders(tuple(fields)))
        self.events.append(record)
        if call is not None:
            call.events.append(record)

    def newchannel(self, channel: SimChannel, call: SimulatedCall | None) -> None:
        """Newchannel: register the channel and announce it."""
        self.channels[channel.name] = channel
        self.emit("Newchannel", PRIV_CALL, channel.snapshot(), call)

    def newstate(self, channel: SimChannel, state: ChannelState, call: SimulatedCall) -> None:
        """Newstate: the channel changed state."""
        channel.state = state
        if state is ChannelState.UP and channel.answered_at is None:
            channel.answered_at = time.time()
        self.emit("Newstate", PRIV_CALL, channel.snapshot(), call)

    def newexten(
        self,
        channel: SimChannel,
        application: str,
        data: str,
        call: SimulatedCall,
        *,
        context: str | None = None,
        exten: str | None = None,
        priority: int | None = None,
    ) -> None:
        """Newexten: the channel runs a new dialplan step."""
        channel.context = context or channel.context
        channel.exten = exten or channel.exten
        channel.priority = priority or channel.priority
        channel.application, channel.app_data = application, data
        self.emit("Newexten", PRIV_DIALPLAN, channel.newexten_fields(), call)

    def varset(self, channel: SimChannel, name: str, value: str, call: SimulatedCall) -> None:
        """VarSet: a channel variable was set."""
        channel.variables[name] = value
        fields = [*channel.snapshot(), ("Variable", name), ("Value", value)]
        self.emit("VarSet", PRIV_DIALPLAN, fields, call)

    def new_caller_id(self, channel: SimChannel, name: str, call: SimulatedCall) -> None:
        """NewCallerid: CALLERID(name) was set (the screen pop)."""
        channel.caller_name = name
        fields = [
            *channel.snapshot(),
            ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)"),
        ]
        self.emit("NewCallerid", PRIV_CALL, fields, call)

    def new_connected_line(
        self, channel: SimChannel, number: str, name: str, call: SimulatedCall
    ) -> None:
        """NewConnectedLine: the channel now talks with ``number`` (an answered Dial)."""
        channel.connected_num, channel.connected_name = number, name
        self.emit("NewConnectedLine", PRIV_CALL, channel.snapshot(), call)

    def user_event(self, channel: SimChannel, name: str, body: Fields, call: SimulatedCall) -> None:
        """UserEvent: snapshot, ``UserEvent`` name, then the body (channel_user_event_cb())."""
        # manager_channels.c channel_user_event_cb(): snapshot, UserEvent, then the body.
        fields = [*channel.snapshot(), ("UserEvent", name), *body]
        self.emit("UserEvent", PRIV_USER, fields, call)

    def dial(
        self,
        name: str,
        caller: SimChannel | None,
        dest: SimChannel,
        last: tuple[str, str],
        call: SimulatedCall,
    ) -> None:
        """DialBegin/DialEnd: caller snapshot, ``Dest``-prefixed callee snapshot, last field."""
        fields = [*(caller.snapshot() if caller else []), *dest.snapshot("Dest"), last]
        self.emit(name, PRIV_CALL, fields, call)

    def bridge(
        self, name: str, bridge_id: str, count: int, channel: SimChannel | None, call: SimulatedCall
    ) -> None:
        """Bridge events: bridge snapshot, then the channel's when one entered or left."""
        fields = bridge_fields(bridge_id, count) + (channel.snapshot() if channel else [])
        self.emit(name, PRIV_CALL, fields, call)

    def hangup_channel(
        self,
        channel: SimChannel,
        cause: int,
        call: SimulatedCall,
        *,
        requests: tuple[str, ...] = (),
        cdr_destination: str = "",
    ) -> None:
        """Optional (Soft)HangupRequest events, then Hangup (Cause, Cause-txt) and Cdr."""
        if channel.hung_up:
            return
        for request in requests:
            self.emit(request, PRIV_CALL, [*channel.snapshot(), ("Cause", str(cause))], call)
        channel.hung_up = True
        fields = [
            *channel.snapshot(),
            ("Cause", str(cause)),
            ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown")),
        ]
        self.emit("Hangup", PRIV_CALL, fields, call)
        if self.cdr_manager:
            disposition = "ANSWERED" if channel.answered_at else "NO ANSWER"
            self.emit("Cdr", PRIV_CDR, channel.cdr_fields(cdr_destination, disposition), call)
        self.channels.pop(channel.name, None)

    def dtmf(self, call: SimulatedCall, digit: str, *, begin: bool) -> None:
        """DTMFBegin / DTMFEnd for a key the caller pressed (Direction: Received)."""
        snapshot = call.channel.snapshot()
        if begin:
            fields = [*snapshot, ("Digit", digit), ("Direction", "Received")]
            self.emit("DTMFBegin", PRIV_DTMF, fields, call)
        else:
            fields = [*snapshot, ("Digit", digit), ("DurationMs", "100"), ("Direction", "Received")]
            self.emit("DTMFEnd", PRIV_DTMF, fields, call)
