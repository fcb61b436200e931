"""Staff accounts and the audit trail through the API; sessions on the API too."""

from __future__ import annotations

import dataclasses

import httpx

from tests.api.conftest import PASSWORD, Api
from tests.api.server import serve
from tests.api.test_live import _sse_events
from voicebot.api.board import LiveCallBoard
from voicebot.app import create_app


def _sign_in(client: httpx.Client, name: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/login", data={"name": name, "password": password}, follow_redirects=False)


def test_admin_creates_lists_changes_and_disables_accounts(api: Api) -> None:
    admin = api.as_role("admin")
    body = {"name": "Luc.Martin", "display_name": "Luc Martin", "role": "operator"}
    created = api.client.post("/api/accounts", headers=admin, json={**body, "password": PASSWORD})
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "luc.martin" and PASSWORD not in created.text
    assert "password_hash" not in created.json()
    names = [a["name"] for a in api.client.get("/api/accounts", headers=admin).json()["data"]]
    assert "luc.martin" in names
    changed = api.client.patch(
        "/api/accounts/luc.martin", headers=admin, json={"role": "kb_editor"}
    )
    assert changed.json()["role"] == "kb_editor"
    disabled = api.client.patch("/api/accounts/luc.martin", headers=admin, json={"disabled": True})
    assert disabled.json()["disabled_at"] is not None
    assert api.client.patch("/api/accounts/nobody", headers=admin, json={}).status_code == 404


def test_account_errors_name_the_field(api: Api) -> None:
    admin = api.as_role("admin")
    taken = api.client.post(
        "/api/accounts",
        headers=admin,
        json={"name": Api.account("manager"), "role": "manager", "password": PASSWORD},
    )
    assert taken.status_code == 422
    assert taken.json()["detail"][0]["loc"] == ["body", "name"]
    weak = api.client.post(
        "/api/accounts", headers=admin, json={"name": "weak", "role": "manager", "password": "x"}
    )
    assert weak.status_code == 422 and weak.json()["detail"][0]["loc"] == ["body", "password"]
    short = api.client.post(
        f"/api/accounts/{Api.account('operator')}/password", headers=admin, json={"password": "x"}
    )
    assert short.status_code == 422
    missing = api.client.post("/api/accounts/nobody/end-sessions", headers=admin)
    assert missing.status_code == 404


def test_me_says_who_is_asking_by_key_or_session(api: Api) -> None:
    by_key = api.client.get("/api/me", headers=api.as_role("operator")).json()
    assert by_key["kind"] == "key" and by_key["role"] == "operator"
    with api.fresh_client() as client:
        assert _sign_in(client, Api.account("kb_editor")).status_code == 303
        me = client.get("/api/me").json()
    assert me == {
        "kind": "account",
        "id": me["id"],
        "name": "Test kb_editor",
        "role": "kb_editor",
        "login": "test-kb_editor",
    }


def test_session_cookie_works_on_the_api_but_not_cross_site(api: Api) -> None:
    with api.fresh_client() as client:
        _sign_in(client, Api.account("operator"))
        assert client.get("/api/callbacks").status_code == 200
        assert client.get("/api/calls").status_code == 403  # an operator, not a manager
        cross = client.post("/api/callbacks/1/done", headers={"Origin": "http://evil.example"})
        assert cross.status_code == 403 and cross.json()["detail"] == "cross-site request refused"
        client.cookies.clear()
        client.cookies.set("voicebot_session", "forged")
        ended = client.get("/api/callbacks")
        assert ended.status_code == 401 and ended.json()["detail"]["reason"] == "unknown"


def test_admin_reads_the_audit_trail_filtered(api: Api) -> None:
    admin = api.as_role("admin")
    with api.fresh_client() as client:
        _sign_in(client, Api.account("manager"), "wrong password!")
    page = api.client.get(
        "/api/audit", headers=admin, params={"kind": "login_failed", "limit": 5}
    ).json()
    assert page["count"] >= 1 and all(e["kind"] == "login_failed" for e in page["data"])
    assert page["data"][0]["subject"] == "test-manager"
    assert api.client.get("/api/audit", headers=api.as_role("manager")).status_code == 403
    bad = api.client.get("/api/audit", headers=admin, params={"kind": "coffee"})
    assert bad.status_code == 422
    nul = api.client.get("/api/audit", headers=admin, params={"actor": "a\x00b"})
    assert nul.status_code == 422


def test_an_open_console_feed_ends_when_the_account_is_disabled(api: Api) -> None:
    admin = api.as_role("admin")
    api.client.post(
        "/api/accounts",
        headers=admin,
        json={"name": "desk.3", "role": "operator", "password": PASSWORD},
    )
    app = create_app(dataclasses.replace(api.services, board=LiveCallBoard()))
    with serve(app) as base, httpx.Client(base_url=base, timeout=5.0) as client:
        assert _sign_in(client, "desk.3").status_code == 303
        with client.stream("GET", "/console/events") as response:
            events = _sse_events(response, 3, deadline_s=10.0)
            assert next(events) == ("ready", {})
            api.client.patch("/api/accounts/desk.3", headers=admin, json={"disabled": True})
            assert next(events) == (
                "session_ended",
                {"type": "session_ended", "reason": "account_disabled"},
            )
            assert next(events, None) is None
