"""Schema migrations: upgrade to head, idempotence, no drift between models and migrations."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from tests.calllog.conftest import POSTGRES_ONLY, Database
from voicebot.calllog.db import alembic_config, create_calllog_engine, include_object, migrate
from voicebot.calllog.models import TRANSCRIPT_TRGM_INDEX
from voicebot.calllog.schema import METADATA

EXPECTED_TABLES = {
    "alembic_version",
    "api_keys",
    "calls",
    "turns",
    "transfers",
    "callbacks",
    "call_hourly",
    "turn_hourly",
    "transfer_hourly",
    "staff_accounts",
    "staff_sessions",
    "audit_events",
    "kb_versions",
    "callback_updates",
}


def head_revision() -> str:
    """The newest migration, whatever its name."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def test_migrate_creates_every_table_at_head(database: Database) -> None:
    assert set(inspect(database.engine).get_table_names()) == EXPECTED_TABLES
    with database.engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert version == head_revision()


def test_migrate_twice_is_a_no_op(database: Database) -> None:
    migrate(database.url)
    with database.engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    assert versions == [(head_revision(),)]


def test_autogenerate_finds_no_difference_with_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_object}
        )
        diff = compare_metadata(context, METADATA)
    assert diff == []


def test_sqlite_file_gets_its_directory_wal_and_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'calllog' / 'wal.db'}"
    migrate(url)
    assert (tmp_path / "var" / "calllog" / "wal.db").is_file()
    engine = create_calllog_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


@pytest.mark.parametrize("database", POSTGRES_ONLY, indirect=True)
def test_postgres_gets_a_trigram_index_on_transcripts(database: Database) -> None:
    indexes = {index["name"] for index in inspect(database.engine).get_indexes("turns")}
    assert TRANSCRIPT_TRGM_INDEX in indexes


def test_unsupported_urls_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="backend must be one of"):
        create_calllog_engine("mysql://user@localhost/calls")
    with pytest.raises(ValueError, match="psycopg 3 driver"):
        create_calllog_engine("postgresql+psycopg2://postgres@127.0.0.1/test")
