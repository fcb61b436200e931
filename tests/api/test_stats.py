"""Statistics endpoints on the seeded calls: counts, summary, transfers, not understood."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import RANGE, Api
from voicebot.app import create_app


def _get(api: Api, path: str, **params: Any) -> Any:
    response = api.client.get(path, params={**RANGE, **params}, headers=api.as_role("manager"))
    assert response.status_code == 200, response.text
    return response.json()


def _counts(api: Api, **params: Any) -> dict[str | None, int]:
    body = _get(api, "/api/stats/counts", **params)
    data = body["data"]
    assert isinstance(data, list) and body["count"] == len(data)
    return {row["key"]: row["count"] for row in data}


def test_counts_by_intent_outcome_language_and_department(api: Api) -> None:
    assert _counts(api) == {"population": 2, "faq:opening_hours": 2, "none": 2, "waste": 1}
    assert _counts(api, dimension="outcome") == {
        "transferred": 3,
        "answered": 2,
        "callback": 1,
        "failed": 1,
    }
    assert _counts(api, dimension="language") == {"fr": 5, "en": 2}
    assert _counts(api, dimension="department") == {None: 4, "population": 2, "waste": 1}


def test_counts_per_day_in_the_city_time_zone(api: Api) -> None:
    body = _get(api, "/api/stats/counts", dimension="intent", bucket="day")
    rows = [(r["bucket"][:10], r["key"], r["count"]) for r in body["data"]]
    assert rows == [
        ("2024-03-04", "faq:opening_hours", 1),
        ("2024-03-04", "none", 2),
        ("2024-03-04", "population", 1),
        ("2024-03-05", "faq:opening_hours", 1),
        ("2024-03-05", "population", 1),
        ("2024-03-05", "waste", 1),
    ]
    assert body["data"][0]["bucket"].endswith("+01:00")


def test_counts_filtered_by_language(api: Api) -> None:
    assert _counts(api, dimension="outcome", language="en") == {"answered": 1, "transferred": 1}
    assert _counts(api, dimension="department", language="fr") == {None: 3, "population": 2}
    body = _get(api, "/api/stats/counts", dimension="outcome", bucket="day", language="en")
    assert [(r["bucket"][:10], r["key"]) for r in body["data"]] == [
        ("2024-03-05", "answered"),
        ("2024-03-05", "transferred"),
    ]


def test_counts_by_intent_filtered_by_language_and_department(api: Api) -> None:
    assert _counts(api, language="en") == {"faq:opening_hours": 1, "waste": 1}
    assert _counts(api, department="population") == {"population": 2}
    body = _get(api, "/api/stats/counts", department="population", language="fr")
    assert body["department"] == "population" and body["language"] == "fr"


def test_requests_count_calls_per_thing_asked(api: Api) -> None:
    body = _get(api, "/api/stats/requests")
    assert body["dimension"] == "request"
    # "none" (not understood) is no request.
    assert {r["key"]: r["count"] for r in body["data"]} == {
        "population": 2,
        "faq:opening_hours": 2,
        "waste": 1,
    }
    english = _get(api, "/api/stats/requests", language="en", department="waste")["data"]
    assert [(r["key"], r["count"]) for r in english] == [("waste", 1)]


def test_summary_headline_figures(api: Api) -> None:
    [total] = _get(api, "/api/stats/summary")["data"]
    assert total["calls"] == 7 and total["contained"] == 2 and total["transferred"] == 3
    assert total["contained_rate"] == pytest.approx(2 / 7)
    assert total["callbacks"] == 1 and total["turns"] == 7
    assert total["avg_handling_time_s"] == pytest.approx(60.0)
    assert total["avg_asr_confidence"] == pytest.approx(
        (0.92 + 0.95 + 0.4 + 0.45 + 0.9 + 0.6 + 0.88) / 7
    )
    per_day = _get(api, "/api/stats/summary", bucket="day")["data"]
    assert [d["calls"] for d in per_day] == [4, 3]


def test_summary_filtered_by_language(api: Api) -> None:
    [english] = _get(api, "/api/stats/summary", language="en")["data"]
    assert english["calls"] == 2 and english["contained"] == 1 and english["transferred"] == 1
    assert english["turns"] == 2 and english["avg_asr_confidence"] == pytest.approx(0.75)
    per_day = _get(api, "/api/stats/summary", bucket="day", language="fr")["data"]
    assert [d["calls"] for d in per_day] == [4, 1]


def test_transfers_per_department(api: Api) -> None:
    data = {row["department"]: row for row in _get(api, "/api/stats/transfers")["data"]}
    assert data["population"]["calls"] == 2 and data["population"]["answered"] == 2
    assert data["population"]["success_rate"] == 1.0
    assert data["waste"]["attempts"] == 1 and data["waste"]["answered"] == 0
    assert data["waste"]["share"] == pytest.approx(1 / 7)
    french = _get(api, "/api/stats/transfers", language="fr")["data"]
    assert [(row["department"], row["attempts"]) for row in french] == [("population", 2)]


def test_not_understood_groups_similar_questions(api: Api) -> None:
    loose = _get(api, "/api/stats/not-understood", threshold=0.5)["data"]
    assert len(loose) == 1
    group = loose[0]
    assert group["count"] == 2 and group["distinct"] == 2
    assert "permis de pêche" in group["representative"]
    strict = _get(api, "/api/stats/not-understood", threshold=0.999)["data"]
    assert sorted(g["count"] for g in strict) == [1, 1]
    # Confidence 0.6 counts as not understood with a higher threshold.
    wider = _get(api, "/api/stats/not-understood", threshold=0.999, low_confidence=0.7)["data"]
    assert any("bins" in g["representative"] for g in wider)


def test_not_understood_without_embedder_is_503(api: Api) -> None:
    services = dataclasses.replace(api.services, embedder=None)
    with TestClient(create_app(services)) as client:
        response = client.get("/api/stats/not-understood", headers=api.as_role("manager"))
    assert response.status_code == 503


def test_default_range_is_the_last_30_days(api: Api) -> None:
    response = api.client.get("/api/stats/summary", headers=api.as_role("manager"))
    body = response.json()
    assert body["data"][0]["calls"] == 0  # the seed is from 2024


@pytest.mark.parametrize(
    ("path", "params", "field", "fragment"),
    [
        ("/api/stats/counts", {"dimension": "mood"}, "dimension", "'intent'"),
        ("/api/stats/counts", {"bucket": "month"}, "bucket", "'day'"),
        ("/api/stats/counts", {"department": ""}, "department", "at least 1 character"),
        ("/api/stats/counts", {"bucket": "hour"}, "bucket", "limited to 14 days"),
        (
            "/api/stats/summary",
            {"start": "2024-03-10", "end": "2024-03-01"},
            "end",
            "must be after start",
        ),
        ("/api/stats/transfers", {"start": "soon"}, "start", "datetime"),
        ("/api/stats/not-understood", {"threshold": 2}, "threshold", "less than or equal to 1"),
        ("/api/stats/not-understood", {"limit": 0}, "limit", "greater than or equal to 1"),
    ],
)
def test_bad_statistics_parameters_are_422(
    api: Api, path: str, params: dict[str, Any], field: str, fragment: str
) -> None:
    query = {**RANGE, "start": "2024-02-01T00:00:00+01:00", **params}
    response = api.client.get(path, params=query, headers=api.as_role("manager"))
    assert response.status_code == 422, response.text
    error = response.json()["detail"][0]
    assert error["loc"][-1] == field
    assert fragment in error["msg"]
