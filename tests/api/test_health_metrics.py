"""/health (database, writer backlog) and /metrics (Prometheus exposition)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import Api
from voicebot.app import create_app
from voicebot.calllog.db import create_calllog_engine
from voicebot.calllog.writer import CallLogWriter
from voicebot.metrics import Metrics


def test_health_reports_database_and_kb_without_a_key(api: Api) -> None:
    response = api.client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"reachable": True, "error": None}
    assert body["writer"] is None
    assert body["knowledge_base"]["version"] == api.services.kb_store.current().content_hash


def test_health_shows_the_writer_backlog(api: Api, tmp_path: Path) -> None:
    writer = CallLogWriter(api.db.repository(), tmp_path / "spool")
    try:
        services = dataclasses.replace(api.services, writer=writer, metrics=Metrics())
        with TestClient(create_app(services)) as client:
            body = client.get("/health").json()
            metrics = client.get("/metrics").text
    finally:
        writer.close()
    assert body["writer"] == {
        "queue_depth": 0,
        "spool_bytes": 0,
        "memory_backlog": 0,
        "database_available": True,
        "schema_ready": True,
        "dropped": 0,
    }
    assert "voicebot_calllog_spool_bytes 0.0" in metrics


def test_health_is_503_when_the_database_is_unreachable(api: Api, tmp_path: Path) -> None:
    engine = create_calllog_engine(f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}")
    services = dataclasses.replace(api.services, engine=engine)
    with TestClient(create_app(services)) as client:
        response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["database"] == {"reachable": False, "error": "OperationalError"}


def test_metrics_expose_what_the_call_path_records(api: Api) -> None:
    metrics = Metrics()
    metrics.calls_in_progress.set(3)
    metrics.turn_latency_seconds.observe(0.45)
    metrics.turn_latency_seconds.observe(1.7)
    metrics.routing_outcomes_total.labels(kind="faq").inc()
    metrics.routing_outcomes_total.labels(kind="department").inc(2)
    metrics.asr_real_time_factor.observe(0.3)
    metrics.calls_total.labels(outcome="transferred").inc()
    services = dataclasses.replace(api.services, metrics=metrics)
    with TestClient(create_app(services)) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    assert samples[("voicebot_calls_in_progress", ())] == 3
    assert samples[("voicebot_turn_latency_seconds_count", ())] == 2
    assert samples[("voicebot_turn_latency_seconds_bucket", (("le", "0.5"),))] == 1
    assert samples[("voicebot_turn_latency_seconds_bucket", (("le", "2.0"),))] == 2
    assert samples[("voicebot_routing_outcomes_total", (("kind", "department"),))] == 2
    assert samples[("voicebot_asr_real_time_factor_count", ())] == 1
    assert samples[("voicebot_calls_total", (("outcome", "transferred"),))] == 1
    assert ("voicebot_calllog_spool_bytes", ()) in samples


def test_each_metrics_object_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.calls_total.labels(outcome="answered").inc()
    assert b'voicebot_calls_total{outcome="answered"} 1.0' in first.exposition()
    assert b'outcome="answered"' not in second.exposition()
