"""The callback queue: pending list with the raw number, marking done, 404."""

from __future__ import annotations

from tests.api.conftest import Api


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
