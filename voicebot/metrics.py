"""Prometheus metrics the call path updates and ``/metrics`` exposes.

Each :class:`Metrics` owns its own ``CollectorRegistry``, so tests can build many apps and
the figures of one never leak into another. With several worker processes every worker
exposes its own figures (scrape each, or aggregate them in Prometheus).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

PREFIX = "voicebot"
TURN_LATENCY_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0)
"""Seconds from end of caller speech to start of the reply; 0.1–2 s is the range that matters."""
ASR_RTF_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0)
"""Decoding time over audio time; above 1 the recogniser falls behind the caller."""
EXPOSITION_CONTENT_TYPE = CONTENT_TYPE_LATEST


class SpoolSized(Protocol):
    """Anything that knows how many bytes wait in its spool (the call log writer)."""

    @property
    def spool_bytes(self) -> int:
        """Bytes waiting on disk."""
        ...


class SessionCounted(Protocol):
    """Anything that knows how many call sessions it is running (the call server)."""

    @property
    def active_calls(self) -> int:
        """Call sessions in progress."""
        ...


class LinkWatched(Protocol):
    """Anything that reports whether its connection is up (the AMI connector)."""

    def status(self) -> LinkStatus:
        """The connection's current state."""
        ...


class LinkStatus(Protocol):
    """What :class:`LinkWatched` reports (``AmiStatus``)."""

    @property
    def connected(self) -> bool:
        """True while connected."""
        ...

    @property
    def down_for_s(self) -> float:
        """Seconds since the connection was lost; 0 while connected."""
        ...


class RefusalsCounted(Protocol):
    """Anything that counts refused connections per reason (the AudioSocket server)."""

    @property
    def counts(self) -> Mapping[Any, int]:
        """Refusals so far, per reason."""
        ...


class _RefusalCollector(Collector):
    """``voicebot_audiosocket_refused_total{reason}``, read from the server at each scrape."""

    def __init__(self, source: RefusalsCounted) -> None:
        self._source = source

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(
            f"{PREFIX}_audiosocket_refused",
            "AudioSocket connections closed without a call session, by reason (address, "
            "capacity, connections, live_uuid, not_announced, flood).",
            labels=("reason",),
        )
        for reason, count in self._source.counts.items():
            family.add_metric([str(reason)], float(count))
        yield family


class Metrics:
    """The assistant's Prometheus metrics, registered in a registry of their own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.calls_in_progress = Gauge(
            f"{PREFIX}_calls_in_progress",
            "Calls currently handled by this process.",
            registry=self.registry,
        )
        self.turn_latency_seconds = Histogram(
            f"{PREFIX}_turn_latency_seconds",
            "Time from the end of the caller's utterance to the start of the reply.",
            buckets=TURN_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.routing_outcomes_total = Counter(
            f"{PREFIX}_routing_outcomes_total",
            "Routing decisions by kind (faq, department, operator, unknown, ...).",
            labelnames=("kind",),
            registry=self.registry,
        )
        self.asr_real_time_factor = Histogram(
            f"{PREFIX}_asr_real_time_factor",
            "Speech recognition time divided by the duration of the audio decoded.",
            buckets=ASR_RTF_BUCKETS,
            registry=self.registry,
        )
        self.calls_total = Counter(
            f"{PREFIX}_calls_total",
            "Finished calls by outcome.",
            labelnames=("outcome",),
            registry=self.registry,
        )
        self.calllog_spool_bytes = Gauge(
            f"{PREFIX}_calllog_spool_bytes",
            "Bytes of call records waiting in the on-disk spool for the database.",
            registry=self.registry,
        )
        self.call_sessions_active = Gauge(
            f"{PREFIX}_call_sessions_active",
            "AudioSocket call sessions the call server is running (independent of events).",
            registry=self.registry,
        )

        self.ami_connected = Gauge(
            f"{PREFIX}_ami_connected",
            "1 while the AMI connector is logged in to Asterisk (no transfer is possible at 0).",
            registry=self.registry,
        )
        self.ami_down_seconds = Gauge(
            f"{PREFIX}_ami_down_seconds",
            "Seconds since the AMI connection was lost (0 while connected).",
            registry=self.registry,
        )

    def track_ami(self, ami: LinkWatched) -> None:
        """Read ``ami_connected`` and ``ami_down_seconds`` from ``ami`` at every scrape."""
        self.ami_connected.set_function(lambda: 1.0 if ami.status().connected else 0.0)
        self.ami_down_seconds.set_function(lambda: ami.status().down_for_s)

    def track_sessions(self, server: SessionCounted) -> None:
        """Read ``call_sessions_active`` from ``server`` at every scrape."""
        self.call_sessions_active.set_function(lambda: float(server.active_calls))

    def track_refusals(self, source: RefusalsCounted) -> None:
        """Expose ``audiosocket_refused_total`` from ``source`` at every scrape."""
        self.registry.register(_RefusalCollector(source))

    def track_spool(self, writer: SpoolSized) -> None:
        """Read ``calllog_spool_bytes`` from ``writer`` at every scrape."""
        self.calllog_spool_bytes.set_function(lambda: float(writer.spool_bytes))

    def exposition(self) -> bytes:
        """The text exposition format of every metric in this registry."""
        return generate_latest(self.registry)
