"""Engine factory and schema migration for the call log (SQLite file or PostgreSQL)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from voicebot.calllog.models import DURATION_INDEX, SEARCH_TRGM_INDEX, SQLITE_SEARCH_TABLE

_LOGGER = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def _check_url(url: str | URL) -> URL:
    parsed = make_url(url)
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise ValueError(
            f"call log database URL {parsed.render_as_string(hide_password=True)!r}: "
            f"backend must be one of {', '.join(SUPPORTED_BACKENDS)}"
        )
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        raise ValueError(
            f"call log database URL {parsed.render_as_string(hide_password=True)!r}: "
            "use the psycopg 3 driver (postgresql+psycopg://...)"
        )
    return parsed


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        if mode not in ("wal", "memory"):
            cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable against application crashes in WAL mode and much faster than FULL.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def create_calllog_engine(url: str | URL, *, connect_timeout_s: float = 5.0) -> Engine:
    """An engine for the call log: SQLite with WAL and foreign keys, or PostgreSQL via psycopg.

    SQLite file databases use no connection pool, so every transaction reopens the file:
    cheap, and an unavailable file shows up at once as an ``OperationalError`` the writer
    can spool around instead of writing through a stale descriptor.
    """
    parsed = _check_url(url)
    if parsed.get_backend_name() == "sqlite":
        in_memory = parsed.database in (None, "", ":memory:")
        engine = create_engine(
            parsed,
            poolclass=None if in_memory else NullPool,
            # sqlite3's timeout is the busy timeout: how long to wait for another writer.
            connect_args={"timeout": connect_timeout_s},
        )
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    return create_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        pool_timeout=connect_timeout_s,
        connect_args={
            "connect_timeout": max(1, round(connect_timeout_s)),
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        },
    )


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic filter: leave out what models cannot declare: the search index (trigram GIN
    on PostgreSQL, FTS5 table and its shadow tables on SQLite) and the PostgreSQL-only
    duration index."""
    if type_ == "index" and name in (SEARCH_TRGM_INDEX, DURATION_INDEX):
        return False
    return not (type_ == "table" and name is not None and name.startswith(SQLITE_SEARCH_TABLE))


def alembic_config(url: str | URL) -> Config:
    """An Alembic configuration pointing at the migrations shipped in this package."""
    parsed = _check_url(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on '%' in passwords or encoded options.
    config.set_main_option(
        "sqlalchemy.url", parsed.render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def migrate(url: str | URL, revision: str = "head") -> None:
    """Upgrade the call log schema at ``url`` to ``revision`` (default: the latest).

    For a SQLite file, the directory holding it is created if missing.
    """
    parsed = _check_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
    engine = create_calllog_engine(parsed)
    try:
        with engine.begin() as connection:
            config = alembic_config(parsed)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()
    _LOGGER.info("call log schema (%s) upgraded to %s", parsed.get_backend_name(), revision)
