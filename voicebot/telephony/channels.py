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
import heapq
import itertools
import logging
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
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
    """Registry of call UUID -> channel, hangups and dial results, fed by AMI events.

    Every event costs O(1): channels are found through dicts keyed by Uniqueid and
    channel name (never a scan of the calls), waiters are woken per call, and entries
    nobody serves expire through a heap of deadlines instead of a sweep. A call a session
    has ``claim``-ed stays until the session ``forget``-s it; an announcement no session
    claims (a flood of UserEvents, a call whose AudioSocket never came) is dropped after
    ``unclaimed_ttl`` seconds (``hangup_ttl`` once its channel is gone), and at most
    ``max_unclaimed`` are kept at once.
    """

    def __init__(
        self,
        *,
        unclaimed_ttl: float = 120.0,
        hangup_ttl: float = 10.0,
        max_unclaimed: int = 10_000,
        own_addresses: Collection[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._unclaimed_ttl = unclaimed_ttl
        self._hangup_ttl = hangup_ttl
        self._max_unclaimed = max_unclaimed
        self._own_addresses = frozenset(address.lower() for address in own_addresses)
        self._clock = clock
        self._by_call: dict[str, CallChannel] = {}
        self._call_by_uniqueid: dict[str, str] = {}
        self._call_by_channel: dict[str, str] = {}
        self._hangups: dict[str, ChannelHangup] = {}
        self._dial_results: dict[str, DialResult] = {}
        self._claimed: set[str] = set()
        self._deadlines: dict[str, float] = {}
        """Expiry time of each unclaimed call; the heap may hold stale copies."""
        self._expiry: list[tuple[float, int, str]] = []
        self._sequence = itertools.count()
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self.evicted = 0
        """Unserved announcements dropped to stay within ``max_unclaimed``."""

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

    def is_claimed(self, call_id: str) -> bool:
        """True while a session serves ``call_id``."""
        return call_id.lower() in self._claimed

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

    # Life cycle of a call --------------------------------------------------------------

    def claim(self, call_id: str) -> bool:
        """A session starts serving ``call_id``: keep its entry until ``forget``.

        False when another session already serves it (the same UUID connected twice).
        """
        key = call_id.lower()
        if key in self._claimed:
            return False
        self._claimed.add(key)
        self._deadlines.pop(key, None)
        return True

    def clear_dial_result(self, call_id: str) -> None:
        """Forget a previous dial result before transferring again."""
        self._dial_results.pop(call_id.lower(), None)

    def forget(self, call_id: str) -> None:
        """Drop everything known about a finished call."""
        key = call_id.lower()
        entry = self._by_call.pop(key, None)
        if entry is not None:
            if self._call_by_uniqueid.get(entry.uniqueid) == key:
                del self._call_by_uniqueid[entry.uniqueid]
            if self._call_by_channel.get(entry.channel) == key:
                del self._call_by_channel[entry.channel]
        self._hangups.pop(key, None)
        self._dial_results.pop(key, None)
        self._claimed.discard(key)
        self._deadlines.pop(key, None)

    def __len__(self) -> int:
        return len(self._by_call)

    async def _wait(
        self, call_id: str, lookup: Callable[[str], _T | None], timeout: float, what: str
    ) -> _T:
        key = call_id.lower()
        try:
            async with asyncio.timeout(timeout):
                while (found := lookup(key)) is None:
                    changed = asyncio.get_running_loop().create_future()
                    self._waiters.setdefault(key, []).append(changed)
                    try:
                        await changed
                    finally:
                        waiting = self._waiters.get(key)
                        if waiting is not None and changed in waiting:
                            waiting.remove(changed)
                            if not waiting:
                                del self._waiters[key]
                return found
        except TimeoutError:
            raise TimeoutError(f"no {what} for call {call_id} within {timeout:.1f} s") from None

    def _notify(self, call_id: str) -> None:
        for waiter in self._waiters.pop(call_id, ()):
            if not waiter.done():
                waiter.set_result(None)

    # Event handling --------------------------------------------------------------------

    def handle_event(self, event: AmiEvent) -> None:
        """Update the registry from one AMI event (an ``AmiClient`` event listener)."""
        if self._expiry:
            self._expire(self._clock())
        call_id: str | None = None
        if event.is_named(AmiEventName.USER_EVENT):
            call_id = self._on_user_event(event)
        elif event.is_named(AmiEventName.HANGUP):
            call_id = self._on_hangup(event)
        elif event.is_named(AmiEventName.RENAME):
            call_id = self._on_rename(event)
        if call_id is not None:
            self._notify(call_id)

    def _on_user_event(self, event: AmiEvent) -> str | None:
        kind = event.get("UserEvent") or ""
        call_id = (event.get("UUID") or "").strip().lower()
        if not call_id:
            return None
        if kind == CALL_EVENT:
            self._register(
                CallChannel(
                    call_id=call_id,
                    channel=event.get("Channel") or "",
                    uniqueid=event.get("Uniqueid") or "",
                    linkedid=event.get("Linkedid") or "",
                    caller_id_num=event.get("CallerIDNum") or "",
                    registered_at=self._clock(),
                )
            )
            return call_id
        if kind == DIAL_RESULT_EVENT and call_id in self._by_call:
            raw = (event.get("DialStatus") or "").strip().upper()
            status: DialStatus | str = raw
            with contextlib.suppress(ValueError):
                status = DialStatus(raw)
            self._dial_results[call_id] = DialResult(call_id, status, event.get("Target") or "")
            _LOGGER.info("call %s: dial to %s ended %s", call_id, event.get("Target"), raw)
            return call_id
        return None

    def _register(self, entry: CallChannel) -> None:
        key = entry.call_id
        previous = self._by_call.get(key)
        if previous is not None:
            # The same UUID announced again (a repeated event, or resync): re-index it.
            self._call_by_uniqueid.pop(previous.uniqueid, None)
            self._call_by_channel.pop(previous.channel, None)
        self._by_call[key] = entry
        if entry.uniqueid:
            self._call_by_uniqueid[entry.uniqueid] = key
        if entry.channel:
            self._call_by_channel[entry.channel] = key
        if key not in self._claimed:
            self._expire_at(key, entry.registered_at + self._unclaimed_ttl)
            if len(self._deadlines) > self._max_unclaimed:
                self._evict_oldest_unclaimed()
        _LOGGER.debug("call %s: channel %s", key, entry.channel)

    def _call_for_event(self, event: AmiEvent) -> str | None:
        # A call's own channel only: the department legs of a transfer share its Linkedid
        # but not its Uniqueid, and their Hangups must not end the call.
        uniqueid = event.get("Uniqueid")
        if uniqueid:
            found = self._call_by_uniqueid.get(uniqueid)
            if found is not None:
                return found
        return self._call_by_channel.get(event.get("Channel") or "")

    def _on_hangup(self, event: AmiEvent) -> str | None:
        call_id = self._call_for_event(event)
        if call_id is None or call_id in self._hangups:
            return None
        cause_raw = event.get("Cause") or "0"
        cause = int(cause_raw) if cause_raw.isdigit() else 0
        self._hangups[call_id] = ChannelHangup(
            call_id, event.get("Channel") or "", cause, event.get("Cause-txt") or ""
        )
        if call_id not in self._claimed:
            # Kept a little, for a session whose AudioSocket is just arriving.
            self._expire_at(call_id, self._clock() + self._hangup_ttl)
        _LOGGER.debug("call %s: channel hung up (cause %d)", call_id, cause)
        return call_id

    def _on_rename(self, event: AmiEvent) -> str | None:
        call_id = self._call_for_event(event)
        new_name = event.get("Newname")
        if call_id is None or not new_name:
            return None
        entry = self._by_call[call_id]
        if self._call_by_channel.get(entry.channel) == call_id:
            del self._call_by_channel[entry.channel]
        self._call_by_channel[new_name] = call_id
        self._by_call[call_id] = replace(entry, channel=new_name)
        return call_id

    # Expiry ----------------------------------------------------------------------------

    def _expire_at(self, call_id: str, deadline: float) -> None:
        self._deadlines[call_id] = deadline
        heapq.heappush(self._expiry, (deadline, next(self._sequence), call_id))

    def _expire(self, now: float) -> None:
        expiry = self._expiry
        while expiry and expiry[0][0] <= now:
            deadline, _, call_id = heapq.heappop(expiry)
            if self._deadlines.get(call_id) == deadline:
                self.forget(call_id)

    def _evict_oldest_unclaimed(self) -> None:
        expiry = self._expiry
        while expiry:
            deadline, _, call_id = heapq.heappop(expiry)
            if self._deadlines.get(call_id) == deadline:
                self.evicted += 1
                if self.evicted & (self.evicted - 1) == 0:  # 1st, 2nd, 4th, 8th...
                    _LOGGER.warning(
                        "more than %d calls announced over AMI and not served: %d forgotten "
                        "so far, oldest first (a flood of VoicebotCall events?)",
                        self._max_unclaimed,
                        self.evicted,
                    )
                self.forget(call_id)
                return

    # Resynchronisation -----------------------------------------------------------------

    async def resync(self, client: AmiClient) -> None:
        """After a reconnection, mark channels that vanished meanwhile as hung up, and
        register calls whose VoicebotCall event was missed: their channel is running
        AudioSocket with the call's UUID as its first argument, and that AudioSocket
        points at this assistant (one of ``own_addresses``) or the UUID is one a session
        here is waiting for. Another AudioSocket application on the same PBX is left alone.
        """
        channels = await client.core_show_channels()
        live = {event.get("Channel") for event in channels}
        found = 0
        for event in channels:
            call_id = audiosocket_call_id(event)
            if call_id is None or call_id in self._by_call:
                continue
            if not self._is_ours(event, call_id):
                continue
            caller = event.get("CallerIDNum") or ""
            self._register(
                CallChannel(
                    call_id=call_id,
                    channel=event.get("Channel") or "",
                    uniqueid=event.get("Uniqueid") or "",
                    linkedid=event.get("Linkedid") or "",
                    caller_id_num="" if caller == "<unknown>" else caller,
                    registered_at=self._clock(),
                )
            )
            self._notify(call_id)
            found += 1
        if found:
            _LOGGER.warning("AMI resync: %d call(s) registered from their AudioSocket", found)
        missed = 0
        for call_id, entry in list(self._by_call.items()):
            if entry.channel not in live and call_id not in self._hangups:
                self._hangups[call_id] = ChannelHangup(
                    call_id, entry.channel, 0, "hangup missed while AMI was disconnected"
                )
                self._notify(call_id)
                missed += 1
        if missed:
            _LOGGER.warning("AMI resync: %d registered channels vanished meanwhile", missed)

    def _is_ours(self, event: AmiEvent, call_id: str) -> bool:
        address = audiosocket_address(event)
        if address is not None and address.lower() in self._own_addresses:
            return True
        return call_id in self._waiters or call_id in self._claimed


def audiosocket_call_id(event: AmiEvent) -> str | None:
    """The call UUID of a CoreShowChannel running ``AudioSocket(uuid,host:port)`` or
    ``Dial(AudioSocket/host:port/uuid/...)``, else None."""
    parsed = _audiosocket_target(event)
    if parsed is None:
        return None
    try:
        return str(uuid.UUID(parsed[0].strip()))
    except ValueError:
        return None


def audiosocket_address(event: AmiEvent) -> str | None:
    """The ``host:port`` a CoreShowChannel's AudioSocket connects to, else None."""
    parsed = _audiosocket_target(event)
    return None if parsed is None else parsed[1].strip() or None


def _audiosocket_target(event: AmiEvent) -> tuple[str, str] | None:
    """(uuid text, host:port) of an AudioSocket application or channel, else None."""
    application = (event.get("Application") or "").lower()
    data = event.get("ApplicationData") or ""
    if application == "audiosocket":
        # AudioSocket(uuid,host:port[,options])
        parts = data.split(",")
        return parts[0], parts[1] if len(parts) > 1 else ""
    if application == "dial" and data.lower().startswith("audiosocket/"):
        # Dial(AudioSocket/host:port/uuid[/codec],...)
        parts = data.split(",", 1)[0].split("/")
        return (parts[2] if len(parts) > 2 else ""), parts[1]
    return None
