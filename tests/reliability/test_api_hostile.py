"""Hostile input on the HTTP API, in-process over a seeded call log (SQLite and PostgreSQL):
requests generated from the OpenAPI schema (schemathesis), malformed knowledge base edits,
and SQL-looking values in every filter. Never a 5xx; the tables stay intact.

Keys (none, wrong, wrong role, revoked, 429 after repeated failures) are covered in-process
by tests/api/test_auth.py and over real HTTP by test_serve_privacy_and_inputs.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import func, select, text

from tests.api.conftest import Api, running_api
from tests.calllog.conftest import BACKENDS
from voicebot.calllog.models import ApiKey, Call, Turn
from voicebot.routing.embedders import Embedder

SKIPPED_OPERATIONS = {
    "GET /api/live",  # an endless event stream (tests/api/test_live.py reads it)
    "POST /api/keys/{key_id}/revoke",  # would revoke the fuzzer's own key
}
INJECTIONS = [
    "'; DROP TABLE calls; --",
    "' OR '1'='1",
    '" OR ""="',
    "1; DELETE FROM turns",
    "' UNION SELECT key_hash FROM api_keys --",
    "%",
    "_",
    "\\",
    "\x00",
    "é' --",
]
FILTERED_ENDPOINTS: dict[str, list[str]] = {
    "/api/calls": [
        "start",
        "end",
        "outcome",
        "department",
        "intent",
        "language",
        "min_confidence",
        "max_confidence",
        "q",
        "sort",
        "limit",
        "offset",
    ],
    "/api/calls.csv": ["department", "intent", "language", "q", "sort", "outcome"],
    "/api/turns.csv": ["department", "intent", "language", "q", "sort"],
    "/api/stats/counts": ["dimension", "bucket", "language", "start", "end"],
    "/api/stats/summary": ["bucket", "language", "start", "end"],
    "/api/stats/transfers": ["start", "end"],
    "/api/stats/not-understood": ["threshold", "low_confidence", "limit", "start"],
    "/api/callbacks": ["status", "limit", "offset"],
}


@pytest.fixture(params=BACKENDS)
def fresh_api(
    request: pytest.FixtureRequest, tmp_path: Path, use_embedder: Embedder, router_cache: Path
) -> Iterator[Api]:
    """A seeded call log and app of its own (with a router, so that "test a phrase" is
    fuzzed for real): these tests change what they touch."""
    with running_api(request.param, tmp_path, use_embedder, router_cache) as api:
        yield api


def table_counts(api: Api) -> dict[str, int]:
    with api.db.engine.connect() as connection:
        return {
            model.__tablename__: int(
                connection.execute(select(func.count()).select_from(model)).scalar_one()
            )
            for model in (Call, Turn, ApiKey)
        }


def fuzz_api(api: Api, examples: int) -> tuple[int, list[str]]:
    """Every documented operation with ``examples`` generated requests; returns the count
    sent and the requests answered with a 5xx or an exception."""
    schemathesis = pytest.importorskip(
        "schemathesis", reason="schemathesis (a dev dependency) is not installed"
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    headers = api.as_role("admin")
    sent = 0
    failures: list[str] = []

    def fuzz(operation: Any, name: str) -> None:
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def send(case: Any) -> None:
            nonlocal sent
            sent += 1
            try:
                status = case.call(headers=headers).status_code
            except Exception as error:
                failures.append(f"{name} {case.path_parameters} {case.query}: {error!r}")
                return
            if status >= 500:
                failures.append(f"{name} {case.path_parameters} {case.query} {case.body!r}")

        send()

    for result in schema.get_all_operations():
        operation = result.ok()
        name = f"{operation.method.upper()} {operation.path}"
        if name not in SKIPPED_OPERATIONS:
            fuzz(operation, name)
    return sent, failures


def test_schema_generated_requests_never_get_a_server_error(fresh_api: Api) -> None:
    before = table_counts(fresh_api)
    sent, failures = fuzz_api(fresh_api, examples=6 if fresh_api.db.kind == "sqlite" else 3)
    assert not failures, failures[:10]
    assert sent > 50
    after = table_counts(fresh_api)
    assert after["calls"] == before["calls"] and after["turns"] == before["turns"]
    print(f"\nschemathesis ({fresh_api.db.kind}): {sent} requests, no 5xx")


@pytest.mark.reliability
def test_many_schema_generated_requests_never_get_a_server_error(fresh_api: Api) -> None:
    sent, failures = fuzz_api(fresh_api, examples=300)
    assert not failures, failures[:10]
    print(f"\nschemathesis ({fresh_api.db.kind}): {sent} requests, no 5xx")


def test_sql_looking_filters_are_data_not_sql(fresh_api: Api) -> None:
    before = table_counts(fresh_api)
    headers = fresh_api.as_role("admin")
    statuses: dict[int, int] = {}
    for path, params in FILTERED_ENDPOINTS.items():
        for param in params:
            for value in INJECTIONS:
                response = fresh_api.client.get(path, params={param: value}, headers=headers)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                assert response.status_code in (200, 422), (path, param, value, response.text)
    assert table_counts(fresh_api) == before
    with fresh_api.db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM calls")).scalar_one() == 7
    for value in ("' OR '1'='1", "%", "_"):
        for param in ("department", "intent", "q"):
            listed = fresh_api.client.get(
                "/api/calls", params={param: value}, headers=headers
            ).json()
            assert listed["count"] == 0, (param, value)
    assert statuses[200] > 0 and statuses[422] > 0


MALFORMED_FAQ_BODIES: list[Any] = [
    {},
    {"questions": {"fr": ["question"]}},
    {"questions": "not a mapping", "answer": {"fr": "réponse"}},
    {"questions": {"fr": []}, "answer": {"fr": "réponse"}},
    {"questions": {"xx": ["question"]}, "answer": {"xx": "réponse"}},
    {"questions": {"fr": ["q"]}, "answer": {"fr": "r"}, "department": "nowhere"},
    {"questions": {"fr": [None]}, "answer": {"fr": 42}},
    {"questions": {"fr": ["q" * 100_000]}, "answer": {"fr": "\x00" * 10}},
    {"questions": {"fr": ["q"]}, "answer": {"fr": "r"}, "id": "another-id"},
    {"questions": {"fr": ["q"]}, "answer": {"fr": "r"}, "unknown_field": True},
    [],
    "a string",
    None,
    12,
]
MALFORMED_PATCHES: list[Any] = [
    {"questions": None},
    {"answer": {"fr": None}},
    {"department": 12},
    {"questions": {"fr": "not a list"}},
    [1, 2, 3],
    "text",
]
MALFORMED_DEPARTMENTS: list[Any] = [
    {},
    {"extension": "not digits", "name": {"fr": "x"}},
    {"extension": "2005", "name": {"fr": "x"}, "hours": "sometimes"},
    {"extension": "2005", "name": {"fr": "x"}, "hours": {"monday": ["25:00-26:00"]}},
    {"extension": "2005", "name": {"fr": "x"}, "dtmf": "12"},
    {"extension": "2005", "name": {"fr": "x"}, "dtmf": "1"},  # digit taken by population
]


def test_malformed_knowledge_base_edits_are_4xx_and_change_nothing(fresh_api: Api) -> None:
    headers = fresh_api.as_role("admin")
    client = fresh_api.client
    original = fresh_api.kb_path.read_bytes()
    attempts: list[tuple[str, str, Any]] = [
        *(("PUT", "/api/kb/faq/new_entry", body) for body in MALFORMED_FAQ_BODIES),
        *(("PATCH", "/api/kb/faq/opening_hours", body) for body in MALFORMED_PATCHES),
        *(("PUT", "/api/kb/departments/new_dept", body) for body in MALFORMED_DEPARTMENTS),
        ("DELETE", "/api/kb/departments/population", None),  # an FAQ entry refers to it
    ]
    for method, path, body in attempts:
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 422, (method, path, body, response.text[:300])
    raw_bodies = [
        b"{not json",
        b"\xff\xfe\x00binary",
        b"[" * 100_000 + b"]" * 100_000,
        json.dumps({"questions": {"fr": ["q"]}, "answer": {"fr": "x" * 5_000_000}}).encode(),
    ]
    for raw in raw_bodies:
        response = client.put(
            "/api/kb/faq/new_entry",
            content=raw,
            headers={**headers, "Content-Type": "application/json"},
        )
        assert 400 <= response.status_code < 500, (raw[:40], response.status_code)
    assert fresh_api.kb_path.read_bytes() == original
    assert client.get("/api/kb", headers=headers).status_code == 200


def test_out_of_range_ids_and_dates_and_nul_characters_are_422_not_500(fresh_api: Api) -> None:
    headers = fresh_api.as_role("admin")
    client = fresh_api.client
    huge = 2**70
    for method, path, params in [
        ("GET", "/api/calls/%00", {}),
        ("GET", "/api/calls/" + "x" * 65, {}),
        ("POST", f"/api/callbacks/{huge}/done", {}),
        ("POST", f"/api/callbacks/{-huge}/done", {}),
        ("POST", f"/api/keys/{huge}/revoke", {}),
        ("GET", "/api/calls", {"offset": str(huge)}),
        ("GET", "/api/callbacks", {"offset": str(huge)}),
        ("GET", "/api/stats/summary", {"language": "\x00"}),
        ("GET", "/api/stats/counts", {"end": "0001-01-01T00:00:00Z"}),
        ("GET", "/api/stats/summary", {"end": "9999-12-31T23:30:00Z"}),
        ("GET", "/api/calls", {"start": "0001-01-01T00:00:00+14:00"}),
    ]:
        response = client.request(method, path, params=params, headers=headers)
        assert response.status_code == 422, (method, path, params, response.text[:200])
    named = client.post("/api/keys", json={"name": "a\x00b", "role": "operator"}, headers=headers)
    assert named.status_code == 422, named.text[:200]
