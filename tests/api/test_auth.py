"""API keys: hashed storage, 401/403 on every endpoint, revocation, brute-force limit."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from tests.api.conftest import Api
from voicebot.api.auth import (
    FailedAttemptLimiter,
    KeyNotFoundError,
    authenticate,
    create_key,
    issue_key,
    list_keys,
    revoke_key,
)
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
    ("GET", "/api/kb", "admin"),
    ("GET", "/api/kb/status", "admin"),
    ("PUT", "/api/kb/faq/opening_hours", "admin"),
    ("PATCH", "/api/kb/faq/opening_hours", "admin"),
    ("DELETE", "/api/kb/faq/opening_hours", "admin"),
    ("PUT", "/api/kb/departments/waste", "admin"),
    ("PATCH", "/api/kb/departments/waste", "admin"),
    ("DELETE", "/api/kb/departments/waste", "admin"),
    ("GET", "/api/callbacks", "operator"),
    ("POST", "/api/callbacks/1/done", "operator"),
    ("GET", "/api/live", "operator"),
    ("GET", "/api/live/transfers", "operator"),
    ("GET", "/api/keys", "admin"),
    ("POST", "/api/keys", "admin"),
    ("POST", "/api/keys/1/revoke", "admin"),
]
SAFE_GETS = [(m, p, r) for m, p, r in ENDPOINTS if m == "GET" and p != "/api/live"]


@pytest.mark.parametrize(("method", "path", "role"), ENDPOINTS)
def test_every_api_endpoint_needs_a_key(api: Api, method: str, path: str, role: str) -> None:
    response = api.client.request(method, path)
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path", "role"), ENDPOINTS)
def test_every_api_endpoint_refuses_other_roles_with_403(
    api: Api, method: str, path: str, role: str
) -> None:
    for other in {"operator", "manager", "admin"} - {role, "admin"}:
        response = api.client.request(method, path, headers=api.as_role(other), json={})
        assert response.status_code == 403, (other, response.text)
        assert role in response.json()["detail"]


@pytest.mark.parametrize(("method", "path", "role"), SAFE_GETS)
def test_the_right_role_and_admin_are_let_in(api: Api, method: str, path: str, role: str) -> None:
    for who in {role, "admin"}:
        response = api.client.get(path, headers=api.as_role(who))
        assert response.status_code == 200, (who, response.text)


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


def test_repeated_failures_from_one_address_get_429_with_retry_after(api: Api) -> None:
    with api.fresh_client(FailedAttemptLimiter(max_failures=10, window_s=60)) as client:
        bad = {"Authorization": "Bearer vb_wrong"}
        for _ in range(10):
            assert client.get("/api/calls", headers=bad).status_code == 401
        blocked = client.get("/api/calls", headers=bad)
        assert blocked.status_code == 429
        assert 1 <= int(blocked.headers["Retry-After"]) <= 60
        # Blocked means blocked: even a valid key waits, so guessing cannot go on.
        assert client.get("/api/calls", headers=api.as_role("manager")).status_code == 429
        # A request without any key is not a guess and is not counted.
    with api.fresh_client() as client:
        for _ in range(20):
            assert client.get("/api/calls").status_code == 401
        assert client.get("/api/calls", headers=api.as_role("manager")).status_code == 200


def test_limiter_window_slides() -> None:
    now = [1000.0]
    limiter = FailedAttemptLimiter(max_failures=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        limiter.record_failure("10.0.0.1")
        now[0] += 10
    assert limiter.retry_after("10.0.0.1") == 30  # now 1030; the failure at 1000 leaves at 1060
    assert limiter.retry_after("10.0.0.2") is None
    now[0] = 1060.5
    assert limiter.retry_after("10.0.0.1") is None
    limiter.record_failure("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") is not None


def test_limiter_memory_is_bounded() -> None:
    limiter = FailedAttemptLimiter(max_failures=1, window_s=60, max_clients=100)
    for index in range(1000):
        limiter.record_failure(f"10.0.{index // 256}.{index % 256}")
    assert limiter.retry_after("10.0.3.231") is not None  # the most recent is remembered
    assert limiter.retry_after("10.0.0.0") is None  # the oldest were forgotten
