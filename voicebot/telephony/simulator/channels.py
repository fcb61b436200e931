"""Simulated Asterisk channels and the exact AMI field lists of their events.

Field names and order follow the AMI event documentation on docs.asterisk.org
(Asterisk 18/20/22 "API_Documentation/AMI_Events/<Name>") and main/manager_channels.c:
every channel event starts with the channel snapshot (Channel, ChannelState,
ChannelStateDesc, CallerIDNum, CallerIDName, ConnectedLineNum, ConnectedLineName,
Language, AccountCode, Context, Exten, Priority, Uniqueid, Linkedid), two-channel events
repeat it with a prefix (``Dest`` for DialBegin/DialEnd, ``LocalOne``/``LocalTwo`` for
LocalBridge), unknown caller ids read ``<unknown>`` (S_OR(..., "<unknown>")), and
caller-id and connected-line names come C-escaped (ast_escape_c(): a recorded Asterisk
22.10.1 sent ``n\\'ont`` for "n'ont").
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final


class ChannelState(IntEnum):
    """enum ast_channel_state (include/asterisk/channelstate.h)."""

    DOWN = 0
    RSRVD = 1
    OFFHOOK = 2
    DIALING = 3
    RING = 4
    RINGING = 5
    UP = 6
    BUSY = 7


# ast_state2str() spellings, as listed under ChannelStateDesc in the Newchannel docs.
STATE_DESC: Final = {
    ChannelState.DOWN: "Down",
    ChannelState.RSRVD: "Rsrvd",
    ChannelState.OFFHOOK: "OffHook",
    ChannelState.DIALING: "Dialing",
    ChannelState.RING: "Ring",
    ChannelState.RINGING: "Ringing",
    ChannelState.UP: "Up",
    ChannelState.BUSY: "Busy",
}

# include/asterisk/causes.h and ast_cause2str().
CAUSE_TEXT: Final = {
    0: "Unknown",
    16: "Normal Clearing",
    17: "User busy",
    19: "User alerting, no answer",
    21: "Call Rejected",
    34: "Circuit/channel congestion",
    44: "Requested channel not available",
}


class _Counters:
    """Channel-name sequence numbers and Uniqueid generator (epoch.sequence)."""

    def __init__(self) -> None:
        self._seq = itertools.count(1)
        self._epoch = int(time.time())

    def next_sequence(self) -> int:
        return next(self._seq)

    def uniqueid(self, seq: int) -> str:
        return f"{self._epoch}.{seq}"


COUNTERS: Final = _Counters()


@dataclass(slots=True)
class SimChannel:
    """Mutable state of one simulated channel."""

    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    priority: int = 1
    state: ChannelState = ChannelState.DOWN
    caller_num: str = ""
    caller_name: str = ""
    connected_num: str = ""
    connected_name: str = ""
    language: str = "en"
    accountcode: str = ""
    application: str = ""
    app_data: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    answered_at: float | None = None
    bridge_id: str = ""
    hung_up: bool = False
    userfield: str = ""
    """CDR(userfield) as Asterisk stored it (bytes beyond 255 cut, surrogate-escaped)."""

    def snapshot(self, prefix: str = "") -> list[tuple[str, str]]:
        """The channel-state fields (ast_manager_build_channel_state_string_prefix())."""
        return [
            (f"{prefix}Channel", self.name),
            (f"{prefix}ChannelState", str(int(self.state))),
            (f"{prefix}ChannelStateDesc", STATE_DESC[self.state]),
            (f"{prefix}CallerIDNum", self.caller_num or "<unknown>"),
            (f"{prefix}CallerIDName", escape_c(self.caller_name) or "<unknown>"),
            (f"{prefix}ConnectedLineNum", self.connected_num or "<unknown>"),
            (f"{prefix}ConnectedLineName", escape_c(self.connected_name) or "<unknown>"),
            (f"{prefix}Language", self.language),
            (f"{prefix}AccountCode", self.accountcode),
            (f"{prefix}Context", self.context),
            (f"{prefix}Exten", self.exten),
            (f"{prefix}Priority", str(self.priority)),
            (f"{prefix}Uniqueid", self.uniqueid),
            (f"{prefix}Linkedid", self.linkedid),
        ]

    def newexten_fields(self) -> list[tuple[str, str]]:
        """Newexten: snapshot + Extension (deprecated copy of Exten) + Application + AppData."""
        return [
            *self.snapshot(),
            ("Extension", self.exten),
            ("Application", self.application),
            ("AppData", self.app_data),
        ]

    def cdr_fields(self, destination_channel: str, disposition: str) -> list[tuple[str, str]]:
        """Cdr event body (cdr/cdr_manager.c field list)."""
        end = time.time()
        answered = self.answered_at
        fmt = "%Y-%m-%d %H:%M:%S"
        return [
            ("AccountCode", self.accountcode),
            ("Source", self.caller_num),
            ("Destination", self.exten),
            ("DestinationContext", self.context),
            ("CallerID", f'"{self.caller_name}" <{self.caller_num}>'),
            ("Channel", self.name),
            ("DestinationChannel", destination_channel),
            ("LastApplication", self.application),
            ("LastData", self.app_data),
            ("StartTime", time.strftime(fmt, time.localtime(self.created_at))),
            ("AnswerTime", time.strftime(fmt, time.localtime(answered)) if answered else ""),
            ("EndTime", time.strftime(fmt, time.localtime(end))),
            ("Duration", str(int(end - self.created_at))),
            ("BillableSeconds", str(int(end - answered)) if answered else "0"),
            ("Disposition", disposition),
            ("AMAFlags", "DOCUMENTATION"),
            ("UniqueID", self.uniqueid),
            ("UserField", self.userfield),
        ]


_C_ESCAPES: Final = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "?": "\\?",
}


def escape_c(text: str) -> str:
    """ast_escape_c() (main/utils.c): C escapes for controls, backslash, quotes and '?'."""
    return "".join(_C_ESCAPES.get(char, char) for char in text)


def new_channel(
    name_prefix: str,
    *,
    context: str,
    exten: str,
    state: ChannelState = ChannelState.DOWN,
    caller_num: str = "",
    caller_name: str = "",
    linkedid: str | None = None,
    suffix: str = "",
) -> SimChannel:
    """A channel named ``<name_prefix>-<8 hex digits><suffix>`` like chan_pjsip/Local."""
    seq = COUNTERS.next_sequence()
    uniqueid = COUNTERS.uniqueid(seq)
    return SimChannel(
        name=f"{name_prefix}-{seq:08x}{suffix}",
        uniqueid=uniqueid,
        linkedid=linkedid or uniqueid,
        context=context,
        exten=exten,
        state=state,
        caller_num=caller_num,
        caller_name=caller_name,
    )


def bridge_fields(bridge_id: str, channels: int) -> list[tuple[str, str]]:
    """Bridge snapshot fields (BridgeCreate/BridgeEnter/BridgeLeave/BridgeDestroy docs)."""
    return [
        ("BridgeUniqueid", bridge_id),
        ("BridgeType", "basic"),
        ("BridgeTechnology", "simple_bridge"),
        ("BridgeCreator", "<unknown>"),
        ("BridgeName", "<unknown>"),
        ("BridgeNumChannels", str(channels)),
        ("BridgeVideoSourceMode", "none"),
    ]
