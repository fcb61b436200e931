"""Pages in the reader's language: browser preference, explicit choice, city default."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Api
from tests.web.test_pages import sign_in


@pytest.fixture
def browser(api: Api) -> Iterator[TestClient]:
    with api.fresh_client() as client:
        yield client


def test_pages_are_in_the_city_language_by_default(browser: TestClient) -> None:
    page = browser.get("/login")
    assert '<html lang="fr">' in page.text and "Se connecter" in page.text
    assert page.headers["content-language"] == "fr"


def test_the_browser_language_is_followed_when_the_city_offers_it(browser: TestClient) -> None:
    english = browser.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"})
    assert '<html lang="en">' in english.text and ">Sign in<" in english.text
    # Dutch is not a language of this city's KB: its default (French) is used.
    dutch = browser.get("/login", headers={"Accept-Language": "nl-BE"})
    assert '<html lang="fr">' in dutch.text


def test_the_language_chosen_on_the_page_wins(api: Api, browser: TestClient) -> None:
    sign_in(browser, "manager")
    switch = browser.get(
        "/language/en?next=/dashboard%3Fstart%3D2024-03-01", follow_redirects=False
    )
    assert switch.status_code == 303 and switch.headers["location"] == "/dashboard?start=2024-03-01"
    assert "voicebot_lang=en" in switch.headers["set-cookie"]
    page = browser.get(
        "/dashboard?start=2024-03-01&end=2024-03-10", headers={"Accept-Language": "fr"}
    )
    assert '<html lang="en">' in page.text and "Dashboard" in page.text
    # The department names come from the KB in the page language.
    assert "Population Office" in page.text and "Cleanliness" in page.text
    foreign = browser.get("/language/en?next=//evil.example", follow_redirects=False)
    assert foreign.headers["location"] == "/"
    missing = browser.get("/language/nl")
    assert missing.status_code == 404 and "Les pages ne sont pas disponibles" not in missing.text
    assert "The pages are not available in nl." in missing.text


def test_the_language_switcher_lists_the_city_languages(api: Api, browser: TestClient) -> None:
    sign_in(browser, "operator")
    html = browser.get("/console").text
    assert 'href="/language/en?next=/console" lang="en" hreflang="en"' in html
    assert '<span aria-current="true" lang="fr">FR</span>' in html


def test_each_role_lands_on_its_own_page(api: Api, browser: TestClient) -> None:
    for role, page in (
        ("operator", "/console"),
        ("manager", "/dashboard"),
        ("kb_editor", "/dashboard"),
        ("admin", "/dashboard"),
    ):
        sign_in(browser, role)
        home = browser.get("/", follow_redirects=False)
        assert home.status_code == 303 and home.headers["location"] == page, role
    # Asked to come back to a page the role may not open: the role's own page instead.
    landed = sign_in(browser, "operator", "/dashboard")
    assert landed.headers["location"] == "/console"
    landed = sign_in(browser, "manager", "/console")
    assert landed.headers["location"] == "/dashboard"


def test_error_pages_are_translated_and_keep_the_navigation(api: Api, browser: TestClient) -> None:
    sign_in(browser, "manager")
    missing = browser.get("/no-such-page", headers={"Accept": "text/html"})
    assert missing.status_code == 404
    assert "Il n&#39;y a pas de page à cette adresse." in missing.text
    assert 'href="/dashboard"' in missing.text and "Se déconnecter" in missing.text
    refused = browser.get("/console")
    assert refused.status_code == 403 and 'href="/calls"' in refused.text
    # Machines keep JSON errors.
    api_missing = browser.get("/api/nothing", headers={"Accept": "text/html"})
    assert api_missing.status_code == 404 and api_missing.json() == {"detail": "Not Found"}
    assert browser.get("/no-such-page").json() == {"detail": "Not Found"}


def test_api_docs_are_served_without_a_cdn(browser: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        html = browser.get(path).text
        assert "cdn" not in html.lower() and "googleapis" not in html
        scripts = [part.split('"', 1)[0] for part in html.split('src="')[1:]]
        assert scripts and all(src.startswith("/static-offline-docs/") for src in scripts)
        for src in scripts:
            asset = browser.get(src)
            assert asset.status_code == 200 and len(asset.content) > 100_000
