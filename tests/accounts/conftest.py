"""Fixtures: a migrated call log database (SQLite and PostgreSQL) and staff services on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.calllog.conftest import BACKENDS, Database, open_database
from voicebot.accounts.passwords import FAST_TEST_COST, PasswordHashing
from voicebot.accounts.service import StaffAuth


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh call log database per test."""
    with open_database(request.param, tmp_path) as db:
        yield db


@pytest.fixture
def staff(database: Database) -> StaffAuth:
    """Staff services with real argon2id at a small cost."""
    return StaffAuth.with_hashing(database.engine, PasswordHashing(FAST_TEST_COST))
