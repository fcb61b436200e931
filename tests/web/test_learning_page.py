"""The learning page over HTTP: what to learn from, test a phrase, teach it, before/after,
new FAQ entries, corrections, versions and revert; roles."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import BACKENDS, MINIMAL_KB, Api, running_api
from tests.calllog.factories import Turn, make_call
from tests.support import live_events
from tests.web.test_pages import sign_in
from voicebot.calllog.rows import utc_now
from voicebot.records import CallOutcome
from voicebot.routing.embedders import Embedder

PHRASE = "je voudrais inscrire mon enfant au cours de natation"


@pytest.fixture(scope="module", params=BACKENDS)
def site(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    use_embedder: Embedder,
    router_cache: Path,
) -> Iterator[Api]:
    tmp = tmp_path_factory.mktemp(f"learning-{request.param}")
    with running_api(request.param, tmp, use_embedder, router_cache) as api:
        yield api


@pytest.fixture
def browser(site: Api) -> Iterator[TestClient]:
    with site.fresh_client() as client:
        yield client


def _follow(client: TestClient, response_location: str) -> str:
    page = client.get(response_location)
    assert page.status_code == 200, page.text
    return page.text


def test_the_page_lists_what_was_not_understood_with_actions(
    site: Api, browser: TestClient
) -> None:
    yesterday = utc_now() - timedelta(days=1)
    site.db.repository().save_calls(
        [
            make_call(
                f"nu-recent-{n}",
                yesterday + timedelta(minutes=n),
                outcome=CallOutcome.FAILED,
                turns=[Turn("none", "un permis pour pêcher dans l'étang", 0.5, "rephrase")],
            )
            for n in range(2)
        ]
    )
    sign_in(browser, "kb_editor")
    page = browser.get("/learning")
    assert page.status_code == 200
    html = page.text
    assert "<h1>Apprentissage</h1>" in html and 'href="/learning" aria-current="page"' in html
    item = html.split('data-phrase="un permis pour pêcher dans l&#39;étang"', 1)[1]
    item = item.split("</li>", 1)[0]
    assert "2 fois" in item and "Tester cette phrase" in item and "Nouvelle entrée de FAQ" in item
    assert 'action="/learning/phrases"' in item and 'name="before" value="none"' in item


def test_test_teach_and_test_again_shows_before_and_after(site: Api, browser: TestClient) -> None:
    sign_in(browser, "kb_editor")
    tested = browser.get("/learning", params={"phrase": PHRASE, "language": "fr"})
    assert tested.status_code == 200
    before = tested.text.split('id="decision-now" data-label="', 1)[1].split('"', 1)[0]
    assert before != "waste"
    added = browser.post(
        "/learning/phrases",
        data={"phrase": PHRASE, "language": "fr", "target": "waste", "before": before},
        follow_redirects=False,
    )
    assert added.status_code == 303
    location = added.headers["location"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    assert query["added"] == ["waste"] and query["before"] == [before]
    assert site.services.kb_store.wait_applied(timeout=300.0)
    html = _follow(browser, location)
    assert 'id="decision-before" data-label="' + before + '"' in html
    assert 'id="decision-now" data-label="waste" data-settled="true"' in html
    assert "Appris comme" in html and "Propreté" in html
    refused = browser.post(
        "/learning/phrases",
        data={"phrase": PHRASE, "language": "fr", "target": "population", "before": "waste"},
        follow_redirects=False,
    )
    error_page = _follow(browser, refused.headers["location"])
    assert "La base de connaissances a refusé cette modification" in error_page
    assert "is already an example of waste" in error_page


def test_managers_read_and_test_but_do_not_edit(site: Api, browser: TestClient) -> None:
    sign_in(browser, "manager")
    page = browser.get("/learning", params={"phrase": "bonjour", "language": "fr"})
    assert page.status_code == 200 and 'id="decision-now"' in page.text
    assert 'action="/learning/phrases"' not in page.text
    refused = browser.post(
        "/learning/phrases",
        data={"phrase": "bonjour", "language": "fr", "target": "waste"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    sign_in(browser, "operator")
    assert browser.get("/learning").status_code == 403


def test_a_new_faq_entry_from_the_page(site: Api, browser: TestClient) -> None:
    sign_in(browser, "kb_editor")
    form = browser.get("/learning/faq/new", params={"question": "où se trouve le parking vélo"})
    assert form.status_code == 200 and 'value="où se trouve le parking vélo"' in form.text
    missing = browser.post(
        "/learning/faq",
        data={"question": "où se trouve le parking vélo", "language": "fr", "answer_fr": "Devant."},
    )
    assert missing.status_code == 422 and "language &#39;en&#39; missing" in missing.text
    created = browser.post(
        "/learning/faq",
        data={
            "question": "où se trouve le parking vélo",
            "language": "fr",
            "answer_fr": "Devant la maison communale.",
            "answer_en": "In front of the town hall.",
            "question_en": "where is the bike parking",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    entry = site.services.kb_store.current().faq_entry("ou_se_trouve_le_parking_velo")
    assert entry.questions == {
        "fr": ("où se trouve le parking vélo",),
        "en": ("where is the bike parking",),
    }


def test_versions_are_listed_and_one_click_brings_one_back(site: Api, browser: TestClient) -> None:
    sign_in(browser, "kb_editor")
    html = browser.get("/learning").text
    versions = [
        int(chunk.split('"', 1)[0]) for chunk in html.split('class="kb-version" data-version="')[1:]
    ]
    assert len(versions) >= 2 and versions == sorted(versions, reverse=True)
    oldest = versions[-1]
    back = browser.post(f"/learning/versions/{oldest}/revert", follow_redirects=False)
    assert back.status_code == 303
    assert "Retour à la version" in _follow(browser, back.headers["location"])
    assert site.services.kb_store.path.read_text(encoding="utf-8") == MINIMAL_KB.read_text(
        encoding="utf-8"
    )
    cross = browser.post(
        f"/learning/versions/{oldest}/revert", headers={"Origin": "http://evil.example"}
    )
    assert cross.status_code == 403


def test_an_operator_correction_is_taught_from_the_page(site: Api, browser: TestClient) -> None:
    site.services.live_bus.publish(
        live_events.transfer(
            "page-corr-1", utterances=("il y a un dépôt clandestin devant chez moi",)
        )
    )
    deadline = time.monotonic() + 30.0
    while (
        card := next(
            (t for t in site.services.board.transfers() if t.call_id == "page-corr-1"), None
        )
    ) is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    reported = site.client.post(
        "/api/learning/corrections",
        json={"card_key": card.card_key, "should_be": "waste"},
        headers=site.as_role("operator"),
    )
    assert reported.status_code == 201
    correction = reported.json()["id"]
    sign_in(browser, "kb_editor")
    html = browser.get("/learning").text
    assert f'data-correction-id="{correction}"' in html
    assert "il y a un dépôt clandestin devant chez moi" in html
    taught = browser.post(
        "/learning/phrases",
        data={
            "phrase": "il y a un dépôt clandestin devant chez moi",
            "language": "fr",
            "target": "waste",
            "before": "population",
            "correction_id": str(correction),
        },
        follow_redirects=False,
    )
    assert taught.status_code == 303
    assert f'data-correction-id="{correction}"' not in browser.get("/learning").text
