"""Call events to Prometheus metrics (the live bus takes the same events as they are)."""

from __future__ import annotations

from voicebot.live.events import CallEndedEvent, CallEvent, CallStartedEvent, TurnEvent
from voicebot.metrics import Metrics
from voicebot.routing.decision import kind_of


class MetricsObserver:
    """Updates the process's call metrics from session events."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def publish(self, event: CallEvent) -> None:
        """Account for one session event."""
        match event:
            case CallStartedEvent():
                self._metrics.calls_in_progress.inc()
            case CallEndedEvent():
                self._metrics.calls_in_progress.dec()
                self._metrics.calls_total.labels(outcome=event.outcome).inc()
            case TurnEvent():
                self._turn(event)

    def _turn(self, event: TurnEvent) -> None:
        timings = event.timings_ms
        ready = timings.get("reply_ready_ms")
        if ready is not None:
            self._metrics.turn_latency_seconds.observe(ready / 1000)
        intent = event.intent
        if intent and ":" not in intent.removeprefix("faq:"):
            self._metrics.routing_outcomes_total.labels(kind=str(kind_of(intent))).inc()
        decode = timings.get("asr_decode_ms")
        audio = timings.get("audio_ms")
        if decode is not None and audio:
            self._metrics.asr_real_time_factor.observe(decode / audio)
