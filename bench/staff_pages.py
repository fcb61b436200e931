"""Staff pages on the 150,000-call / 1,000,000-turn PostgreSQL bench data: calls list,
search and dashboard, as a manager's browser gets them.

    python -m bench.calllog_gen                  # once: 150,000 calls over 90 days
    python -m bench.staff_pages [--runs 20] [--json PATH]

Runs the real application under uvicorn in a child process (``bench.stats_api --serve``:
``create_app(build_services(...))``, one process), signs a bench manager account in
through the login form, then requests each page ``--runs`` times in a row after one
warm-up request, one client, and reports p50/p95 of the whole HTTP response (query,
rendering, transfer) per page. Budgets: calls list and search p95 <= 300 ms; dashboard,
all panels, p95 <= 1000 ms. "Questions not understood" groups texts with the hashed
bag-of-words stand-in embedder (as bench.calllog_stats does): the embedding model's cost is
not what is measured. The account is removed and the server stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.parse
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, delete, func, make_url, select

from bench.calllog_gen import DEFAULT_SCHEMA, DEFAULT_URL
from bench.measure import load_average, machine, summarize
from bench.stats_api import wait_ready
from tests.support.serve_process import free_port
from voicebot.accounts.service import StaffAuth
from voicebot.calllog.db import create_calllog_engine
from voicebot.calllog.models import Call, Turn
from voicebot.calllog.rows import utc_now
from voicebot.calllog.staff_models import StaffAccount

ACCOUNT = "bench.staff-pages"
CALLS_BUDGET_MS = 300.0
DASHBOARD_BUDGET_MS = 1000.0


def pages(today: str, ninety_days_ago: str, thirty_days_ago: str) -> dict[str, tuple[str, float]]:
    """Name -> (path with query, p95 budget in ms) of every page measured."""
    period = f"start={ninety_days_ago}&end={today}"
    month = f"start={thirty_days_ago}&end={today}"
    q = urllib.parse.quote
    calls = {
        "calls, 30 days, newest first": f"/calls?{month}",
        "calls, 90 days, newest first": f"/calls?{period}",
        "calls, 90 days, page 100": f"/calls?{period}&page=100",
        "calls, 90 days, longest first": f"/calls?{period}&sort=-duration",
        "calls, outcome transferred": f"/calls?{period}&outcome=transferred",
        "calls, department etat-civil": f"/calls?{period}&department=etat-civil",
        "calls, request faq:passeport": f"/calls?{period}&intent=faq%3Apasseport",
        "calls, not understood, in Dutch": f"/calls?{period}&intent=none&language=nl",
        "calls, resolved by the assistant": f"/calls?{period}&contained=yes",
        "search 'lampadaire' (rare)": f"/calls?{period}&q=lampadaire",
        "search 'passeport' (common)": f"/calls?{period}&q=passeport",
        "search 'bonjour' (most calls)": f"/calls?{period}&q=bonjour",
        "search 'rats dans le parc' + not understood": (
            f"/calls?{period}&intent=none&q={q('rats dans le parc')}"
        ),
        "search 'état civil' (accents ignored)": f"/calls?{period}&q={q('état civil')}",
        "API /api/calls?q=lampadaire": f"/api/calls?start={ninety_days_ago}&q=lampadaire",
    }
    dashboard = {
        "dashboard, 30 days per day": f"/dashboard?{month}",
        "dashboard, 90 days per day": f"/dashboard?{period}",
        "dashboard, 90 days per week": f"/dashboard?{period}&bucket=week",
        "dashboard, 90 days, Dutch": f"/dashboard?{period}&language=nl",
        "dashboard, 90 days, department etat-civil": f"/dashboard?{period}&department=etat-civil",
    }
    return {name: (path, CALLS_BUDGET_MS) for name, path in calls.items()} | {
        name: (path, DASHBOARD_BUDGET_MS) for name, path in dashboard.items()
    }


def measure(
    base: str, password: str, paths: dict[str, tuple[str, float]], runs: int
) -> dict[str, Any]:
    """Sign in, then ``runs`` sequential requests per page after one warm-up."""
    results: dict[str, Any] = {}
    with httpx.Client(base_url=base, timeout=120.0) as http:
        signed = http.post("/login", data={"name": ACCOUNT, "password": password})
        if signed.status_code != 303 or "voicebot_session" not in http.cookies:
            raise SystemExit(f"bench sign-in failed: HTTP {signed.status_code}")
        for name, (path, budget) in paths.items():
            http.get(path).raise_for_status()  # warm-up: plans, page cache
            samples = []
            for _ in range(runs):
                began = time.perf_counter()
                response = http.get(path)
                samples.append((time.perf_counter() - began) * 1000)
                response.raise_for_status()
            stats = summarize(samples)
            total = re.search(r'data-total="(\d*)"', response.text)
            results[name] = {
                "path": path,
                "ms": stats,
                # Calls pages: the total shown, or "" when counting was given up (150 ms).
                "total": total.group(1) if total else None,
                "budget_p95_ms": budget,
                "within_budget": stats["p95"] <= budget,
                "bytes": len(response.content),
            }
    return results


def run(url: str, schema: str, runs: int) -> dict[str, Any]:
    """Start the app on the bench data, measure every page, clean up."""
    bound = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = create_calllog_engine(bound)
    with engine.connect() as connection:
        calls = connection.execute(select(func.count()).select_from(Call)).scalar_one()
        turns = connection.execute(select(func.count()).select_from(Turn)).scalar_one()
    if not turns:
        raise SystemExit("no bench data: run `python -m bench.calllog_gen` first")
    staff = StaffAuth(engine)
    password = secrets.token_urlsafe(18)
    staff.create_account("bench", None, ACCOUNT, password, "manager")
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.stats_api",
            "--serve",
            bound.render_as_string(hide_password=False),
            "--port",
            str(port),
        ],
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    today = utc_now().astimezone().date()
    try:
        asyncio.run(wait_ready(base, process, 120))
        paths = pages(
            today.isoformat(),
            (today - timedelta(days=89)).isoformat(),
            (today - timedelta(days=29)).isoformat(),
        )
        results = measure(base, password, paths, runs)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        _remove_account(engine)
        engine.dispose()
    return {
        "machine": machine(),
        "database": f"{make_url(url).render_as_string()} schema {schema}",
        "data_set": {"calls": calls, "turns": turns},
        "server": "uvicorn, 1 process; one client, sequential requests",
        "runs_per_page": runs,
        "pages": results,
        "load_average_after": load_average(),
    }


def _remove_account(engine: Engine) -> None:
    # Its sessions go with it (ON DELETE CASCADE); the audit trail keeps the sign-in.
    with engine.begin() as connection:
        connection.execute(delete(StaffAccount).where(StaffAccount.name == ACCOUNT))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: a table on stderr, the JSON on stdout; 1 if a budget is
    exceeded."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--schema", default=DEFAULT_SCHEMA)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    report = run(args.url, args.schema, args.runs)
    for name, item in report["pages"].items():
        flag = "ok" if item["within_budget"] else "OVER"
        print(
            f"{name:46s} p50 {item['ms']['p50']:7.1f} ms  p95 {item['ms']['p95']:7.1f} ms"
            f"  (budget {item['budget_p95_ms']:.0f})  {flag}",
            file=sys.stderr,
        )
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0 if all(item["within_budget"] for item in report["pages"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
