"""Call events to Prometheus metrics (the live bus takes the same events as they are)."""

from __future__ import annotations

from typing import Any

from voicebot.metrics import Metrics
from voicebot.routing.decision import kind_of


class MetricsObserver:
    """Updates the process's call metrics from session events."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def publish(self, event: dict[str, Any]) -> None:
        """Account for one session event."""
        kind = event.get("type")
        if kind == "call_started":
            self._metrics.calls_in_progress.inc()
        elif kind == "call_ended":
            self._metrics.calls_in_progress.dec()
            self._metrics.calls_total.labels(outcome=str(event.get("outcome"))).inc()
        elif kind == "turn":
            timings = event.get("timings_ms") or {}
            ready = timings.get("reply_ready_ms")
            if ready is not None:
                self._metrics.turn_latency_seconds.observe(float(ready) / 1000)
            intent = str(event.get("intent") or "")
            if intent and ":" not in intent.removeprefix("faq:"):
                self._metrics.routing_outcomes_total.labels(kind=str(kind_of(intent))).inc()
            decode = timings.get("asr_decode_ms")
            audio = timings.get("audio_ms")
            if decode is not None and audio:
                self._metrics.asr_real_time_factor.observe(float(decode) / float(audio))
