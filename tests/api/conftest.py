"""Fixtures: an app over a migrated, seeded call log (SQLite and PostgreSQL) with keys."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.calllog.conftest import BACKENDS, Database, open_database
from tests.calllog.factories import Turn, make_call
from voicebot.accounts.keys import create_key
from voicebot.accounts.limiter import LoginGuard
from voicebot.accounts.passwords import FAST_TEST_COST, PasswordHashing
from voicebot.accounts.service import StaffAuth
from voicebot.api.kb_history import KbHistory
from voicebot.api.kb_store import KnowledgeBaseStore
from voicebot.api.live import InProcessLiveEventBus
from voicebot.api.services import ApiServices
from voicebot.app import create_app
from voicebot.calllog.stats import CallLogStats
from voicebot.config import Settings
from voicebot.metrics import Metrics
from voicebot.records import CallOutcome, CallRecord, TransferStatus
from voicebot.routing.embedders import Embedder
from voicebot.routing.router import Router

MINIMAL_KB = Path(__file__).parent.parent / "data" / "kb" / "minimal.yaml"
DAY1 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)  # a Monday
DAY2 = DAY1 + timedelta(days=1)
NEW_FAQ_PARKING = {
    "id": "parking",
    "department": "population",
    "questions": {"fr": ["où puis-je me garer"], "en": ["where can i park"]},
    "answer": {"fr": "Le parking est derrière la maison communale.", "en": "Parking is behind."},
}
RANGE = {"start": "2024-03-04T00:00:00+01:00", "end": "2024-03-11T00:00:00+01:00"}
ROLES = ("operator", "manager", "kb_editor", "admin")
PASSWORD = "correct horse battery staple"
"""Every test account's password (``test-<role>`` are the names)."""


def seeded_calls() -> list[CallRecord]:
    """Seven calls over two days, in French and English, every outcome the pages show."""
    return [
        make_call(
            "c-pop-1",
            DAY1,
            outcome=CallOutcome.TRANSFERRED,
            department="population",
            turns=[Turn("population", "je dois renouveler ma carte d'identité", 0.92, "transfer")],
            transfers=[("population", TransferStatus.ANSWER)],
        ),
        make_call(
            "c-faq-1",
            DAY1 + timedelta(minutes=10),
            turns=[Turn("faq:opening_hours", "quelles sont vos heures d'ouverture", 0.95)],
        ),
        make_call(
            "c-none-1",
            DAY1 + timedelta(minutes=20),
            outcome=CallOutcome.FAILED,
            turns=[Turn("none", "je voudrais un permis de pêche", 0.4, "rephrase")],
        ),
        make_call(
            "c-none-2",
            DAY1 + timedelta(minutes=30),
            outcome=CallOutcome.CALLBACK,
            turns=[Turn("none", "un permis de pêche s'il vous plaît", 0.45, "rephrase")],
            callbacks=[("waste", "0470 11 22 33")],
        ),
        make_call(
            "c-faq-2",
            DAY2,
            language="en",
            turns=[Turn("faq:opening_hours", "what are your opening hours", 0.9)],
        ),
        make_call(
            "c-waste-1",
            DAY2 + timedelta(minutes=5),
            language="en",
            outcome=CallOutcome.TRANSFERRED,
            department="waste",
            turns=[Turn("waste", "=my bins were not collected", 0.6, "transfer")],
            transfers=[("waste", TransferStatus.NOANSWER)],
        ),
        make_call(
            "c-pop-2",
            DAY2 + timedelta(minutes=15),
            outcome=CallOutcome.TRANSFERRED,
            department="population",
            turns=[Turn("population", "passeport pour mon fils", 0.88, "transfer")],
            transfers=[("population", TransferStatus.ANSWER)],
        ),
    ]


@dataclass
class Api:
    """A running app (TestClient) and what the tests need around it."""

    db: Database
    services: ApiServices
    app: FastAPI
    client: TestClient
    keys: dict[str, str]
    kb_path: Path

    def as_role(self, role: str) -> dict[str, str]:
        """Headers authenticating with the key of ``role``."""
        return {"Authorization": f"Bearer {self.keys[role]}"}

    @staticmethod
    def account(role: str) -> str:
        """The sign-in name of the test account of ``role`` (password :data:`PASSWORD`)."""
        return f"test-{role}"

    @contextmanager
    def fresh_client(self, guard: LoginGuard | None = None) -> Iterator[TestClient]:
        """A client on a new app sharing everything but the sign-in limits."""
        staff = self.services.staff
        services = dataclasses.replace(
            self.services,
            staff=StaffAuth(
                staff.engine,
                accounts=staff.accounts,
                sessions=staff.sessions,
                guard=guard or LoginGuard(),
                audit=staff.audit,
            ),
        )
        with TestClient(create_app(services)) as client:
            yield client


def make_services(db: Database, kb_path: Path, embedder: Embedder | None, tmp: Path) -> ApiServices:
    """Services over ``db`` with a KB store on a copy of ``kb_path``."""
    return ApiServices(
        engine=db.engine,
        repository=db.repository(),
        stats=CallLogStats(db.engine, "Europe/Brussels"),
        kb_store=KnowledgeBaseStore(kb_path, history=KbHistory(db.engine)),
        live_bus=InProcessLiveEventBus(),
        metrics=Metrics(),
        settings=Settings(data_dir=tmp, kb_path=kb_path),
        staff=StaffAuth.with_hashing(db.engine, PasswordHashing(FAST_TEST_COST)),
        embedder=embedder,
        kb_poll_interval_s=0.2,
        live_recheck_s=0.2,
    )


def follow_with_router(services: ApiServices, embedder: Embedder, cache_dir: Path) -> ApiServices:
    """``services`` with a router built from its KB and rebuilt after each edit, as serve
    keeps the calls' router (for "test a phrase")."""
    current = {"router": Router.build(services.kb_store.current(), embedder, cache_dir)}
    services.kb_store.subscribe(
        lambda kb: current.update(router=Router.build(kb, embedder, cache_dir))
    )
    return dataclasses.replace(services, router_source=lambda: current["router"])


@contextmanager
def running_api(
    kind: str, tmp: Path, embedder: Embedder | None, router_cache: Path | None = None
) -> Iterator[Api]:
    """A seeded database of ``kind`` with keys, and the app over it in a TestClient (with a
    live router when ``router_cache`` is given)."""
    kb_path = tmp / "kb.yaml"
    shutil.copy(MINIMAL_KB, kb_path)
    with open_database(kind, tmp) as db:
        db.repository().save_calls(seeded_calls())
        keys = {role: create_key(db.engine, f"test {role}", role) for role in ROLES}
        services = make_services(db, kb_path, embedder, tmp)
        if router_cache is not None and embedder is not None:
            services = follow_with_router(services, embedder, router_cache)
        for role in ROLES:
            services.staff.accounts.create(
                Api.account(role), PASSWORD, role, display_name=f"Test {role}"
            )
        app = create_app(services)
        try:
            with TestClient(app) as client:
                yield Api(db, services, app, client, keys, kb_path)
        finally:
            services.live_bus.close()
            services.kb_store.close()


@pytest.fixture(scope="module", params=BACKENDS)
def api(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    use_embedder: Embedder,
) -> Iterator[Api]:
    """One seeded database and app per module and backend (tests must not disturb the seed)."""
    with running_api(
        request.param, tmp_path_factory.mktemp(f"api-{request.param}"), use_embedder
    ) as running:
        yield running
