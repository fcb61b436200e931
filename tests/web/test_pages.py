"""Pages through HTTP: sign-in cookie, roles, revoked keys, the console."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import PASSWORD, ROLES, Api
from tests.api.server import serve
from tests.support import live_events
from voicebot.accounts.limiter import LoginGuard, LoginLimits
from voicebot.live.events import call_key

DASHBOARD = "/dashboard?start=2024-03-01&end=2024-03-10"


@pytest.fixture
def browser(api: Api) -> Iterator[TestClient]:
    """A client with its own cookie jar (not signed in)."""
    with api.fresh_client() as client:
        yield client


def sign_in(
    client: TestClient, who: str, next_page: str = "", password: str = PASSWORD
) -> httpx.Response:
    """Sign in as the test account of a role, or as the account named ``who``."""
    name = Api.account(who) if who in ROLES else who
    return client.post(
        "/login",
        data={"name": name, "password": password, "next": next_page},
        follow_redirects=False,
    )


def test_pages_redirect_to_sign_in_and_back(api: Api, browser: TestClient) -> None:
    home = browser.get("/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/login"
    page = browser.get(DASHBOARD, follow_redirects=False)
    assert page.status_code == 303
    assert (
        page.headers["location"]
        == "/login?next=%2Fdashboard%3Fstart%3D2024-03-01%26end%3D2024-03-10"
    )
    form = browser.get("/login?next=/console")
    assert 'name="next" value="/console"' in form.text
    response = sign_in(browser, "manager", DASHBOARD)
    assert response.status_code == 303 and response.headers["location"] == DASHBOARD
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("voicebot_session=")
    assert PASSWORD not in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; set over HTTPS
    assert browser.get(DASHBOARD).status_code == 200


def test_sign_in_refuses_bad_passwords_and_foreign_redirects(api: Api, browser: TestClient) -> None:
    bad = sign_in(browser, "manager", password="not the password")
    assert bad.status_code == 401 and "Nom ou mot de passe incorrect." in bad.text
    assert "set-cookie" not in bad.headers
    assert 'value="test-manager"' in bad.text  # the name stays typed, never the password
    unknown = sign_in(browser, "nobody.here")
    assert unknown.status_code == 401 and "Nom ou mot de passe incorrect." in unknown.text
    empty = browser.post("/login", data={"name": "", "password": ""})
    assert empty.status_code == 401 and "Indiquez votre nom et votre mot de passe." in empty.text
    response = sign_in(browser, "operator", "//evil.example/steal")
    assert response.headers["location"] == "/console"  # operators land on the console
    cross = browser.post(
        "/login",
        data={"name": Api.account("admin"), "password": PASSWORD},
        headers={"Origin": "http://evil.example"},
    )
    assert cross.status_code == 403


def test_password_guessing_locks_that_account_only(api: Api) -> None:
    limits = LoginLimits(account_from_address=3, account_from_address_window_s=60)
    with api.fresh_client(LoginGuard(limits)) as client:
        codes = [sign_in(client, "admin", password="guess guess guess").status_code]
        codes += [sign_in(client, "admin", password="guess guess guess").status_code]
        blocked = sign_in(client, "admin", password="guess guess guess")
        assert codes == [401, 401]
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
        assert "Trop d&#39;essais infructueux pour ce compte." in blocked.text
        assert sign_in(client, "admin").status_code == 429  # even with the right password
        # Same address, another person: not affected.
        assert sign_in(client, "manager").status_code == 303


def test_roles_are_enforced_on_pages(api: Api, browser: TestClient) -> None:
    sign_in(browser, "operator")
    assert browser.get("/dashboard").status_code == 403
    assert browser.get("/console").status_code == 200
    sign_in(browser, "manager")
    refused = browser.get("/console")
    assert refused.status_code == 403 and "opérateur ou administrateur" in refused.text
    sign_in(browser, "kb_editor")
    assert browser.get("/dashboard").status_code == 200
    assert browser.get("/console").status_code == 403
    sign_in(browser, "admin")
    assert browser.get("/console").status_code == 200
    assert browser.get("/dashboard").status_code == 200


def test_disabled_account_ends_the_session_with_a_reason(api: Api, browser: TestClient) -> None:
    admin = api.as_role("admin")
    created = api.client.post(
        "/api/accounts",
        headers=admin,
        json={"name": "temp.manager", "role": "manager", "password": PASSWORD},
    )
    assert created.status_code == 201, created.text
    sign_in(browser, "temp.manager")
    assert browser.get("/dashboard").status_code == 200
    api.client.patch("/api/accounts/temp.manager", headers=admin, json={"disabled": True})
    after = browser.get("/dashboard", follow_redirects=False)
    assert after.status_code == 303
    assert after.headers["location"] == "/login?next=%2Fdashboard&ended=account_disabled"
    assert "set-cookie" in after.headers  # the dead cookie is cleared
    page = browser.get(after.headers["location"])
    assert "Votre compte a été désactivé." in page.text
    assert sign_in(browser, "temp.manager").status_code == 401


def test_logout_ends_the_session_on_the_server(api: Api, browser: TestClient) -> None:
    response = sign_in(browser, "manager")
    token = response.cookies["voicebot_session"]
    signed_out = browser.post("/logout", follow_redirects=False)
    assert signed_out.headers["location"] == "/login?ended=logout"
    # The old cookie, replayed, no longer works: the session ended on the server.
    with api.fresh_client() as other:
        other.cookies.set("voicebot_session", token)
        replay = other.get("/dashboard", follow_redirects=False)
        assert replay.status_code == 303 and "ended=logout" in replay.headers["location"]


def test_console_event_stream_uses_the_session_cookie(api: Api) -> None:
    with serve(api.app) as base, httpx.Client(base_url=base, timeout=5.0) as client:
        assert client.get("/console/events", follow_redirects=False).status_code == 303
        client.post("/login", data={"name": Api.account("operator"), "password": PASSWORD})
        with client.stream("GET", "/console/events") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.iter_lines()
            assert [next(lines) for _ in range(3)] == ["retry: 3000", "event: ready", "data: {}"]
            api.services.live_bus.publish(live_events.transfer("page-1", decided=True))
            for line in lines:
                if line.startswith("data: "):
                    # The call's opaque key, never its UUID, reaches the browser.
                    assert f'"key": "{call_key("page-1")}"' in line
                    assert "page-1" not in line
                    break
