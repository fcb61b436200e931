"""The calls page through HTTP: filters, search, pages of fifty, one call turn by turn."""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Api
from tests.calllog.factories import Turn, make_call
from tests.web.test_pages import sign_in
from voicebot.calllog.repository import CallLogRepository
from voicebot.calllog.views import CallPage
from voicebot.records import CallOutcome, TransferStatus
from voicebot.web import calls_query
from voicebot.web.routes import calls as calls_route

PERIOD = "start=2024-03-01&end=2024-03-10"


@pytest.fixture
def manager(api: Api) -> Iterator[TestClient]:
    with api.fresh_client() as client:
        sign_in(client, "manager")
        yield client


def listed(client: TestClient, query: str) -> list[str]:
    page = client.get(f"/calls?{PERIOD}&{query}")
    assert page.status_code == 200, page.text
    return re.findall(r'<tr class="call" data-call-id="([^"]+)"', page.text)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["c-pop-2", "c-waste-1", "c-faq-2", "c-none-2", "c-none-1", "c-faq-1", "c-pop-1"]),
        ("outcome=transferred", ["c-pop-2", "c-waste-1", "c-pop-1"]),
        ("outcome=failed&outcome=callback", ["c-none-2", "c-none-1"]),
        ("department=population", ["c-pop-2", "c-pop-1"]),
        ("intent=faq%3Aopening_hours", ["c-faq-2", "c-faq-1"]),
        ("intent=none&language=fr", ["c-none-2", "c-none-1"]),
        ("language=en", ["c-waste-1", "c-faq-2"]),
        ("q=PECHE", ["c-none-2", "c-none-1"]),  # accents and case ignored
        ("q=carte+d%27identit%C3%A9", ["c-pop-1"]),
        ("contained=yes", ["c-faq-2", "c-faq-1"]),
        ("callback=yes", ["c-none-2"]),
        ("sort=started_at&department=population", ["c-pop-1", "c-pop-2"]),
        ("q=licorne", []),
    ],
)
def test_filters_and_search(manager: TestClient, query: str, expected: list[str]) -> None:
    assert listed(manager, query) == expected


def test_the_period_is_in_the_city_time_zone(manager: TestClient) -> None:
    # DAY2 calls start at 09:00-09:15 UTC: 10:00-10:15 in Brussels, on 5 March.
    page = manager.get("/calls?start=2024-03-05&end=2024-03-05").text
    assert len(re.findall('<tr class="call"', page)) == 3
    assert '<time datetime="2024-03-05T10:00:00+01:00">5/03/24 10:00</time>' in page


def test_results_come_fifty_a_page_with_links_between_pages(
    manager: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calls_query, "PAGE_SIZE", 3)
    monkeypatch.setattr(calls_route, "PAGE_SIZE", 3)
    first = manager.get(f"/calls?{PERIOD}&sort=started_at").text
    assert "Appels 1 à 3 sur 7" in first and 'rel="prev"' not in first
    second_link = re.search(r'href="([^"]+)" rel="next"', first)
    assert second_link
    second = manager.get(second_link.group(1).replace("&amp;", "&")).text
    assert "Appels 4 à 6 sur 7" in second and 'rel="prev"' in second
    assert re.findall(r'data-call-id="([^"]+)"', second) == ["c-none-2", "c-faq-2", "c-waste-1"]
    last = manager.get(f"/calls?{PERIOD}&sort=started_at&page=3").text
    assert "Appels 7 à 7 sur 7" in last and 'rel="next"' not in last


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "start=2024-03-10&end=2024-03-01",
            "La date de début ne peut pas être après la date de fin.",
        ),
        ("outcome=lost", "outcome : lost n&#39;est pas un code valide"),
        ("contained=maybe", "contained : maybe doit être oui ou non"),
        ("sort=caller", "sort : caller n&#39;est pas un code valide"),
        ("page=two", "page : two n&#39;est pas un code valide"),
    ],
)
def test_bad_filters_are_explained(manager: TestClient, query: str, message: str) -> None:
    page = manager.get(f"/calls?{query}")
    assert page.status_code == 422 and message in page.text


