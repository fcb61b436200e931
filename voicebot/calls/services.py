"""What every call session shares: models, caches, the call log, the PBX control.

Built once per process; the router is swapped atomically when the knowledge base is
edited, so calls in progress finish with the router they started with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from voicebot.calls.control import CallControl
from voicebot.calls.recognition import RecognizerFactory
from voicebot.dialog import DialogConfig
from voicebot.knowledge.model import KnowledgeBase
from voicebot.live.events import CallEvent
from voicebot.records import CallRecord
from voicebot.routing.router import Router
from voicebot.speech.endpointing import EndpointerConfig
from voicebot.speech.tts_cache import TtsCache
from voicebot.speech.vad import VoiceActivityDetector


class CallRecordSink(Protocol):
    """Where finished calls go (the call log writer); must never block."""

    def submit(self, record: CallRecord) -> None:
        """Queue a finished call for storage."""
        ...


class CallJournalSink(Protocol):
    """Where a call's progress is written down as it happens (the call journal), so that
    a crash of the process still leaves a trace of it; must never block for long."""

    def started(
        self,
        call_id: str,
        at: datetime,
        language: str,
        caller_number: str | None,
        channel: str | None,
    ) -> None:
        """The call began."""
        ...

    def transferring(self, call_id: str, at: datetime, target: str, extension: str) -> None:
        """The call is being put through to ``target``."""
        ...

    def ended(self, call_ids: Iterable[str]) -> None:
        """Nothing more to keep for these calls."""
        ...


class CallObserver(Protocol):
    """Live view of calls (operator console events, metrics)."""

    def publish(self, event: CallEvent) -> None:
        """Non-blocking notification of a call event."""
        ...


class _RouterHolder:
    """The current router; replaced as a whole, read without locks."""

    def __init__(self, router: Router) -> None:
        self.router = router


@dataclass(slots=True)
class CallServices:
    """Shared by all calls of one process."""

    router_holder: _RouterHolder
    recognizers: RecognizerFactory
    tts: TtsCache
    vad_factory: Callable[[], VoiceActivityDetector]
    records: CallRecordSink
    journal: CallJournalSink | None = None
    """None: calls are not journaled (tests without a data directory)."""
    control: CallControl | None = None
    """None when no PBX is attached (the demo's in-process calls without AMI)."""
    dialog_config: DialogConfig = field(default_factory=DialogConfig)
    endpointing: EndpointerConfig = field(default_factory=EndpointerConfig)
    observers: list[CallObserver] = field(default_factory=list)
    barge_in_chunks: int = 3
    transfer_result_timeout_s: float = 45.0
    """How long to wait for Asterisk's dial result after a transfer."""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    """Wall-clock time of call events (opening hours); the demo and tests may shift it."""

    @classmethod
    def create(cls, router: Router, **kwargs: Any) -> CallServices:
        """Build with the initial router."""
        return cls(router_holder=_RouterHolder(router), **kwargs)

    def shift_clock_to(self, moment: datetime) -> None:
        """Make the clock start at ``moment`` and run at real speed from now on."""
        offset = moment - datetime.now(UTC)
        self.clock = lambda: datetime.now(UTC) + offset

    @property
    def router(self) -> Router:
        """The router new turns use."""
        return self.router_holder.router

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base of the current router."""
        return self.router_holder.router.kb

    def replace_router(self, router: Router) -> None:
        """Swap in a rebuilt router (e.g. after a KB edit); running turns keep theirs."""
        self.router_holder.router = router

    def publish(self, event: CallEvent) -> None:
        """Tell every observer; an observer's failure never reaches the call."""
        for observer in self.observers:
            try:
                observer.publish(event)
            except Exception:
                continue
