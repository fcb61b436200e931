"""API keys and roles: hashed storage, 401/403 on every endpoint, revocation, wrong-key limit."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from tests.api.conftest import Api
from voicebot.accounts.keys import (
    KeyNotFoundError,
    authenticate,
    create_key,
    issue_key,
    list_keys,
    revoke_key,
)
from voicebot.accounts.limiter import LoginGuard, LoginLimits
from voicebot.calllog.models import ApiKey, ApiRole

# (method, path, role required besides admin)
ENDPOINTS = [
    ("GET", "/api/calls", "manager"),
    ("GET", "/api/calls/c-faq-1", "manager"),
    ("GET", "/api/calls.csv", "manager"),
    ("GET", "/api/turns.csv", "manager"),
    ("GET", "/api/stats/counts", "manager"),
    ("GET", "/api/stats/summary", "manager"),
    ("GET", "/api/stats/transfers", "manager"),
    ("GET", "/api/stats/not-understood", "manager"),
    ("GET", "/api/kb", "kb_editor"),
    ("GET", "/api/kb/status", "manager"),
    ("PUT", "/api/kb/faq/opening_hours", "kb_editor"),
    ("PATCH", "/api/kb/faq/opening_hours", "kb_editor"),
    ("DELETE", "/api/kb/faq/opening_hours", "kb_editor"),
    ("PUT", "/api/kb/departments/waste", "kb_editor"),
    ("PATCH", "/api/kb/departments/waste", "kb_editor"),
    ("DELETE", "/api/kb/departments/waste", "kb_editor"),
    ("GET", "/api/callbacks", "operator"),
    ("POST", "/api/callbacks/1/done", "operator"),
    ("GET", "/api/live", "operator"),
    ("GET", "/api/live/transfers", "operator"),
    ("GET", "/api/keys", "admin"),
    ("POST", "/api/keys", "admin"),
    ("POST", "/api/keys/1/revoke", "admin"),
    ("GET", "/api/accounts", "admin"),
    ("POST", "/api/accounts", "admin"),
    ("PATCH", "/api/accounts/someone", "admin"),
    ("POST", "/api/accounts/someone/password", "admin"),
    ("POST", "/api/accounts/someone/end-sessions", "admin"),
    ("GET", "/api/audit", "admin"),
    ("POST", "/api/learning/test", "manager"),
    ("GET", "/api/learning/low-margin", "manager"),
    ("GET", "/api/learning/corrections", "manager"),
    ("POST", "/api/learning/corrections", "operator"),
    ("POST", "/api/learning/corrections/1/dismiss", "kb_editor"),
    ("POST", "/api/kb/phrases", "kb_editor"),
    ("POST", "/api/kb/faq", "kb_editor"),
    ("GET", "/api/kb/versions", "kb_editor"),
    ("GET", "/api/kb/versions/1/file", "kb_editor"),
    ("POST", "/api/kb/versions/1/revert", "kb_editor"),
    ("POST", "/api/callbacks/cb_x/status", "operator"),
    ("POST", "/api/callbacks/cb_x/undo", "operator"),
    ("GET", "/api/callbacks/cb_x/history", "operator"),
]
ALL_ROLES = [role.value for role in ApiRole]
NOT_FOUND_HERE = {"/api/live", "/api/kb/versions/1/file", "/api/callbacks/cb_x/history"}
"""GETs that stream, or answer 404/409 for the seed's data: checked for 401/403 only."""
SAFE_GETS = [(m, p, r) for m, p, r in ENDPOINTS if m == "GET" and p not in NOT_FOUND_HERE]


@pytest.mark.parametrize(("method", "path", "role"), ENDPOINTS)
def test_every_api_endpoint_needs_a_key(api: Api, method: str, path: str, role: str) -> None:
    response = api.client.request(method, path)
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path", "role"), ENDPOINTS)
def test_every_api_endpoint_refuses_other_roles_with_403(
    api: Api, method: str, path: str, role: str
) -> None:
    for other in ALL_ROLES:
        if ApiRole(other).grants(ApiRole(role)):
            continue
        response = api.client.request(method, path, headers=api.as_role(other), json={})
        assert response.status_code == 403, (other, response.text)
        assert role in response.json()["detail"]


@pytest.mark.parametrize(("method", "path", "role"), SAFE_GETS)
def test_the_right_role_and_admin_are_let_in(api: Api, method: str, path: str, role: str) -> None:
    for who in ALL_ROLES:
        if ApiRole(who).grants(ApiRole(role)):
            response = api.client.get(path, headers=api.as_role(who))
            assert response.status_code == 200, (who, response.text)


def test_kb_editor_is_between_manager_and_admin() -> None:
    editor = ApiRole.KB_EDITOR
    assert editor.grants(ApiRole.MANAGER) and editor.grants(ApiRole.KB_EDITOR)
    assert not editor.grants(ApiRole.ADMIN) and not editor.grants(ApiRole.OPERATOR)
    assert not ApiRole.MANAGER.grants(editor)
    assert all(ApiRole.ADMIN.grants(role) for role in ApiRole)


def test_x_api_key_header_is_accepted(api: Api) -> None:
    response = api.client.get("/api/calls", headers={"X-API-Key": api.keys["manager"]})
    assert response.status_code == 200


