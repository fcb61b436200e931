"""axe-core (installed from npm by scripts/setup.sh) run inside the page by the browser tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.web.cdp import Browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def axe_available() -> bool:
    """Whether ``npm ci`` installed axe-core."""
    return AXE.is_file()


def axe_violations(browser: Browser) -> list[dict[str, Any]]:
    """Serious and critical WCAG 2.1 A/AA violations of the current page, as axe reports them."""
    if not browser.evaluate("typeof window.axe !== 'undefined'"):
        browser.evaluate(AXE.read_text(encoding="utf-8") + ";true")
    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
    result = browser.evaluate(
        f"axe.run(document, {json.dumps(options)}).then(r => r.violations.map(v => ("
        "{id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))",
        timeout=60.0,
    )
    return [v for v in result if v["impact"] in BLOCKING]
