"""What the operator console shows right now: calls in progress, recent transfers, callback
requests announced live.

Fed with call events (see :mod:`voicebot.live.events`). A card appears when the assistant
decides where the caller goes (before the announcement) and is updated when the transfer
is sent and when the assistant's side of the call ends (which is right after the
transfer): the operator who picks up still needs the summary, so a transferred call stays
listed for ``transfer_ttl_s``. The board lives in memory; the console adds today's
transfers from the call log, so a reload or a restarted worker loses none.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from voicebot.live.events import (
    CallbackRequestedEvent,
    CallEndedEvent,
    CallEvent,
    CallStartedEvent,
    TransferDecidedEvent,
    TransferEvent,
    TransferFacts,
    TurnEvent,
    call_key,
)
from voicebot.records import TransferReason

MAX_UTTERANCES = 5
"""Latest caller utterances kept per call for the summary."""


@dataclass(frozen=True, slots=True)
class TransferredCall:
    """A call the assistant put through to a person, with what the operator needs to know."""

    call_id: str
    """The AudioSocket UUID: for the server's use only, never rendered."""
    card_key: str
    """The one-way key of the call that operators' browsers get (:func:`call_key`)."""
    transferred_at: datetime
    """When the assistant decided the transfer."""
    target: str
    """Department id or ``operator``: where the call goes."""
    reason: TransferReason | None
    """Why it goes there (None for calls stored before reasons were)."""
    department: str | None
    """The department the request is about (also when the call goes to the operator)."""
    extension: str | None
    intent: str | None
    language: str | None
    summary: str
    """The assistant's one-line summary of the request."""
    utterances: tuple[str, ...]
    """What the caller said, oldest first (at most :data:`MAX_UTTERANCES`)."""
    sent: bool = False
    """The transfer went to the PBX (after the announcement)."""
    ended: bool = False
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class AnnouncedCallback:
    """A callback request as announced live, before (or after) its call's record is stored."""

    callback_key: str
    requested_at: datetime
    department: str | None
    language: str | None
    caller_number: str | None
    note: str | None


@dataclass(slots=True)
class _ActiveCall:
    language: str | None
    seen: float
    utterances: list[str] = field(default_factory=list)


class LiveCallBoard:
    """Calls in progress and recently transferred calls, built from live events."""

    def __init__(
        self,
        *,
        transfer_ttl_s: float = 900.0,
        call_ttl_s: float = 3600.0,
        max_transfers: int = 100,
        callback_ttl_s: float = 24 * 3600.0,
        max_callbacks: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transfer_ttl_s = transfer_ttl_s
        self._call_ttl_s = call_ttl_s
        self._max_transfers = max_transfers
        self._clock = clock
        self._active: dict[str, _ActiveCall] = {}
        self._transfers: OrderedDict[str, tuple[float, TransferredCall]] = OrderedDict()
        self._callbacks: OrderedDict[str, tuple[float, AnnouncedCallback]] = OrderedDict()
        self._callback_ttl_s = callback_ttl_s
        self._max_callbacks = max_callbacks
        self._lock = threading.Lock()

    def apply(self, event: CallEvent) -> None:
        """Update the board with one event."""
        now = self._clock()
        call_id = event.call_id
        with self._lock:
            self._expire(now)
            match event:
                case CallStartedEvent():
                    self._active[call_id] = _ActiveCall(event.language, now)
                case TurnEvent():
                    call = self._active.setdefault(call_id, _ActiveCall(event.language, now))
                    call.seen = now
                    if event.transcript:
                        call.utterances = [*call.utterances, event.transcript][-MAX_UTTERANCES:]
                case TransferDecidedEvent() | TransferEvent():
                    self._transfer(event, now)
                case CallbackRequestedEvent():
                    self._callback(event, now)
                case CallEndedEvent():
                    self._active.pop(call_id, None)
                    entry = self._transfers.get(call_id)
                    if entry is not None:
                        stamp, transferred = entry
                        ended = replace(transferred, ended=True, outcome=event.outcome)
                        self._transfers[call_id] = (stamp, ended)

    def _transfer(self, event: TransferDecidedEvent | TransferEvent, now: float) -> None:
        call_id = event.call_id
        sent = isinstance(event, TransferEvent)
        previous = self._transfers.get(call_id)
        if previous is not None and sent and previous[1].target == event.target:
            # The transfer announced earlier is on its way: same card, same place.
            self._transfers[call_id] = (previous[0], replace(previous[1], sent=True))
            return
        call = self._active.get(call_id)
        utterances = event.utterances or (tuple(call.utterances) if call else ())
        self._transfers.pop(call_id, None)
        self._transfers[call_id] = (now, card_of(event, utterances))
        while len(self._transfers) > self._max_transfers:
            self._transfers.popitem(last=False)

    def _callback(self, event: CallbackRequestedEvent, now: float) -> None:
        key = event.callback_key
        self._callbacks[key] = (
            now,
            AnnouncedCallback(
                callback_key=key,
                requested_at=event.requested_at,
                department=event.department,
                language=event.language,
                caller_number=event.caller_number,
                note=event.note,
            ),
        )
        self._callbacks.move_to_end(key)
        while len(self._callbacks) > self._max_callbacks:
            self._callbacks.popitem(last=False)

    def _expire(self, now: float) -> None:
        while self._callbacks:
            key, (stamp, _) = next(iter(self._callbacks.items()))
            if now - stamp < self._callback_ttl_s:
                break
            del self._callbacks[key]
        while self._transfers:
            call_id, (stamp, _) = next(iter(self._transfers.items()))
            if now - stamp < self._transfer_ttl_s:
                break
            del self._transfers[call_id]
        # A call whose end event was lost must not stay "in progress" forever.
        stale = [cid for cid, call in self._active.items() if now - call.seen > self._call_ttl_s]
        for call_id in stale:
            del self._active[call_id]

    def transfers(self) -> list[TransferredCall]:
        """Recently transferred calls, newest first."""
        with self._lock:
            self._expire(self._clock())
            return [entry for _, entry in reversed(self._transfers.values())]

    def transfer_for_card(self, key: str) -> TransferredCall | None:
        """The transferred call behind a console card, if this board still lists it."""
        with self._lock:
            for _, entry in self._transfers.values():
                if entry.card_key == key:
                    return entry
        return None

    def announced_callbacks(self) -> list[AnnouncedCallback]:
        """Callback requests announced live (oldest first), stored yet or not."""
        with self._lock:
            self._expire(self._clock())
            return [entry for _, entry in self._callbacks.values()]

    def announced_callback(self, key: str) -> AnnouncedCallback | None:
        """The live announcement of a callback request, if this board saw it."""
        with self._lock:
            entry = self._callbacks.get(key)
            return entry[1] if entry else None

    def active_calls(self) -> int:
        """Calls in progress (started, not ended) as seen through the events."""
        with self._lock:
            self._expire(self._clock())
            return len(self._active)


def card_of(event: TransferFacts, utterances: tuple[str, ...] | None = None) -> TransferredCall:
    """The card a transfer event shows; ``utterances`` default to the event's own."""
    said = event.utterances if utterances is None else utterances
    return TransferredCall(
        call_id=event.call_id,
        card_key=call_key(event.call_id),
        transferred_at=event.at,
        target=event.target,
        reason=event.reason,
        department=event.department,
        extension=event.extension,
        intent=event.intent,
        language=event.language,
        summary=event.summary,
        utterances=said[-MAX_UTTERANCES:],
        sent=isinstance(event, TransferEvent),
    )
