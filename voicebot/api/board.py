"""What the operator console shows right now: calls in progress, recent transfers, callback
requests announced live.

Fed with live events (see :mod:`voicebot.api.live`). A transferred call stays listed for
``transfer_ttl_s`` after its transfer, even once the assistant's side of the call has
ended (which is right after the transfer): the operator who picks up still needs the
summary. The board lives in memory; a freshly started worker shows transfers from then on.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from voicebot.api.live import Event, LiveEventType

MAX_UTTERANCES = 5
"""Latest caller utterances kept per call for the summary."""


@dataclass(frozen=True, slots=True)
class TransferredCall:
    """A call the assistant put through to a person, with what the operator needs to know."""

    call_id: str
    card_key: str
    """A one-way key of the call for the operators' browsers (never the AudioSocket UUID)."""
    transferred_at: str
    """ISO 8601 time of the transfer event."""
    department: str | None
    extension: str | None
    intent: str | None
    language: str | None
    summary: str
    """The assistant's one-line summary of the request."""
    utterances: tuple[str, ...]
    """What the caller said, oldest first (at most :data:`MAX_UTTERANCES`)."""
    ended: bool = False
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class AnnouncedCallback:
    """A callback request as announced live, before (or after) its call's record is stored."""

    callback_key: str
    requested_at: str
    department: str | None
    language: str | None
    caller_number: str | None
    note: str | None


@dataclass(slots=True)
class _ActiveCall:
    started_at: str
    language: str | None
    seen: float
    utterances: list[str] = field(default_factory=list)


def card_key(call_id: str) -> str:
    """The key a console card carries instead of the call's UUID (which would let anyone who
    reaches the media port drive the call)."""
    return "c_" + hashlib.sha256(call_id.encode("utf-8")).hexdigest()[:24]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


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

    def apply(self, event: Event) -> None:
        """Update the board with one event (unknown event types are ignored)."""
        kind = event.get("type")
        call_id = _text(event.get("call_id"))
        if call_id is None:
            return
        now = self._clock()
        at = _text(event.get("at")) or ""
        with self._lock:
            self._expire(now)
            if kind == LiveEventType.CALL_STARTED:
                self._active[call_id] = _ActiveCall(at, _text(event.get("language")), now)
            elif kind == LiveEventType.TURN:
                call = self._active.setdefault(call_id, _ActiveCall(at, None, now))
                call.seen = now
                transcript = _text(event.get("transcript"))
                if transcript:
                    call.utterances = [*call.utterances, transcript][-MAX_UTTERANCES:]
            elif kind == LiveEventType.TRANSFER:
                self._transfer(call_id, at, event, now)
            elif kind == LiveEventType.CALLBACK_REQUESTED:
                self._callback(at, event, now)
            elif kind == LiveEventType.CALL_ENDED:
                self._active.pop(call_id, None)
                entry = self._transfers.get(call_id)
                if entry is not None:
                    stamp, transferred = entry
                    outcome = _text(event.get("outcome"))
                    self._transfers[call_id] = (
                        stamp,
                        replace(transferred, ended=True, outcome=outcome),
                    )

    def _transfer(self, call_id: str, at: str, event: Event, now: float) -> None:
        call = self._active.get(call_id)
        said = event.get("utterances")
        if isinstance(said, list) and all(isinstance(item, str) for item in said):
            utterances = tuple(said[-MAX_UTTERANCES:])
        else:
            utterances = tuple(call.utterances) if call else ()
        self._transfers.pop(call_id, None)
        self._transfers[call_id] = (
            now,
            TransferredCall(
                call_id=call_id,
                card_key=card_key(call_id),
                transferred_at=at,
                department=_text(event.get("department")),
                extension=_text(event.get("extension")),
                intent=_text(event.get("intent")),
                language=_text(event.get("language")) or (call.language if call else None),
                summary=_text(event.get("summary")) or "",
                utterances=utterances,
            ),
        )
        while len(self._transfers) > self._max_transfers:
            self._transfers.popitem(last=False)

    def _callback(self, at: str, event: Event, now: float) -> None:
        key = _text(event.get("callback_key"))
        if key is None:
            return
        self._callbacks[key] = (
            now,
            AnnouncedCallback(
                callback_key=key,
                requested_at=_text(event.get("requested_at")) or at,
                department=_text(event.get("department")),
                language=_text(event.get("language")),
                caller_number=_text(event.get("caller_number")),
                note=_text(event.get("note")),
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
