"""The OpenAPI document describes every endpoint with a summary, security and models."""

from __future__ import annotations

from tests.api.conftest import Api


def test_openapi_documents_the_api(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/api/calls",
        "/api/calls/{call_id}",
        "/api/calls.csv",
        "/api/stats/counts",
        "/api/stats/summary",
        "/api/stats/transfers",
        "/api/stats/not-understood",
        "/api/kb",
        "/api/kb/faq/{faq_id}",
        "/api/kb/departments/{dept_id}",
        "/api/callbacks",
        "/api/callbacks/{callback_id}/done",
        "/api/live",
        "/api/keys",
        "/health",
        "/metrics",
    ):
        assert path in paths, path
        for operation in paths[path].values():
            assert operation.get("summary"), (path, operation)
    assert not any(path.startswith(("/dashboard", "/console", "/login")) for path in paths)
    schemes = schema["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}
    calls = paths["/api/calls"]["get"]
    assert {"401", "403", "422", "429"} <= set(calls["responses"])
    assert calls["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "CallsPublic"
    )
    assert schema["components"]["schemas"]["CallPublic"]["examples"]
    sort = next(p for p in calls["parameters"] if p["name"] == "sort")
    assert "turn_count" in sort["description"]
