"""The callback queue: lists with the raw number, statuses, undo, history, live requests."""

from __future__ import annotations

import time
from datetime import timedelta

from tests.api.conftest import DAY2, Api
from tests.calllog.factories import make_call
from tests.support import live_events
from voicebot.calllog.callbacks import callback_key


def test_callback_queue_lists_marks_done_and_is_idempotent(api: Api) -> None:
    operator = api.as_role("operator")
    pending = api.client.get("/api/callbacks", headers=operator).json()
    assert pending["count"] == 1
    [callback] = pending["data"]
    assert callback["call_id"] == "c-none-2" and callback["status"] == "pending"
    assert callback["caller_number"] == "0470 11 22 33" and callback["department"] == "waste"

    done = api.client.post(f"/api/callbacks/{callback['id']}/done", headers=operator)
    assert done.status_code == 200
    body = done.json()
    assert body["status"] == "done" and body["done_by"] == "test operator"
    assert body["done_at"] is not None

    again = api.client.post(f"/api/callbacks/{callback['id']}/done", headers=api.as_role("admin"))
    assert again.json()["done_at"] == body["done_at"] and again.json()["done_by"] == "test operator"

    assert api.client.get("/api/callbacks", headers=operator).json() == {"data": [], "count": 0}
    finished = api.client.get("/api/callbacks", params={"status": "done"}, headers=operator).json()
    assert [c["id"] for c in finished["data"]] == [callback["id"]]
    everything = api.client.get("/api/callbacks", params={"status": "all"}, headers=operator)
    assert everything.json()["count"] == 1


def test_unknown_callback_is_404_and_bad_status_422(api: Api) -> None:
    operator = api.as_role("operator")
    missing = api.client.post("/api/callbacks/424242/done", headers=operator)
    assert missing.status_code == 404
    assert "424242" in missing.json()["detail"]
    bad = api.client.get("/api/callbacks", params={"status": "later"}, headers=operator)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"][-1] == "status"
    assert api.client.post("/api/callbacks/abc/done", headers=operator).status_code == 422


def _save_callback(api: Api, call_id: str, department: str | None = "waste") -> str:
    api.db.repository().save_calls(
        [make_call(call_id, DAY2 + timedelta(hours=3), callbacks=[(department, "0470 99 88 77")])]
    )
    return callback_key(call_id, 0)


def test_operators_record_no_answer_then_called_back_with_history(api: Api) -> None:
    operator = api.as_role("operator")
    key = _save_callback(api, "cb-api-1")
    first = api.client.post(
        f"/api/callbacks/{key}/status", headers=operator, json={"status": "no_answer"}
    ).json()
    assert (first["status"], first["attempts"], first["stored"]) == ("no_answer", 1, True)
    open_ = api.client.get("/api/callbacks", params={"status": "open"}, headers=operator).json()
    assert key in [c["callback_key"] for c in open_["data"]]
    done = api.client.post(
        f"/api/callbacks/{key}/status", headers=operator, json={"status": "called_back"}
    ).json()
    assert (done["status"], done["handled_by"]) == ("called_back", "test operator")
    refused = api.client.post(
        f"/api/callbacks/{key}/status", headers=operator, json={"status": "no_answer"}
    )
    assert refused.status_code == 409 and "undo that first" in refused.json()["detail"]
    undone = api.client.post(f"/api/callbacks/{key}/undo", headers=operator).json()
    assert (undone["status"], undone["attempts"]) == ("no_answer", 1)
    history = api.client.get(f"/api/callbacks/{key}/history", headers=operator).json()
    assert [(c["status"], c["undone_at"] is not None) for c in history["data"]] == [
        ("no_answer", False),
        ("called_back", True),
    ]


def test_a_request_announced_live_can_be_handled_before_its_call_is_stored(api: Api) -> None:
    operator = api.as_role("operator")
    key = callback_key("cb-api-live", 0)
    unknown = api.client.post(
        f"/api/callbacks/{key}/status", headers=operator, json={"status": "called_back"}
    )
    assert unknown.status_code == 404  # made-up keys get no history
    api.services.live_bus.publish(
        live_events.callback(
            "cb-api-live",
            key,
            department="waste",
            language="fr",
            caller_number="0470 99 88 77",
            note="conteneur cassé",
        )
    )
    deadline = time.monotonic() + 30.0
    while api.services.board.announced_callback(key) is None:
        assert time.monotonic() < deadline, "the board did not hear of the request"
        time.sleep(0.02)
    early = api.client.post(
        f"/api/callbacks/{key}/status", headers=operator, json={"status": "called_back"}
    ).json()
    assert (early["status"], early["stored"]) == ("called_back", False)
    _save_callback(api, "cb-api-live")
    stored = api.client.get("/api/callbacks", params={"status": "called_back"}, headers=operator)
    assert key in [c["callback_key"] for c in stored.json()["data"]]


def test_callbacks_filter_by_department_and_bad_keys(api: Api) -> None:
    operator = api.as_role("operator")
    desk = _save_callback(api, "cb-api-desk", department=None)
    listed = api.client.get(
        "/api/callbacks", params={"status": "all", "department": "operator"}, headers=operator
    ).json()
    assert [c["callback_key"] for c in listed["data"]] == [desk]
    assert listed["count"] == 1
    nothing = api.client.get(
        "/api/callbacks", params={"status": "all", "department": "planning"}, headers=operator
    )
    assert nothing.json()["count"] == 0
    bad = api.client.post(
        f"/api/callbacks/{desk}/status", headers=operator, json={"status": "pending"}
    )
    assert bad.status_code == 409
    assert api.client.post(f"/api/callbacks/{'x' * 101}/undo", headers=operator).status_code == 422
    nothing_to_undo = api.client.post(f"/api/callbacks/{desk}/undo", headers=operator)
    assert nothing_to_undo.status_code == 409
