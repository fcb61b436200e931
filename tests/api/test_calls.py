"""Calls list filters, sort and pagination; one call in full; CSV export."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.api.conftest import RANGE, Api


def _ids(api: Api, **params: Any) -> list[str]:
    response = api.client.get("/api/calls", params=params, headers=api.as_role("manager"))
    assert response.status_code == 200, response.text
    return [item["call_id"] for item in response.json()["data"]]


def test_list_is_newest_first_with_total_count(api: Api) -> None:
    response = api.client.get("/api/calls", headers=api.as_role("manager"))
    body = response.json()
    assert body["count"] == 7 and body["limit"] == 50 and body["offset"] == 0
    assert [c["call_id"] for c in body["data"]][:2] == ["c-pop-2", "c-waste-1"]
    first = body["data"][-1]
    assert first["call_id"] == "c-pop-1"
    assert first["outcome"] == "transferred" and first["department"] == "population"
    assert first["caller_hash"] and "0470" not in first["caller_hash"]


def test_pagination_pages_through_in_order(api: Api) -> None:
    everything = _ids(api, sort="started_at")
    pages = [_ids(api, sort="started_at", limit=3, offset=offset) for offset in (0, 3, 6)]
    assert [call for page in pages for call in page] == everything
    assert _ids(api, limit=3, offset=100) == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"outcome": "transferred"}, {"c-pop-1", "c-pop-2", "c-waste-1"}),
        ({"department": "waste"}, {"c-waste-1"}),
        ({"language": "en"}, {"c-faq-2", "c-waste-1"}),
        ({"intent": "none"}, {"c-none-1", "c-none-2"}),
        ({"q": "PERMIS de pêche"}, {"c-none-1", "c-none-2"}),
        ({"max_confidence": 0.5}, {"c-none-1", "c-none-2"}),
        ({"min_confidence": 0.9}, {"c-pop-1", "c-faq-1", "c-faq-2"}),
        ({"start": "2024-03-05T00:00:00+01:00"}, {"c-faq-2", "c-waste-1", "c-pop-2"}),
        ({"end": "2024-03-05"}, {"c-pop-1", "c-faq-1", "c-none-1", "c-none-2"}),
        ({"start": "2024-03-04T09:05:00Z", "end": "2024-03-04T09:25:00Z"}, {"c-faq-1", "c-none-1"}),
        ({"outcome": "transferred", "language": "fr"}, {"c-pop-1", "c-pop-2"}),
    ],
)
def test_filters_narrow_the_list(api: Api, params: dict[str, Any], expected: set[str]) -> None:
    assert set(_ids(api, **params)) == expected


def test_sort_by_duration_and_descending_department(api: Api) -> None:
    assert _ids(api, sort="-department")[:3] == ["c-waste-1", "c-pop-2", "c-pop-1"]
    assert len(_ids(api, sort="duration")) == 7


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        ({"sort": "caller_hash"}, "sort", "unknown sort key 'caller_hash'"),
        ({"start": "2024-03-05", "end": "2024-03-04"}, "end", "must be after start"),
        ({"outcome": "happy"}, "outcome", "Input should be"),
        ({"limit": 0}, "limit", "greater than or equal to 1"),
        ({"limit": 5000}, "limit", "less than or equal to 1000"),
        ({"offset": -1}, "offset", "greater than or equal to 0"),
        ({"min_confidence": 1.5}, "min_confidence", "less than or equal to 1"),
        ({"min_confidence": 0.8, "max_confidence": 0.2}, "max_confidence", "must not be below"),
        ({"start": "yesterday"}, "start", "datetime"),
        ({"q": "x" * 201}, "q", "at most 200"),
    ],
)
def test_bad_filters_are_422_naming_the_parameter(
    api: Api, params: dict[str, Any], field: str, fragment: str
) -> None:
    response = api.client.get("/api/calls", params=params, headers=api.as_role("manager"))
    assert response.status_code == 422, response.text
    error = response.json()["detail"][0]
    assert error["loc"][-1] == field
    assert fragment in error["msg"]


def test_one_call_has_turns_transfers_and_callbacks(api: Api) -> None:
    response = api.client.get("/api/calls/c-none-2", headers=api.as_role("manager"))
    assert response.status_code == 200
    body = response.json()
    assert body["call_id"] == "c-none-2" and body["outcome"] == "callback"
    assert [t["transcript"] for t in body["turns"]] == ["un permis de pêche s'il vous plaît"]
    assert body["turns"][0]["intent"] == "none" and body["turns"][0]["asr_confidence"] == 0.45
    [callback] = body["callbacks"]
    assert callback["department"] == "waste" and callback["note"] == "merci de rappeler"
    # Managers see calls, not the raw numbers operators call back.
    assert callback["caller_number"] is None
    admin = api.client.get("/api/calls/c-none-2", headers=api.as_role("admin")).json()
    assert admin["callbacks"][0]["caller_number"] == "0470 11 22 33"
    transferred = api.client.get("/api/calls/c-pop-1", headers=api.as_role("manager")).json()
    assert transferred["transfers"][0]["target"] == "population"
    assert transferred["transfers"][0]["dial_status"] == "ANSWER"


def test_unknown_call_is_404(api: Api) -> None:
    response = api.client.get("/api/calls/no-such-call", headers=api.as_role("manager"))
    assert response.status_code == 404
    assert "no-such-call" in response.json()["detail"]


def test_calls_csv_has_the_filtered_calls(api: Api) -> None:
    response = api.client.get(
        "/api/calls.csv",
        params={"language": "fr", "sort": "started_at", **RANGE},
        headers=api.as_role("manager"),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="calls.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["call_id"] for r in rows] == ["c-pop-1", "c-faq-1", "c-none-1", "c-none-2", "c-pop-2"]
    assert rows[0]["outcome"] == "transferred" and rows[0]["department"] == "population"
    # In the city's time zone, with its offset: the same instant, readable as local time.
    assert rows[0]["started_at"] == "2024-03-04T10:00:00+01:00"
    assert rows[0]["contained"] == "false" and rows[1]["contained"] == "true"


def test_calls_csv_for_excel(api: Api) -> None:
    response = api.client.get(
        "/api/calls.csv",
        params={"language": "en", "format": "excel", "sort": "started_at", **RANGE},
        headers=api.as_role("manager"),
    )
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeffcall_id;started_at;ended_at;duration_s;")
    rows = list(csv.DictReader(io.StringIO(body[1:]), delimiter=";"))
    assert rows[0]["started_at"] == "2024-03-05 10:00:00" and rows[0]["duration_s"] == "60,0"
    turns = api.client.get(
        "/api/turns.csv",
        params={"format": "excel", "department": "waste"},
        headers=api.as_role("manager"),
    )
    assert turns.content.decode("utf-8").startswith("\ufeffcall_id;turn_index;")
    assert (
        api.client.get(
            "/api/calls.csv", params={"format": "ods"}, headers=api.as_role("manager")
        ).status_code
        == 422
    )


def test_calls_have_fields_for_display_in_the_reader_language(api: Api) -> None:
    [call] = api.client.get(
        "/api/calls", params={"department": "waste"}, headers=api.as_role("manager")
    ).json()["data"]
    assert call["started_at"].startswith("2024-03-05T09:05:00")
    assert call["started_at_local"] == "2024-03-05T10:05:00+01:00"
    assert call["display"] == {
        "started_at": "5/03/24 10:05",
        "ended_at": "5/03/24 10:06",
        "duration": "1\xa0min 00\xa0s",
        "language": "Anglais",
        "outcome": "Transféré à un service",
        "department": "Propreté",
        "first_request": "Propreté",
        "resolved_by_assistant": "non",
    }
    english = api.client.get(
        "/api/calls/c-waste-1", headers={**api.as_role("manager"), "Accept-Language": "en"}
    ).json()
    assert english["display"]["outcome"] == "Put through to a department"
    assert english["display"]["department"] == "Cleanliness"


def test_turns_csv_neutralises_formulas(api: Api) -> None:
    response = api.client.get(
        "/api/turns.csv", params={"department": "waste"}, headers=api.as_role("manager")
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["call_id"] for r in rows] == ["c-waste-1"]
    assert rows[0]["transcript"] == "'=my bins were not collected"


def test_csv_refuses_bad_filters(api: Api) -> None:
    response = api.client.get(
        "/api/calls.csv", params={"sort": "nope"}, headers=api.as_role("manager")
    )
    assert response.status_code == 422
