"""The operator console through HTTP: today's cards from the call log with why each call
came, corrections for the learning loop, the callback queue's statuses, the live feed."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import PASSWORD, Api
from tests.api.server import serve
from tests.calllog.factories import Turn, make_call
from tests.support import live_events
from tests.web.test_pages import sign_in
from voicebot.calllog.rows import utc_now
from voicebot.live.events import call_key
from voicebot.records import CallOutcome, TransferReason, TransferStatus

REQUEST = "je dois renouveler ma carte d'identité"


@pytest.fixture
def browser(api: Api) -> Iterator[TestClient]:
    """An operator signed in with a cookie jar of its own."""
    with api.fresh_client() as client:
        sign_in(client, "operator")
        yield client


def _save_busy_fallback(api: Api, call_id: str) -> None:
    """A call of a few minutes ago: population busy, then the operator answered."""
    record = make_call(
        call_id,
        utc_now() - timedelta(minutes=3),
        outcome=CallOutcome.OPERATOR,
        department="population",
        turns=[
            Turn("population", REQUEST, 0.9, "transfer"),
            Turn("transfer_failed", "", None, "operator"),
        ],
        transfers=[("population", TransferStatus.BUSY), ("operator", TransferStatus.ANSWER)],
    )
    first, second = record.transfers
    record = dataclasses.replace(
        record,
        transfers=(
            dataclasses.replace(first, fallback="operator", reason=TransferReason.ROUTED),
            dataclasses.replace(second, extension="1000", reason=TransferReason.BUSY),
        ),
    )
    api.db.repository().save_calls([record])


def _card(html: str, key: str) -> str:
    start = html.index(f'data-key="{key}"')
    return html[start : html.index("</li>", start)]


def test_todays_transfers_stay_listed_after_a_reload_with_why_they_came(
    api: Api, browser: TestClient
) -> None:
    _save_busy_fallback(api, "c-console-busy")
    html = browser.get("/console").text  # the board never heard of it: the call log has it
    card = _card(html, call_key("c-console-busy"))
    assert 'data-reason="busy"' in card
    assert "Service Population était occupé : l&#39;appel est passé à l&#39;accueil." in card
    assert "Service occupé" in card and REQUEST.replace("'", "&#39;") in card
    assert "c-console-busy" not in html  # no call id, no UUID reaches the browser
    assert call_key("c-pop-2") not in html  # a transfer of another day


def test_a_wrong_routing_reported_on_a_card_waits_on_the_learning_page(
    api: Api, browser: TestClient
) -> None:
    _save_busy_fallback(api, "c-console-wrong")
    form = {"card_key": call_key("c-console-wrong"), "should_be": "waste"}
    cross = browser.post("/console/corrections", data=form, headers={"Origin": "http://evil"})
    assert cross.status_code == 403
    unknown = browser.post("/console/corrections", data={**form, "card_key": "c_nothing"})
    assert unknown.status_code == 404
    assert browser.post("/console/corrections", data={**form, "should_be": "x"}).status_code == 400
    reported = browser.post("/console/corrections", data=form, follow_redirects=False)
    assert reported.status_code == 303 and "reported=1" in reported.headers["location"]
    assert "la correction attend" in browser.get(reported.headers["location"]).text
    listed = api.client.get("/api/learning/corrections", headers=api.as_role("manager")).json()
    mine = [c for c in listed["data"] if c["call_id"] == "c-console-wrong"]
    assert [(c["routed_to"], c["should_be"], c["phrases"]) for c in mine] == [
        ("population", "waste", [REQUEST])
    ]


def test_a_callback_goes_through_its_statuses_with_undo_and_a_department_filter(
    api: Api, browser: TestClient
) -> None:
    html = browser.get("/console").text
    key = html.split('<tr class="callback" data-key="', 1)[1].split('"', 1)[0]
    assert key.startswith("cb_")
    assert key not in browser.get("/console?department=population").text
    assert key in browser.get("/console?department=waste").text
    path = f"/console/callbacks/{key}"
    cross = browser.post(f"{path}/status", data={"status": "done"}, headers={"Origin": "http://x"})
    assert cross.status_code == 403
    assert browser.post(f"{path}/status", data={"status": "pending"}).status_code == 400
    assert (
        browser.post("/console/callbacks/cb_nope/status", data={"status": "done"}).status_code
        == 404
    )
    tried = browser.post(
        f"{path}/status?department=waste", data={"status": "no_answer"}, follow_redirects=False
    )
    assert tried.headers["location"] == f"/console?department=waste&changed={key}#callbacks"
    page = browser.get(tried.headers["location"]).text
    row = page[page.index(f'data-key="{key}"') :]
    assert "pas de réponse, à rappeler" in row and "1 tentative" in row
    assert "par Test operator à " in row  # who acted, and when (city time)
    assert "Modification enregistrée." in page and f"{path}/undo?department=waste" in page
    browser.post(f"{path}/status", data={"status": "done"})
    assert key not in browser.get("/console").text
    browser.post(f"{path}/undo")  # back to "no answer"
    assert "pas de réponse" in browser.get("/console/callbacks").text
    browser.post(f"{path}/undo")  # back to "to do", as the other tests expect it
    assert "à faire" in browser.get("/console/callbacks").text
    assert browser.post(f"{path}/undo").status_code == 409


def _messages(lines: Iterator[str], count: int) -> list[tuple[str, dict[str, object]]]:
    found: list[tuple[str, dict[str, object]]] = []
    name = ""
    for line in lines:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: ") and name != "ready":
            found.append((name, json.loads(line[6:])))
            if len(found) == count:
                break
    return found


def test_the_live_feed_sends_rendered_cards_and_the_filtered_callbacks(api: Api) -> None:
    bus = api.services.live_bus
    with serve(api.app) as base, httpx.Client(base_url=base, timeout=10.0) as client:
        client.post("/login", data={"name": Api.account("operator"), "password": PASSWORD})
        with client.stream("GET", "/console/events?department=waste") as response:
            lines = response.iter_lines()
            assert [next(lines) for _ in range(3)] == ["retry: 3000", "event: ready", "data: {}"]
            bus.publish(
                live_events.transfer(
                    "feed-1",
                    decided=True,
                    target="operator",
                    extension="1000",
                    reason=TransferReason.BUSY,
                    utterances=(REQUEST,),
                )
            )
            bus.publish(
                live_events.callback(
                    "feed-1", "cb_feed_pop", department="population", caller_number="0470", note=""
                )
            )
            bus.publish(
                live_events.callback(
                    "feed-2", "cb_feed_waste", department="waste", caller_number="0471", note="sacs"
                )
            )
            received = _messages(lines, 2)
    (card_name, card), (row_name, row) = received
    assert card_name == "card" and card["key"] == call_key("feed-1")
    assert 'data-reason="busy"' in str(card["html"]) and "était occupé" in str(card["html"])
    assert str(card["announce"]).endswith(f"“{REQUEST}”")
    assert (row_name, row["key"]) == ("callback", "cb_feed_waste")  # population filtered out
    assert "0471" in str(row["html"]) and "Nouvelle demande de rappel" in str(row["announce"])
    assert "feed-1" not in json.dumps(received) and "feed-2" not in json.dumps(received)
