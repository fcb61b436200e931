"""Schema migrations: upgrade to head, idempotence, no drift between models and migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, make_url, text
from sqlalchemy.engine import URL

from tests.calllog.conftest import (
    BACKENDS,
    POSTGRES_ONLY,
    TEST_KEY,
    Database,
    fresh_postgres_schema,
    postgres_base_url,
)
from voicebot.calllog.db import alembic_config, create_calllog_engine, include_object, migrate
from voicebot.calllog.filters import CallFilter
from voicebot.calllog.models import SEARCH_TRGM_INDEX, SQLITE_SEARCH_TABLE
from voicebot.calllog.pseudonymize import Pseudonymizer
from voicebot.calllog.repository import CallLogRepository
from voicebot.calllog.schema import METADATA

BEFORE_CALLS_PAGE = "0002_staff"

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
    "request_hourly",
    "intent_hourly",
    "staff_accounts",
    "staff_sessions",
    "audit_events",
    "kb_versions",
    "callback_updates",
    "routing_corrections",
}


def head_revision() -> str:
    """The newest migration, whatever its name."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def migrate_down(url: URL, revision: str) -> None:
    engine = create_calllog_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
    finally:
        engine.dispose()


def test_migrate_creates_every_table_at_head(database: Database) -> None:
    tables = set(inspect(database.engine).get_table_names())
    assert {t for t in tables if not t.startswith(SQLITE_SEARCH_TABLE)} == EXPECTED_TABLES
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
def test_postgres_gets_a_trigram_index_on_the_call_text(database: Database) -> None:
    indexes = {index["name"] for index in inspect(database.engine).get_indexes("calls")}
    assert SEARCH_TRGM_INDEX in indexes
    turn_indexes = {index["name"] for index in inspect(database.engine).get_indexes("turns")}
    assert "ix_turns_transcript_trgm" not in turn_indexes  # replaced by the call text index


def test_unsupported_urls_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="backend must be one of"):
        create_calllog_engine("mysql://user@localhost/calls")
    with pytest.raises(ValueError, match="psycopg 3 driver"):
        create_calllog_engine("postgresql+psycopg2://postgres@127.0.0.1/test")


@contextmanager
def _unmigrated(kind: str, directory: Path) -> Iterator[URL]:
    if kind == "sqlite":
        yield make_url(f"sqlite:///{directory / 'old.db'}")
        return
    with fresh_postgres_schema(postgres_base_url()) as url:
        yield url


def _insert_0001_call(
    engine: Engine, pk: int, outcome: str, turns: list[tuple[str, str, str]]
) -> None:
    """A call as stored before the calls page (contained by the old, looser rule)."""
    started = datetime(2024, 3, 4, 9, pk, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO calls (id, call_id, started_at, hour_bucket, language, outcome, "
                "turn_count, transfer_count, callback_count, contained, recorded_at) VALUES "
                "(:pk, :cid, :t, :h, 'fr', :outcome, :n, 0, 0, :contained, :t)"
            ),
            {
                "pk": pk,
                "cid": f"old-{pk}",
                "t": started.replace(tzinfo=None) if engine.dialect.name == "sqlite" else started,
                "h": started.replace(minute=0, tzinfo=None)
                if engine.dialect.name == "sqlite"
                else started.replace(minute=0),
                "outcome": outcome,
                "n": len(turns),
                "contained": outcome == "answered",
            },
        )
        for index, (transcript, intent, action) in enumerate(turns):
            connection.execute(
                text(
                    "INSERT INTO turns (call_pk, turn_index, started_at, language, transcript, "
                    "intent, action, timings) VALUES (:pk, :i, :t, 'fr', :tr, :intent, :action, '{}')"
                ),
                {
                    "pk": pk,
                    "i": index,
                    "t": started.replace(tzinfo=None)
                    if engine.dialect.name == "sqlite"
                    else started,
                    "tr": transcript,
                    "intent": intent,
                    "action": action,
                },
            )


@pytest.mark.parametrize("kind", BACKENDS)
def test_upgrade_backfills_search_text_containment_and_rollups(kind: str, tmp_path: Path) -> None:
    with _unmigrated(kind, tmp_path) as url:
        migrate(url, BEFORE_CALLS_PAGE)
        engine = create_calllog_engine(url)
        try:
            _insert_0001_call(
                engine, 1, "answered", [("Où est le parc à conteneurs", "faq:parc", "answer")]
            )
            _insert_0001_call(
                engine,
                2,
                "answered",
                [
                    ("parc à conteneurs", "faq:parc", "answer"),
                    ("non les RATS du parc", "none", "rephrase"),
                ],
            )
            migrate(url)
            with engine.connect() as connection:
                rows = connection.execute(
                    text("SELECT call_id, contained, search_text FROM calls ORDER BY id")
                ).all()
                requests = connection.execute(
                    text("SELECT request, calls FROM request_hourly")
                ).all()
                contained = connection.execute(
                    text("SELECT SUM(contained) FROM call_hourly")
                ).scalar()
            assert [(r[0], bool(r[1])) for r in rows] == [("old-1", True), ("old-2", False)]
            assert rows[1][2] == "parc a conteneurs\nnon les rats du parc"
            assert requests == [("faq:parc", 2)]
            assert contained == 1
            page = CallLogRepository(engine, Pseudonymizer(TEST_KEY, "32")).list_calls(
                CallFilter(text="RATS")
            )
            assert [item.call_id for item in page.items] == ["old-2"]
            # And back down, and up again.
            migrate_down(url, BEFORE_CALLS_PAGE)
            migrate(url)
            assert (
                CallLogRepository(engine, Pseudonymizer(TEST_KEY, "32"))
                .list_calls(CallFilter(text="conteneurs"))
                .total
                == 2
            )
        finally:
            engine.dispose()