def test_unknown_key_is_401(api: Api) -> None:
    with api.fresh_client() as client:
        for key in ("vb_not-a-real-key", "garbage", "vb_" + "x" * 500):
            response = client.get("/api/calls", headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 401
            assert response.json()["detail"] == "unknown or revoked API key"


def test_revoked_key_stops_working_at_once(api: Api) -> None:
    info, key = issue_key(api.db.engine, "temp manager", ApiRole.MANAGER)
    headers = {"Authorization": f"Bearer {key}"}
    assert api.client.get("/api/calls", headers=headers).status_code == 200
    response = api.client.post(f"/api/keys/{info.id}/revoke", headers=api.as_role("admin"))
    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    with api.fresh_client() as client:
        assert client.get("/api/calls", headers=headers).status_code == 401


def test_keys_are_stored_as_sha256_only(api: Api) -> None:
    key = create_key(api.db.engine, "hash check", "operator")
    with api.db.engine.connect() as connection:
        hashes = set(connection.execute(select(ApiKey.key_hash)).scalars())
    assert hashlib.sha256(key.encode()).hexdigest() in hashes
    assert all(key not in stored for stored in hashes)
    assert key.startswith("vb_") and len(key) > 40


def test_key_functions_list_and_revoke(api: Api) -> None:
    info, key = issue_key(api.db.engine, "listed", "manager")
    listed = {k.id: k for k in list_keys(api.db.engine)}
    assert listed[info.id].name == "listed" and listed[info.id].role is ApiRole.MANAGER
    assert authenticate(api.db.engine, key) is not None
    first = revoke_key(api.db.engine, info.id)
    again = revoke_key(api.db.engine, info.id)
    assert first.revoked_at == again.revoked_at
    assert authenticate(api.db.engine, key) is None
    assert info.id not in {k.id for k in list_keys(api.db.engine, include_revoked=False)}
    with pytest.raises(KeyNotFoundError):
        revoke_key(api.db.engine, 10**9)
    with pytest.raises(ValueError, match="role 'boss'"):
        create_key(api.db.engine, "x", "boss")
    with pytest.raises(ValueError, match="key name"):
        create_key(api.db.engine, "  ", "operator")


def test_authentication_records_last_use(api: Api) -> None:
    info, key = issue_key(api.db.engine, "usage", "operator")
    assert info.last_used_at is None
    assert api.client.get("/api/callbacks", headers={"X-API-Key": key}).status_code == 200
    used = {k.id: k for k in list_keys(api.db.engine)}[info.id]
    assert used.last_used_at is not None


def test_keys_endpoints_create_list_and_404(api: Api) -> None:
    admin = api.as_role("admin")
    created = api.client.post(
        "/api/keys", headers=admin, json={"name": "desk 2", "role": "operator"}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["key"].startswith("vb_") and body["role"] == "operator"
    assert api.client.get("/api/callbacks", headers={"X-API-Key": body["key"]}).status_code == 200
    listing = api.client.get("/api/keys", headers=admin).json()
    assert listing["count"] == len(listing["data"])
    assert all("key" not in item and "key_hash" not in item for item in listing["data"])
    assert body["id"] in [item["id"] for item in listing["data"]]
    assert api.client.post("/api/keys/999999/revoke", headers=admin).status_code == 404
    bad = api.client.post("/api/keys", headers=admin, json={"name": "x", "role": "boss"})
    assert bad.status_code == 422


def test_wrong_keys_from_one_address_get_429_but_valid_keys_still_work(api: Api) -> None:
    limits = LoginLimits(keys_from_address=10, keys_from_address_window_s=60)
    with api.fresh_client(LoginGuard(limits)) as client:
        bad = {"Authorization": "Bearer vb_wrong"}
        for _ in range(10):
            assert client.get("/api/calls", headers=bad).status_code == 401
        blocked = client.get("/api/calls", headers=bad)
        assert blocked.status_code == 429
        assert 1 <= int(blocked.headers["Retry-After"]) <= 60
        # Everyone behind the same address (a city hall's NAT) goes on working: a valid
        # 256-bit key cannot be guessed, so refusing it would only lock colleagues out.
        assert client.get("/api/calls", headers=api.as_role("manager")).status_code == 200
        # A request without any key is not a guess and is not counted.
    with api.fresh_client() as client:
        for _ in range(20):
            assert client.get("/api/calls").status_code == 401
        assert client.get("/api/calls", headers=api.as_role("manager")).status_code == 200


def test_wrong_keys_are_audited_until_the_address_is_throttled(api: Api) -> None:
    before = api.services.staff.audit.entries(limit=1000)[1]
    limits = LoginLimits(keys_from_address=3, keys_from_address_window_s=60)
    with api.fresh_client(LoginGuard(limits)) as client:
        for _ in range(20):
            client.get("/api/calls", headers={"X-API-Key": "vb_wrong"})
    entries, total = api.services.staff.audit.entries(limit=1000)
    new = entries[: total - before]
    kinds = [entry.kind.value for entry in reversed(new)]
    # Three rejections, one lockout, then nothing more: a flood cannot flood the trail.
    assert kinds == ["key_rejected", "key_rejected", "key_rejected", "lockout"]
    assert new[0].detail == {"scope": "keys_from_address", "retry_after_s": 60}
    assert all(entry.address == "testclient" for entry in new)
