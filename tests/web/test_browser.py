"""Real browser: headless Chromium on every staff page, checked with axe-core.

Every page: no serious or critical axe-core violation (WCAG 2.1 A/AA), no sideways scroll
at 320 CSS px, French by default for a Belgian browser. The dashboard: charts with colours
of at least 3:1 against the card and each other, and a table of each chart's numbers.
Screenshots go to a temporary directory (printed with ``-s``), never into the tree.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.api.conftest import PASSWORD, Api, running_api
from tests.api.server import serve
from tests.calllog.factories import Turn, make_call
from tests.support import live_events
from tests.web.axe import axe_available, axe_violations
from tests.web.cdp import Browser, chromium_available
from voicebot.api.board import LiveCallBoard
from voicebot.app import create_app
from voicebot.calllog.rows import utc_now
from voicebot.live.events import call_key
from voicebot.records import CallOutcome, TransferReason
from voicebot.routing.embedders import Embedder
from voicebot.web.charts import contrast_ratio

pytestmark = [
    pytest.mark.skipif(
        not chromium_available(), reason="Debian's chromium is not installed (/usr/bin/chromium)"
    ),
    pytest.mark.skipif(not axe_available(), reason="axe-core missing: run scripts/setup.sh"),
]
PERIOD = "start=2024-03-01&end=2024-03-10"


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, use_embedder: Embedder
) -> Iterator[tuple[Api, str]]:
    """The seeded app (SQLite: the pages do not depend on the backend) served over HTTP."""
    with running_api("sqlite", tmp_path_factory.mktemp("browser-api"), use_embedder) as api:
        app = create_app(dataclasses.replace(api.services, board=LiveCallBoard()))
        with serve(app) as base:
            yield api, base


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("screenshots")
    print(f"screenshots in {folder}")
    return folder


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    chromium = Browser(tmp_path / "chromium-profile")
    yield chromium
    chromium.close()


def sign_in(browser: Browser, base: str, role: str, page: str = "/") -> None:
    """Sign in through the form as the test account of ``role``."""
    browser.goto(f"{base}/login?next={page}")
    browser.submit_and_wait(
        f"document.getElementById('name').value = {json.dumps(Api.account(role))};"
        f"document.getElementById('password').value = {json.dumps(PASSWORD)};"
        "document.getElementById('login-form').submit();"
    )


def check_page(browser: Browser, name: str, screenshots: Path) -> None:
    """axe-core clean, French, and no horizontal scroll at 320 CSS px."""
    assert browser.evaluate("document.documentElement.lang") == "fr"
    violations = axe_violations(browser)
    assert violations == [], f"{name}: {json.dumps(violations, indent=1, ensure_ascii=False)}"
    browser.set_viewport(320, 800)
    overflow = browser.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    browser.screenshot(screenshots / f"{name}-320.png")
    assert overflow <= 0, f"{name}: {overflow} px of sideways scroll at 320 px"
    browser.set_viewport(1400, 1000)
    browser.screenshot(screenshots / f"{name}.png")


def test_every_manager_page_passes_axe_and_fits_a_phone(
    site: tuple[Api, str], browser: Browser, screenshots: Path
) -> None:
    _api, base = site
    browser.goto(f"{base}/login")
    check_page(browser, "login", screenshots)
    sign_in(browser, base, "manager", f"/dashboard%3F{PERIOD.replace('&', '%26')}")
    assert browser.evaluate("location.pathname") == "/dashboard"
    check_page(browser, "dashboard", screenshots)
    browser.goto(f"{base}/calls?{PERIOD}")
    assert browser.evaluate("document.querySelectorAll('tr.call').length") == 7
    check_page(browser, "calls", screenshots)
    browser.goto(f"{base}/calls?{PERIOD}&q=peche")
    assert browser.evaluate("document.querySelectorAll('tr.call').length") == 2
    browser.submit_and_wait("document.querySelector('tr.call a').click()")
    assert browser.evaluate("location.pathname").startswith("/calls/c-none-")
    check_page(browser, "call", screenshots)
    browser.goto(f"{base}/no-such-page")
    check_page(browser, "error-404", screenshots)
    browser.goto(f"{base}/console")
    assert "opérateur" in browser.evaluate("document.getElementById('error-message').textContent")
    check_page(browser, "error-403", screenshots)


def test_dashboard_charts_meet_contrast_and_have_tables(
    site: tuple[Api, str], browser: Browser
) -> None:
    _api, base = site
    sign_in(browser, base, "manager", f"/dashboard%3F{PERIOD.replace('&', '%26')}")
    charts = browser.evaluate(
        """Array.from(document.querySelectorAll('section.card svg.chart')).map(svg => {
             const section = svg.closest('section');
             const marks = Array.from(svg.querySelectorAll('[data-value]'));
             return {
               id: section.id,
               fills: [...new Set(marks.map(m => m.getAttribute('fill')))],
               categories: [...new Set(marks.map(m => m.dataset.category))].length,
               rows: section.querySelectorAll('table tbody tr').length,
               links: svg.querySelectorAll('a[href^="/calls?"]').length,
               card: getComputedStyle(section).backgroundColor,
               size: [svg.getBoundingClientRect().width, svg.getBoundingClientRect().height],
             };
           })"""
    )
    assert [c["id"] for c in charts] == [
        "chart-requests",
        "chart-contained",
        "chart-outcomes",
        "chart-departments",
    ]
    for chart in charts:
        assert chart["card"] == "rgb(255, 255, 255)"
        for fill in chart["fills"]:
            assert contrast_ratio(fill, "#ffffff") >= 3.0, (chart["id"], fill)
        for first in chart["fills"]:
            for second in chart["fills"]:
                if first != second:
                    assert contrast_ratio(first, second) >= 3.0, (chart["id"], first, second)
        # Each chart's numbers are in a table too, one row per category, and link to calls.
        assert chart["rows"] == chart["categories"] > 0, chart
        assert chart["links"] >= chart["categories"], chart
        assert chart["size"][0] > 200 and chart["size"][1] > 60
    assert len(charts[-1]["fills"]) == 2  # calls and answered transfers
    # A bar is a link to its calls; following it lists exactly the calls it counted.
    browser.submit_and_wait(
        "document.querySelector('#chart-outcomes svg a[aria-label*=\"Transféré\"]')"
        ".dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true}))"
    )
    assert browser.evaluate("location.pathname") == "/calls"
    assert browser.evaluate("document.querySelectorAll('tr.call').length") == 3


def test_console_passes_axe_and_shows_live_transfers(
    site: tuple[Api, str], browser: Browser, screenshots: Path
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
    bus.publish(live_events.started("live-1"))
    bus.publish(
        live_events.transfer(
            "live-1",
            summary="Renouvellement de carte d'identité",
            utterances=("bonjour", "je dois renouveler ma carte d'identité"),
        )
    )
    card = f"li.transfer[data-key={json.dumps(call_key('live-1'))}]"
    item = browser.wait_for(
        f"(() => {{ const li = document.querySelector({json.dumps(card)});"
        " return li && {dept: li.querySelector('.department').textContent,"
        " ext: li.querySelector('.extension').textContent,"
        " lang: li.querySelector('.language').textContent,"
        " state: li.querySelector('.state').textContent}; })()"
    )
    assert item == {
        "dept": "Service Population",
        "ext": "poste 2001",
        "lang": "Français",
        "state": "transfert en cours",
    }
    # Population turns out busy: the same card now says why the operator gets the call.
    bus.publish(
        live_events.transfer(
            "live-1",
            decided=True,
            target="operator",
            extension="1000",
            reason=TransferReason.BUSY,
            utterances=("je dois renouveler ma carte d'identité",),
        )
    )
    busy = card + '[data-reason="busy"] .reason-text'
    assert browser.wait_for(f"document.querySelector({json.dumps(busy)})?.textContent") == (
        "Service Population était occupé : l'appel est passé à l'accueil."
    )
    said = browser.wait_for("document.getElementById('announcer').textContent")
    assert "était occupé" in said and said.endswith("“je dois renouveler ma carte d'identité”")
    # A callback request appears as the caller makes it, with screen readers told.
    bus.publish(
        live_events.callback(
            "live-2",
            "cb_browser_live",
            department="population",
            caller_number="0470 55 66 77",
            note="permis",
        )
    )
    browser.wait_for("document.querySelector('tr.callback[data-key=\"cb_browser_live\"]') !== null")
    assert browser.wait_for(
        "document.getElementById('announcer').textContent.startsWith('Nouvelle demande de rappel')"
    )
    check_page(browser, "console", screenshots)
    bus.publish(live_events.ended("live-1"))
    browser.wait_for(
        f"document.querySelector({json.dumps(card + ' .state')}).textContent === 'terminé'"
    )
    browser.submit_and_wait("document.querySelector('.callback button.done').click()")
    rows = "document.querySelector('#callback-rows').textContent"
    assert "0470 11 22 33" not in browser.evaluate(rows)
    assert "0470 55 66 77" in browser.evaluate(rows)  # announced live, not stored yet
    check_page(browser, "console after a change", screenshots)  # with the undo notice
    browser.submit_and_wait("document.querySelector('.notice button.undo').click()")
    assert "0470 11 22 33" in browser.evaluate(rows)


def test_the_pages_follow_the_language_chosen(site: tuple[Api, str], browser: Browser) -> None:
    _api, base = site
    sign_in(browser, base, "manager", f"/dashboard%3F{PERIOD.replace('&', '%26')}")
    browser.submit_and_wait("document.querySelector('ul.languages a[lang=\"en\"]').click()")
    assert browser.evaluate("document.documentElement.lang") == "en"
    assert browser.evaluate("location.search") == f"?{PERIOD}"
    assert browser.evaluate("document.querySelector('h1').textContent") == "Dashboard"
    assert axe_violations(browser) == []


def test_api_docs_render_without_internet(site: tuple[Api, str], browser: Browser) -> None:
    _, base = site
    browser.goto(f"{base}/docs")
    # Chromium here has no route to any CDN: operations appear only from the local assets.
    count = browser.wait_for("document.querySelectorAll('.swagger-ui .opblock').length", 20.0)
    assert count > 10
    browser.goto(f"{base}/redoc")
    assert browser.wait_for("document.querySelectorAll('[data-section-id]').length", 20.0) > 10


def test_the_learning_page_passes_axe_with_its_forms(
    site: tuple[Api, str], browser: Browser, screenshots: Path
) -> None:
    api, base = site
    recent = utc_now() - timedelta(days=1)
    api.db.repository().save_calls(
        [
            make_call(
                f"axe-nu-{n}",
                recent + timedelta(minutes=n),
                outcome=CallOutcome.FAILED,
                turns=[Turn("none", "un permis pour pêcher dans l'étang", 0.5, "rephrase")],
            )
            for n in range(2)
        ]
    )
    sign_in(browser, base, "kb_editor", "/learning")
    assert browser.evaluate("location.pathname") == "/learning"
    assert browser.evaluate("document.querySelectorAll('form.teach').length") >= 1
    check_page(browser, "learning", screenshots)
    browser.goto(f"{base}/learning/faq/new?question=o%C3%B9%20est%20le%20parc")
    check_page(browser, "faq-new", screenshots)
