"""Initial call log schema: calls, turns, transfers, callbacks, API keys, hourly rollups.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LOGGER = logging.getLogger(__name__)

TRANSCRIPT_TRGM_INDEX = "ix_turns_transcript_trgm"
NOT_UNDERSTOOD_PREDICATE = "intent = 'none' OR asr_confidence < 0.5"


def _id() -> sa.Column[int]:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def _call_fk() -> sa.Column[int]:
    return sa.Column(
        "call_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
    )


def _utc(name: str, *, nullable: bool = False, now: bool = False) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.func.now() if now else None,
    )


def _trgm_schema() -> str | None:
    """The schema holding pg_trgm, creating the extension in ``public`` if allowed."""
    bind = op.get_bind()
    query = sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'"
    )
    schema = bind.execute(query).scalar()
    if schema is not None:
        return str(schema)
    # Pinned to public: created in a throw-away schema on the search path, the extension
    # (and every index using it) would vanish with that schema.
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        _LOGGER.warning(
            "pg_trgm is not available (%s): transcript search will scan without an index",
            exc.orig,
        )
        return None
    savepoint.commit()
    return "public"


def upgrade() -> None:
    """Create every table and index, plus the trigram index on PostgreSQL when possible."""
    op.create_table(
        "api_keys",
        _id(),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        _utc("created_at", now=True),
        _utc("revoked_at", nullable=True),
        _utc("last_used_at", nullable=True),
        sa.CheckConstraint(
            "role IN ('operator', 'manager', 'admin')", name=op.f("ck_api_keys_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "calls",
        _id(),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        _utc("started_at"),
        _utc("ended_at", nullable=True),
        _utc("hour_bucket"),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("caller_hash", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=128), nullable=True),
        sa.Column("turn_count", sa.Integer(), nullable=False),
        sa.Column("first_intent", sa.String(length=128), nullable=True),
        sa.Column("last_intent", sa.String(length=128), nullable=True),
        sa.Column("asr_confidence_mean", sa.Float(), nullable=True),
        sa.Column("transfer_count", sa.Integer(), nullable=False),
        sa.Column("callback_count", sa.Integer(), nullable=False),
        sa.Column("contained", sa.Boolean(), nullable=False),
        _utc("recorded_at", now=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
        sa.UniqueConstraint("call_id", name=op.f("uq_calls_call_id")),
    )
    op.create_index("ix_calls_started_at_id", "calls", ["started_at", "id"])
    op.create_index("ix_calls_outcome_started_at", "calls", ["outcome", "started_at"])
    op.create_index("ix_calls_department_started_at", "calls", ["department", "started_at"])
    op.create_index("ix_calls_caller_hash", "calls", ["caller_hash"])

    op.create_table(
        "turns",
        _id(),
        _call_fk(),
        sa.Column("turn_index", sa.Integer(), nullable=False),
        _utc("started_at"),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("asr_confidence", sa.Float(), nullable=True),
        sa.Column("intent", sa.String(length=128), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("margin", sa.Float(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("reply_text", sa.Text(), nullable=True),
        sa.Column("dtmf", sa.String(length=32), nullable=True),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_pk"], ["calls.id"], name=op.f("fk_turns_call_pk_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_turns")),
        sa.UniqueConstraint("call_pk", "turn_index", name=op.f("uq_turns_call_pk_turn_index")),
    )
    op.create_index("ix_turns_started_at", "turns", ["started_at"])
    op.create_index("ix_turns_intent_started_at", "turns", ["intent", "started_at"])
    op.create_index(
        "ix_turns_not_understood",
        "turns",
        ["started_at"],
        postgresql_include=["transcript", "intent", "asr_confidence"],
        postgresql_where=sa.text(NOT_UNDERSTOOD_PREDICATE),
        sqlite_where=sa.text(NOT_UNDERSTOOD_PREDICATE),
    )

    op.create_table(
        "transfers",
        _id(),
        _call_fk(),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("extension", sa.String(length=64), nullable=False),
        _utc("requested_at"),
        sa.Column("dial_status", sa.String(length=16), nullable=False),
        sa.Column("fallback", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_pk"], ["calls.id"], name=op.f("fk_transfers_call_pk_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
    )
    op.create_index(op.f("ix_transfers_call_pk"), "transfers", ["call_pk"])

    op.create_table(
        "callbacks",
        _id(),
        _call_fk(),
        _utc("requested_at"),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("caller_number", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        _utc("done_at", nullable=True),
        sa.Column("done_by", sa.String(length=128), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'done')", name=op.f("ck_callbacks_status")),
        sa.ForeignKeyConstraint(
            ["call_pk"], ["calls.id"], name=op.f("fk_callbacks_call_pk_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
    )
    op.create_index(op.f("ix_callbacks_call_pk"), "callbacks", ["call_pk"])
    op.create_index("ix_callbacks_status_requested_at", "callbacks", ["status", "requested_at"])

    op.create_table(
        "call_hourly",
        _utc("hour_bucket"),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("contained", sa.BigInteger(), nullable=False),
        sa.Column("callbacks", sa.BigInteger(), nullable=False),
        sa.Column("duration_sum_s", sa.Float(), nullable=False),
        sa.Column("duration_n", sa.BigInteger(), nullable=False),
        sa.Column("turns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "hour_bucket", "language", "outcome", "department", name=op.f("pk_call_hourly")
        ),
    )
    op.create_table(
        "turn_hourly",
        _utc("hour_bucket"),
        sa.Column("intent", sa.String(length=128), nullable=False),
        sa.Column("turns", sa.BigInteger(), nullable=False),
        sa.Column("asr_confidence_sum", sa.Float(), nullable=False),
        sa.Column("asr_confidence_n", sa.BigInteger(), nullable=False),
        sa.Column("latency_sum_ms", sa.Float(), nullable=False),
        sa.Column("latency_n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hour_bucket", "intent", name=op.f("pk_turn_hourly")),
    )
    op.create_table(
        "transfer_hourly",
        _utc("hour_bucket"),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("dial_status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "hour_bucket", "target", "dial_status", name=op.f("pk_transfer_hourly")
        ),
    )

    if op.get_bind().dialect.name == "postgresql":
        schema = _trgm_schema()
        if schema is not None:
            quoted = op.get_bind().dialect.identifier_preparer.quote_identifier(schema)
            op.execute(
                f"CREATE INDEX {TRANSCRIPT_TRGM_INDEX} ON turns "
                f"USING gin (transcript {quoted}.gin_trgm_ops)"
            )


def downgrade() -> None:
    """Drop every table of the call log (the pg_trgm extension is left installed)."""
    for table in (
        "transfer_hourly",
        "turn_hourly",
        "call_hourly",
        "callbacks",
        "transfers",
        "turns",
        "calls",
        "api_keys",
    ):
        op.drop_table(table)
