"""Real browser: headless Chromium renders the dashboard charts and the live console.

Screenshots go to ``var/screenshots/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import PASSWORD, Api, running_api
from tests.api.server import serve
from tests.web.cdp import Browser, chromium_available
from voicebot.api.board import LiveCallBoard
from voicebot.api.live import live_event
from voicebot.app import create_app
from voicebot.routing.embedders import Embedder

pytestmark = pytest.mark.skipif(
    not chromium_available(), reason="Debian's chromium is not installed (/usr/bin/chromium)"
)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, use_embedder: Embedder
) -> Iterator[tuple[Api, str]]:
    """The seeded app (SQLite: the pages do not depend on the backend) served over HTTP."""
    with running_api("sqlite", tmp_path_factory.mktemp("browser-api"), use_embedder) as api:
        app = create_app(dataclasses.replace(api.services, board=LiveCallBoard()))
        with serve(app) as base:
            yield api, base


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    chromium = Browser(tmp_path / "chromium-profile")
    yield chromium
    chromium.close()


def sign_in(browser: Browser, base: str, role: str, page: str) -> None:
    """Sign in through the form as the test account of ``role``."""
    browser.goto(f"{base}/login?next={page}")
    browser.submit_and_wait(
        f"document.getElementById('name').value = {json.dumps(Api.account(role))};"
        f"document.getElementById('password').value = {json.dumps(PASSWORD)};"
        "document.getElementById('login-form').submit();"
    )


CHART_DATA = """
(() => {
  const chart = (id, tag) => Array.from(document.querySelectorAll(`#${id} svg [data-value]`))
    .filter(el => el.tagName === tag)
    .map(el => [el.dataset.series, el.dataset.category, el.dataset.value]);
  const box = el => { const r = el.getBoundingClientRect(); return [r.width, r.height]; };
  return {
    intents: chart('chart-intents', 'circle'),
    outcomes: chart('chart-outcomes', 'rect'),
    departments: chart('chart-departments', 'rect'),
    contained: chart('chart-contained', 'circle'),
    legend: Array.from(document.querySelectorAll('#chart-intents .legend-item')).map(e => e.dataset.series),
    labels: Array.from(document.querySelectorAll('#chart-outcomes .category-label')).map(e => e.textContent),
    svgSizes: Array.from(document.querySelectorAll('svg.chart')).map(box),
    calls: document.querySelector('#kpi-calls .value').textContent,
    questions: Array.from(document.querySelectorAll('.question-group')).map(e => e.textContent),
  };
})()
"""


def test_dashboard_renders_charts_with_the_seeded_data(
    site: tuple[Api, str], browser: Browser
) -> None:
    _api, base = site
    sign_in(browser, base, "manager", "/dashboard%3Fstart%3D2024-03-01%26end%3D2024-03-10")
    assert browser.evaluate("location.pathname") == "/dashboard"
    data = browser.evaluate(CHART_DATA)
    assert data["calls"] == "7"
    hours = "quelles sont vos heures d'ouverture"
    assert set(data["legend"]) == {"Service Population", hours, "Non compris", "Propreté"}
    assert len(data["intents"]) == 40
    assert ["Non compris", "4 mars", "2"] in data["intents"]
    outcomes = ["Transféré à un service", "Répondu par l'assistant", "Rappel demandé", "Non traité"]
    assert sorted(data["outcomes"]) == sorted(
        [["appels", name, count] for name, count in zip(outcomes, "3211", strict=True)]
    )
    assert ["transferts décrochés", "Service Population", "2"] in data["departments"]
    assert data["contained"] == [
        ["résolus par l'assistant", "4 mars", "0.25"],
        ["résolus par l'assistant", "5 mars", "0.33"],
    ]
    assert set(data["labels"]) == set(outcomes)
    # Laid out for real: every chart has a visible size.
    assert len(data["svgSizes"]) == 4 and all(w > 200 and h > 100 for w, h in data["svgSizes"])
    assert any("permis de pêche" in q for q in data["questions"])
    browser.screenshot(SCREENSHOTS / "dashboard.png")
    assert (SCREENSHOTS / "dashboard.png").stat().st_size > 10_000


def test_console_shows_live_transfers_and_clears_a_callback(
    site: tuple[Api, str], browser: Browser
) -> None:
    api, base = site
    sign_in(browser, base, "operator", "/console")
    assert browser.evaluate("location.pathname") == "/console"
    assert (
        browser.evaluate("document.querySelector('.callback .number').textContent")
        == "0470 11 22 33"
    )
    browser.wait_for("document.getElementById('live-status').textContent === 'en direct'")

    bus = api.services.live_bus
    bus.publish(live_event("call_started", "live-1", language="fr"))
    bus.publish(live_event("turn", "live-1", transcript="bonjour"))
    bus.publish(
        live_event(
            "transfer",
            "live-1",
            department="population",
            extension="2001",
            intent="population",
            language="fr",
            summary="Renouvellement de carte d'identité",
            utterances=["bonjour", "je dois renouveler ma carte d'identité"],
        )
    )
    item = browser.wait_for(
        "(() => { const li = document.querySelector('li.transfer[data-call-id=\"live-1\"]');"
        " return li && {dept: li.querySelector('.department').textContent,"
        " summary: li.querySelector('.summary').textContent,"
        " said: Array.from(li.querySelectorAll('.utterances li')).map(e => e.textContent),"
        " state: li.querySelector('.state').textContent}; })()"
    )
    assert item == {
        "dept": "Service Population",
        "summary": "Renouvellement de carte d'identité",
        "said": ["“bonjour”", "“je dois renouveler ma carte d'identité”"],
        "state": "transfert en cours",
    }
    assert browser.evaluate("document.getElementById('active-calls').textContent") == "1"
    browser.screenshot(SCREENSHOTS / "console.png")

    bus.publish(live_event("call_ended", "live-1", outcome="transferred"))
    browser.wait_for(
        "document.querySelector('li.transfer[data-call-id=\"live-1\"] .state').textContent === 'terminé'"
    )

    browser.submit_and_wait("document.querySelector('.callback button.done').click()")
    assert (
        browser.evaluate("document.querySelector('#callback-rows').textContent.trim()")
        == "Aucun rappel en attente."
    )
    # The page reloaded from the server: the transfer is still listed from the board.
    browser.wait_for("document.querySelector('li.transfer[data-call-id=\"live-1\"]') !== null")
