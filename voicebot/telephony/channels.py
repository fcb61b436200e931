"""Which Asterisk channel carries which AudioSocket call, from the AMI event stream.

The dialplan announces each call before connecting its audio::

    Set(VB_UUID=${UUID()})
    UserEvent(VoicebotCall,UUID: ${VB_UUID},Channel: ${CHANNEL})
    AudioSocket(${VB_UUID},bot-host:9092)

and, after a transfer, reports the Dial outcome with
``UserEvent(VoicebotDialResult,UUID: ...,DialStatus: ${DIALSTATUS},Target: ...)``.
A UserEvent carries the channel snapshot first (Channel, Uniqueid, Linkedid...) and the
dialplan body after the ``UserEvent:`` header (main/manager_channels.c,
channel_user_event_cb()), so the snapshot's own ``Channel``/``Uniqueid`` are the first
values of those keys. AMI and AudioSocket are separate TCP connections, so the audio may
arrive before the event: ``wait_channel()`` bridges that race.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

from voicebot.telephony import contract
from voicebot.telephony.ami_codec import AmiEvent, AmiEventName

if TYPE_CHECKING:
    from voicebot.telephony.ami import AmiClient

_LOGGER = logging.getLogger(__name__)

_T = TypeVar("_T")

CALL_EVENT = contract.UserEventName.CALL
DIAL_RESULT_EVENT = contract.UserEventName.DIAL_RESULT


class DialStatus(StrEnum):
    """Values of ${DIALSTATUS} after Dial() (app_dial documentation)."""

    ANSWER = "ANSWER"
    BUSY = "BUSY"
    NOANSWER = "NOANSWER"
    CANCEL = "CANCEL"
    CONGESTION = "CONGESTION"
    CHANUNAVAIL = "CHANUNAVAIL"
    DONTCALL = "DONTCALL"
    TORTURE = "TORTURE"
    INVALIDARGS = "INVALIDARGS"


FALLBACK_STATUSES = frozenset(
    {DialStatus.BUSY, DialStatus.NOANSWER, DialStatus.CHANUNAVAIL, DialStatus.CONGESTION}
)
"""Outcomes after which the caller should be offered the operator instead."""


@dataclass(frozen=True, slots=True)
class CallChannel:
    """The Asterisk channel behind one AudioSocket call."""

    call_id: str
    """The UUID given to AudioSocket() (lower-case string form)."""
    channel: str
    """Channel name to use in Setvar/Redirect/Hangup."""
    uniqueid: str
    linkedid: str
    caller_id_num: str
    registered_at: float
    """time.monotonic() when the VoicebotCall event arrived."""


@dataclass(frozen=True, slots=True)
class ChannelHangup:
    """A registered channel went away."""

    call_id: str
    channel: str
    cause: int
    cause_txt: str


@dataclass(frozen=True, slots=True)
class DialResult:
    """What Dial() returned after the assistant transferred a call."""

    call_id: str
    status: DialStatus | str
    """A DialStatus, or the raw text if Asterisk sent something unknown."""
    target: str
    """The extension that was dialled."""

    @property
    def needs_fallback(self) -> bool:
        """True when nobody answered and the operator should take the call."""
        return self.status in FALLBACK_STATUSES


class ChannelDirectory:
    """Registry of call UUID -> channel, hangups and dial results, fed by AMI events."""

    def __init__(self, *, retention: float = 600.0) -> None:
        self._retention = retention
        self._by_call: dict[str, CallChannel] = {}
        self._call_by_uniqueid: dict[str, str] = {}
        self._hangups: dict[str, ChannelHangup] = {}
        self._dial_results: dict[str, DialResult] = {}
        # Replaced on every change: waiters re-check their lookup when it fires.
        self._changed = asyncio.Event()

    def attach(self, client: AmiClient) -> None:
        """Listen to ``client``'s events and resync after each reconnection."""
        client.add_event_listener(self.handle_event)

        async def resync() -> None:
            await self.resync(client)

        client.add_reconnect_hook(resync)

    # Queries ---------------------------------------------------------------------------

    def channel_for(self, call_id: str) -> CallChannel | None:
        """The channel registered for ``call_id``, if its event has arrived."""
        return self._by_call.get(call_id.lower())

    def hangup_for(self, call_id: str) -> ChannelHangup | None:
        """The hangup of the call's channel, if it happened."""
        return self._hangups.get(call_id.lower())

    def dial_result_for(self, call_id: str) -> DialResult | None:
        """The last Dial outcome reported for ``call_id``."""
        return self._dial_results.get(call_id.lower())

    async def wait_channel(self, call_id: str, timeout: float) -> CallChannel:
        """Wait for the VoicebotCall event of ``call_id``; ``TimeoutError`` naming it."""
        return await self._wait(call_id, self.channel_for, timeout, "VoicebotCall UserEvent")

    async def wait_hangup(self, call_id: str, timeout: float) -> ChannelHangup:
        """Wait until the call's channel is hung up."""
        return await self._wait(call_id, self.hangup_for, timeout, "Hangup")

    async def wait_dial_result(self, call_id: str, timeout: float) -> DialResult:
        """Wait for the VoicebotDialResult of ``call_id``; earlier results are cleared
        by ``clear_dial_result`` before a new transfer."""
        return await self._wait(call_id, self.dial_result_for, timeout, "VoicebotDialResult")

    async def wait_dial_result_or_hangup(
        self, call_id: str, timeout: float
    ) -> DialResult | ChannelHangup:
        """The VoicebotDialResult, or the channel's hangup when it comes first (Asterisk
        reports the result before the Hangup, so a hangup alone means the result was lost)."""

        def lookup(key: str) -> DialResult | ChannelHangup | None:
            return self.dial_result_for(key) or self.hangup_for(key)

        return await self._wait(call_id, lookup, timeout, "VoicebotDialResult or Hangup")

    def clear_dial_result(self, call_id: str) -> None:
        """Forget a previous dial result before transferring again."""
        self._dial_results.pop(call_id.lower(), None)

    def forget(self, call_id: str) -> None:
        """Drop everything known about a finished call."""
        key = call_id.lower()
        entry = self._by_call.pop(key, None)
        if entry is not None:
            self._call_by_uniqueid.pop(entry.uniqueid, None)
        self._hangups.pop(key, None)
        self._dial_results.pop(key, None)

    def __len__(self) -> int:
        return len(self._by_call)

    async def _wait(
        self, call_id: str, lookup: Callable[[str], _T | None], timeout: float, what: str
    ) -> _T:
        try:
            async with asyncio.timeout(timeout):
                while (found := lookup(call_id)) is None:
                    await self._changed.wait()
                return found
        except TimeoutError:
            raise TimeoutError(f"no {what} for call {call_id} within {timeout:.1f} s") from None

    # Event handling --------------------------------------------------------------------

    def handle_event(self, event: AmiEvent) -> None:
        """Update the registry from one AMI event (an ``AmiClient`` event listener)."""
        changed = False
        if event.is_named(AmiEventName.USER_EVENT):
            changed = self._on_user_event(event)
        elif event.is_named(AmiEventName.HANGUP):
            changed = self._on_hangup(event)
        elif event.is_named(AmiEventName.RENAME):
            changed = self._on_rename(event)
        if changed:
            self._notify()

    def _on_user_event(self, event: AmiEvent) -> bool:
        kind = event.get("UserEvent") or ""
        call_id = (event.get("UUID") or "").strip().lower()
        if not call_id:
            return False
        if kind == CALL_EVENT:
            snapshot_channel = event.get("Channel") or ""
            self._register(
                CallChannel(
                    call_id=call_id,
                    channel=snapshot_channel,
                    uniqueid=event.get("Uniqueid") or "",
                    linkedid=event.get("Linkedid") or "",
                    caller_id_num=event.get("CallerIDNum") or "",
                    registered_at=time.monotonic(),
                )
            )
            return True
        if kind == DIAL_RESULT_EVENT:
            raw = (event.get("DialStatus") or "").strip().upper()
            status: DialStatus | str = raw
            with contextlib.suppress(ValueError):
                status = DialStatus(raw)
            self._dial_results[call_id] = DialResult(call_id, status, event.get("Target") or "")
            _LOGGER.info("call %s: dial to %s ended %s", call_id, event.get("Target"), raw)
            return True
        return False

    def _register(self, entry: CallChannel) -> None:
        self._purge()
        self._by_call[entry.call_id] = entry
        if entry.uniqueid:
            self._call_by_uniqueid[entry.uniqueid] = entry.call_id
        _LOGGER.info("call %s: channel %s", entry.call_id, entry.channel)

    def _call_for_event(self, event: AmiEvent) -> str | None:
        uniqueid = event.get("Uniqueid")
        if uniqueid and uniqueid in self._call_by_uniqueid:
            return self._call_by_uniqueid[uniqueid]
        channel = event.get("Channel")
        for call_id, entry in self._by_call.items():
            if entry.channel == channel:
                return call_id
        return None

    def _on_hangup(self, event: AmiEvent) -> bool:
        call_id = self._call_for_event(event)
        if call_id is None or call_id in self._hangups:
            return False
        cause_raw = event.get("Cause") or "0"
        cause = int(cause_raw) if cause_raw.isdigit() else 0
        self._hangups[call_id] = ChannelHangup(
            call_id, event.get("Channel") or "", cause, event.get("Cause-txt") or ""
        )
        _LOGGER.info("call %s: channel hung up (cause %d)", call_id, cause)
        return True

    def _on_rename(self, event: AmiEvent) -> bool:
        call_id = self._call_for_event(event)
        new_name = event.get("Newname")
        if call_id is None or not new_name:
            return False
        entry = self._by_call[call_id]
        self._by_call[call_id] = CallChannel(
            entry.call_id,
            new_name,
            entry.uniqueid,
            entry.linkedid,
            entry.caller_id_num,
            entry.registered_at,
        )
        return True

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _purge(self) -> None:
        cutoff = time.monotonic() - self._retention
        for call_id, entry in list(self._by_call.items()):
            if entry.registered_at < cutoff and call_id in self._hangups:
                self.forget(call_id)

    async def resync(self, client: AmiClient) -> None:
        """After a reconnection, mark channels that vanished meanwhile as hung up, and
        register calls whose VoicebotCall event was missed: their channel is running
        AudioSocket with the call's UUID as its first argument."""
        channels = await client.core_show_channels()
        live = {event.get("Channel") for event in channels}
        found = 0
        for event in channels:
            call_id = audiosocket_call_id(event)
            if call_id is not None and call_id not in self._by_call:
                caller = event.get("CallerIDNum") or ""
                self._register(
                    CallChannel(
                        call_id=call_id,
                        channel=event.get("Channel") or "",
                        uniqueid=event.get("Uniqueid") or "",
                        linkedid=event.get("Linkedid") or "",
                        caller_id_num="" if caller == "<unknown>" else caller,
                        registered_at=time.monotonic(),
                    )
                )
                found += 1
        if found:
            _LOGGER.warning("AMI resync: %d call(s) registered from their AudioSocket", found)
            self._notify()
        missed = 0
        for call_id, entry in list(self._by_call.items()):
            if entry.channel not in live and call_id not in self._hangups:
                self._hangups[call_id] = ChannelHangup(
                    call_id, entry.channel, 0, "hangup missed while AMI was disconnected"
                )
                missed += 1
        if missed:
            _LOGGER.warning("AMI resync: %d registered channels vanished meanwhile", missed)
            self._notify()


def audiosocket_call_id(event: AmiEvent) -> str | None:
    """The call UUID of a CoreShowChannel running ``AudioSocket(uuid,host:port)`` or
    ``Dial(AudioSocket/host:port/uuid/...)``, else None."""
    application = (event.get("Application") or "").lower()
    data = event.get("ApplicationData") or ""
    if application == "audiosocket":
        candidate = data.split(",", 1)[0]
    elif application == "dial" and data.lower().startswith("audiosocket/"):
        parts = data.split("/")
        candidate = parts[2] if len(parts) > 2 else ""
    else:
        return None
    try:
        return str(uuid.UUID(candidate.strip()))
    except ValueError:
        return None
