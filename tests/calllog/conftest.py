"""Fixtures: a freshly migrated call log database per test, on SQLite and on PostgreSQL.

PostgreSQL tests need ``VOICEBOT_TEST_POSTGRES_URL`` (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) and skip without it. Each one runs in
its own freshly created schema, dropped afterwards, so parallel runs cannot collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from voicebot.calllog.db import create_calllog_engine, migrate
from voicebot.calllog.pseudonymize import Pseudonymizer
from voicebot.calllog.repository import CallLogRepository

POSTGRES_ENV = "VOICEBOT_TEST_POSTGRES_URL"
TEST_KEY = b"calllog-tests-pseudonymisation-key"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
POSTGRES_ONLY = [pytest.param("postgresql", marks=pytest.mark.postgres)]
SQLITE_ONLY = ["sqlite"]


@dataclass
class Database:
    """A migrated call log database for one test (or one module)."""

    kind: str
    url: URL
    engine: Engine
    sqlite_dir: Path | None = None
    """Directory holding the SQLite file (renamed away to stage an outage)."""

    def url_via(self, host: str, port: int) -> URL:
        """The same database reached through another host/port (a proxy)."""
        return self.url.set(host=host, port=port)

    def repository(self, engine: Engine | None = None) -> CallLogRepository:
        """A repository with the tests' pseudonymisation key."""
        return CallLogRepository(engine or self.engine, Pseudonymizer(TEST_KEY, "32"))


def postgres_base_url() -> str:
    """The PostgreSQL URL from the environment, or skip the test."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL tests skipped")
    return url


@contextmanager
def fresh_postgres_schema(base_url: str) -> Iterator[URL]:
    """A new empty schema, as the only one on the search path of the URL returned."""
    schema = f"calllog_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def open_database(kind: str, directory: Path) -> Iterator[Database]:
    """Create and migrate a database of ``kind`` ("sqlite" or "postgresql")."""
    if kind == "sqlite":
        sqlite_dir = directory / "db"
        sqlite_dir.mkdir()
        url = make_url(f"sqlite:///{sqlite_dir / 'calls.db'}")
        migrate(url)
        engine = create_calllog_engine(url)
        try:
            yield Database(kind, url, engine, sqlite_dir)
        finally:
            engine.dispose()
        return
    with fresh_postgres_schema(postgres_base_url()) as url:
        migrate(url)
        engine = create_calllog_engine(url)
        try:
            yield Database(kind, url, engine)
        finally:
            engine.dispose()


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh migrated database, once on SQLite and once on PostgreSQL."""
    with open_database(request.param, tmp_path) as db:
        yield db