def test_a_call_is_shown_turn_by_turn(api: Api, manager: TestClient) -> None:
    record = make_call(
        "detail-1",
        datetime(2024, 6, 3, 8, 0, tzinfo=UTC),
        outcome=CallOutcome.TRANSFERRED,
        department="population",
        turns=[
            Turn("none", "euh bonjour", 0.5, "rephrase", {"asr": 120.0, "total": 900.0}),
            Turn("population", "ma carte d'identité", 0.9, "transfer", {"routing": 12.5}),
            Turn("dtmf:1", "", None, "menu", dtmf="1"),
        ],
        transfers=[("population", TransferStatus.BUSY)],
    )
    turns = list(record.turns)
    turns[1] = dataclasses.replace(turns[1], runner_up="faq:opening_hours", score=0.81, margin=0.3)
    api.services.repository.save_calls([dataclasses.replace(record, turns=tuple(turns))])
    back = "/calls?start=2024-06-01&end=2024-06-05"
    page = manager.get(f"/calls/detail-1?back={urllib.parse.quote(back)}")
    assert page.status_code == 200
    html = page.text
    assert "Appel du 3 juin 2024, 10:00:00" in html  # summer time in Brussels
    assert f'href="{back.replace("&", "&amp;")}">Retour aux appels' in html
    turns_html = html.split('id="turns"', 1)[1]
    assert "“euh bonjour”" in turns_html and "entendu avec une confiance de 50\xa0%" in turns_html
    assert "asr 120\xa0ms" in turns_html and "total 900\xa0ms" in turns_html
    assert "Service Population — score 0,81" in turns_html
    assert (
        "deuxième choix : quelles sont vos heures d&#39;ouverture, score 0,51 (écart 0,30)"
        in turns_html
    )
    assert "a tapé 1 au clavier" in turns_html
    assert "“réponse à ma carte d&#39;identité”" in turns_html
    assert "A demandé de reformuler" in turns_html and "Transfert annoncé" in turns_html
    assert "<td>occupé</td>" in html  # the transfer's dial status
    # A foreign "back" target falls back to the list.
    assert 'href="/calls">Retour aux appels' in manager.get("/calls/detail-1?back=//evil").text


def test_callback_numbers_are_for_admins_only(api: Api, manager: TestClient) -> None:
    html = manager.get("/calls/c-none-2").text
    assert "0470 11 22 33" not in html and "visible pour les opérateurs" in html
    with api.fresh_client() as admin:
        sign_in(admin, "admin")
        assert "0470 11 22 33" in admin.get("/calls/c-none-2").text


def test_unknown_calls_and_operators_get_clear_pages(api: Api, manager: TestClient) -> None:
    missing = manager.get("/calls/nope")
    assert (
        missing.status_code == 404
        and "Aucun appel ne porte l&#39;identifiant nope." in missing.text
    )
    assert manager.get("/calls/" + "x" * 100).status_code == 404
    with api.fresh_client() as operator:
        sign_in(operator, "operator")
        assert operator.get("/calls").status_code == 403


def test_a_total_given_up_still_offers_the_next_page(
    manager: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calls_query, "PAGE_SIZE", 3)
    monkeypatch.setattr(calls_route, "PAGE_SIZE", 3)
    real = CallLogRepository.list_calls

    def slow_count(self: CallLogRepository, *args: Any, **kwargs: Any) -> CallPage:
        assert kwargs["count_within_ms"] == calls_route.COUNT_WITHIN_MS
        return dataclasses.replace(real(self, *args, **kwargs), total=None)

    monkeypatch.setattr(CallLogRepository, "list_calls", slow_count)
    first = manager.get(f"/calls?{PERIOD}").text
    assert 'data-total=""' in first and "trop pour les compter rapidement" in first
    assert 'rel="next"' in first
    # The last page is not full: its end is known, so is the total.
    last = manager.get(f"/calls?{PERIOD}&page=3").text
    assert 'data-total="7"' in last and 'rel="next"' not in last
