"""What the newcomer sees while the demo's calls run, and when each call has ended.

The calls run at the same time, so every line names its call. The session publishes its
events as they happen (``call_started``, ``turn``, ``transfer``, ``call_ended``); the
demo learns a call's id only once the simulated PBX has connected it, so events of a
call not followed yet are held and printed when it is.
"""

from __future__ import annotations

import asyncio

from voicebot.demo.errors import DemoError
from voicebot.live.events import (
    CallbackRequestedEvent,
    CallEndedEvent,
    CallEvent,
    CallStartedEvent,
    TransferEvent,
    TurnEvent,
)

_STAGES = ("endpoint_ms", "asr_ms", "routing_ms", "tts_ms", "reply_ready_ms")


class CallProgress:
    """A call observer: prints each followed call's conversation, signals its end."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._labels: dict[str, str] = {}
        self._held: dict[str, list[CallEvent]] = {}
        self._ended: dict[str, asyncio.Future[CallEndedEvent]] = {}

    def follow(self, call_id: str, label: str) -> None:
        """Print ``call_id``'s events as ``label`` from now on (and those held so far)."""
        self._labels[call_id] = label
        self._future(call_id)
        for event in self._held.pop(call_id, []):
            self._show(label, event)

    def publish(self, event: CallEvent) -> None:
        """Called by the sessions (on the event loop) for every call event."""
        label = self._labels.get(event.call_id)
        if label is None:
            self._held.setdefault(event.call_id, []).append(event)
        else:
            self._show(label, event)
        if isinstance(event, CallEndedEvent):
            # Thread-safe on purpose: an observer must not assume who calls it.
            self._loop.call_soon_threadsafe(self._mark_ended, event)

    async def ended(self, call_id: str, timeout: float) -> CallEndedEvent:
        """The end of ``call_id``; :class:`DemoError` when it does not come within ``timeout``."""
        label = self._labels.get(call_id, call_id)
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(self._future(call_id))
        except TimeoutError:
            raise DemoError(
                f"{label} ({call_id}) did not end within {timeout:g} s of the caller's last "
                "words: the session never finished (a transfer whose dial result never "
                "came?); see the log lines above"
            ) from None

    def _future(self, call_id: str) -> asyncio.Future[CallEndedEvent]:
        future = self._ended.get(call_id)
        if future is None:
            future = self._ended[call_id] = self._loop.create_future()
        return future

    def _mark_ended(self, event: CallEndedEvent) -> None:
        future = self._future(event.call_id)
        if not future.done():
            future.set_result(event)

    def _show(self, label: str, event: CallEvent) -> None:
        for line in describe(event):
            print(f"{label} │ {line}", flush=True)


def describe(event: CallEvent) -> list[str]:
    """The lines that tell a newcomer what happened in this event."""
    match event:
        case CallStartedEvent():
            return ["connected  : the assistant greets the caller"]
        case TurnEvent():
            return _turn(event)
        case TransferEvent():
            return [
                f"transfer   : extension {event.extension} ({event.target}, {event.reason}), "
                f'summary "{event.summary}"'
            ]
        case CallbackRequestedEvent():
            return ["callback   : requested"]
        case CallEndedEvent():
            return [f"call ended : {event.outcome}"]
    return []


def _turn(event: TurnEvent) -> list[str]:
    score = f" (score {event.score:.2f})" if event.score is not None else ""
    lines = [
        f'caller     : "{event.transcript or "(nothing)"}"',
        f"assistant  : {event.intent}{score} → {event.action}",
    ]
    timings = event.timings_ms
    stages = ", ".join(
        f"{name.removesuffix('_ms')} {timings[name]:.0f} ms" for name in _STAGES if name in timings
    )
    if stages:
        lines.append(f"timings    : {stages}")
    if event.reply_text:
        lines.append(f'says       : "{event.reply_text}"')
    return lines
