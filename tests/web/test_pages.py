"""Pages through HTTP: sign-in cookie, roles, dashboard charts from the seed, console."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Api
from tests.api.server import serve
from tests.web.svg import chart_in, legend, values
from voicebot.api.auth import FailedAttemptLimiter
from voicebot.api.live import live_event

DASHBOARD = "/dashboard?start=2024-03-01&end=2024-03-10"


@pytest.fixture
def browser(api: Api) -> Iterator[TestClient]:
    """A client with its own cookie jar (not signed in)."""
    with api.fresh_client() as client:
        yield client


def sign_in(client: TestClient, key: str, next_page: str = "") -> httpx.Response:
    return client.post("/login", data={"key": key, "next": next_page}, follow_redirects=False)


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
    response = sign_in(browser, api.keys["manager"], DASHBOARD)
    assert response.status_code == 303 and response.headers["location"] == DASHBOARD
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("voicebot_key=vb_")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; set over HTTPS
    assert browser.get(DASHBOARD).status_code == 200


def test_sign_in_refuses_bad_keys_and_foreign_redirects(api: Api, browser: TestClient) -> None:
    bad = sign_in(browser, "vb_wrong")
    assert bad.status_code == 401 and "Clé inconnue ou révoquée." in bad.text
    assert "set-cookie" not in bad.headers
    response = sign_in(browser, api.keys["operator"], "//evil.example/steal")
    assert response.headers["location"] == "/console"  # operators land on the console
    cross = browser.post(
        "/login", data={"key": api.keys["admin"]}, headers={"Origin": "http://evil.example"}
    )
    assert cross.status_code == 403


def test_sign_in_brute_force_is_limited(api: Api) -> None:
    with api.fresh_client(FailedAttemptLimiter(max_failures=3, window_s=60)) as client:
        for _ in range(3):
            assert sign_in(client, "vb_guess").status_code == 401
        blocked = sign_in(client, api.keys["admin"])
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1


def test_roles_are_enforced_on_pages(api: Api, browser: TestClient) -> None:
    sign_in(browser, api.keys["operator"])
    assert browser.get("/dashboard").status_code == 403
    assert browser.get("/console").status_code == 200
    sign_in(browser, api.keys["manager"])
    refused = browser.get("/console")
    assert refused.status_code == 403 and "opérateur ou administrateur" in refused.text
    sign_in(browser, api.keys["admin"])
    assert browser.get("/console").status_code == 200
    assert browser.get("/dashboard").status_code == 200


def test_revoked_key_ends_the_session(api: Api, browser: TestClient) -> None:
    created = api.client.post(
        "/api/keys", headers=api.as_role("admin"), json={"name": "temp", "role": "manager"}
    ).json()
    sign_in(browser, created["key"])
    assert browser.get("/dashboard").status_code == 200
    api.client.post(f"/api/keys/{created['id']}/revoke", headers=api.as_role("admin"))
    after = browser.get("/dashboard", follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"].startswith("/login")


def test_dashboard_charts_show_the_seeded_calls(api: Api, browser: TestClient) -> None:
    sign_in(browser, api.keys["manager"])
    page = browser.get(DASHBOARD)
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    html = page.text
    assert 'id="kpi-calls"><span class="value">7<' in html
    assert 'id="kpi-contained"><span class="value">29\xa0%<' in html

    intents = chart_in(html, "chart-intents")
    hours = "quelles sont vos heures d'ouverture"
    assert set(legend(intents)) == {"Service Population", hours, "Non compris", "Propreté"}
    points = values(intents, "circle")
    assert len(points) == 4 * 10  # four intents × ten days
    assert points[("Non compris", "4 mars")] == "2" and points[("Propreté", "5 mars")] == "1"
    assert points[("Service Population", "6 mars")] == "0"

    outcomes = values(chart_in(html, "chart-outcomes"), "rect")
    assert outcomes == {
        ("appels", "Transféré à un service"): "3",
        ("appels", "Répondu par l'assistant"): "2",
        ("appels", "Rappel demandé"): "1",
        ("appels", "Non traité"): "1",
    }
    departments = values(chart_in(html, "chart-departments"), "rect")
    assert departments[("appels", "Service Population")] == "2"
    assert departments[("transferts décrochés", "Service Population")] == "2"
    assert departments[("transferts décrochés", "Propreté")] == "0"

    contained = values(chart_in(html, "chart-contained"), "circle")
    assert contained == {
        ("résolus par l'assistant", "4 mars"): "0.25",
        ("résolus par l'assistant", "5 mars"): "0.33",
    }
    assert 'class="question-group"' in html and "permis de pêche" in html


def test_dashboard_language_filter_and_bad_filters(api: Api, browser: TestClient) -> None:
    sign_in(browser, api.keys["manager"])
    english = browser.get(DASHBOARD + "&language=en&bucket=week").text
    assert 'id="kpi-calls"><span class="value">2<' in english
    assert values(chart_in(english, "chart-outcomes"), "rect") == {
        ("appels", "Répondu par l'assistant"): "1",
        ("appels", "Transféré à un service"): "1",
    }
    assert values(chart_in(english, "chart-departments"), "rect") == {("appels", "Propreté"): "1"}
    assert "Les intentions couvrent toutes les langues." in english
    weekly = values(chart_in(english, "chart-intents"), "circle")
    assert weekly[("Service Population", "semaine du 4 mars")] == "2"
    bad = browser.get("/dashboard?start=2024-03-10&end=2024-03-01")
    assert bad.status_code == 422
    assert "La date de début ne peut pas être après la date de fin." in bad.text
    assert browser.get("/dashboard?start=tomorrow").status_code == 422
    assert browser.get("/dashboard?bucket=hour").status_code == 422


def test_dashboard_csv_download(api: Api, browser: TestClient) -> None:
    sign_in(browser, api.keys["manager"])
    response = browser.get("/dashboard/calls.csv?start=2024-03-05&end=2024-03-05&language=en")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["call_id"] for r in rows} == {"c-faq-2", "c-waste-1"}


def test_console_shows_callbacks_and_marks_them_done(api: Api, browser: TestClient) -> None:
    sign_in(browser, api.keys["operator"])
    html = browser.get("/console").text
    assert "0470 11 22 33" in html and "Propreté" in html
    callback_id = html.split('data-callback-id="', 1)[1].split('"', 1)[0]
    cross = browser.post(
        f"/console/callbacks/{callback_id}/done", headers={"Origin": "http://evil.example"}
    )
    assert cross.status_code == 403
    done = browser.post(f"/console/callbacks/{callback_id}/done", follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/console#callbacks"
    assert "Aucun rappel en attente." in browser.get("/console/callbacks").text
    assert browser.post("/console/callbacks/999999/done").status_code == 404


def test_console_event_stream_uses_the_session_cookie(api: Api) -> None:
    with serve(api.app) as base, httpx.Client(base_url=base, timeout=5.0) as client:
        assert client.get("/console/events", follow_redirects=False).status_code == 303
        client.post("/login", data={"key": api.keys["operator"]})
        with client.stream("GET", "/console/events") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.iter_lines()
            assert [next(lines) for _ in range(3)] == ["retry: 3000", "event: ready", "data: {}"]
            api.services.live_bus.publish(live_event("call_started", "page-1"))
            for line in lines:
                if line.startswith("data: "):
                    assert '"call_id": "page-1"' in line
                    break
