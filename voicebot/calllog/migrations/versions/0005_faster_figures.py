"""Faster staff pages on a million turns: headline figures from ``call_hourly`` alone,
covering "not understood" index, index-only intent filter, "longest first" index.

* ``call_hourly`` gains the speech and latency sums of its calls' turns, which the headline
  figures read, and ``turn_hourly`` drops them (it keeps the turn counts per intent).
* ``ix_turns_not_understood`` (PostgreSQL) also covers ``language`` and ``call_pk``.
* ``ix_turns_intent_started_at`` becomes ``ix_turns_intent_call_pk``: the calls list's
  intent filter is a semi-join answered from the index.
* ``ix_calls_duration_desc`` (PostgreSQL): "longest first" in index order.

Both rollups are rebuilt from the raw tables with SQL written out here.

Revision ID: 0005_faster_figures
Revises: 0004_corrections
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_faster_figures"
down_revision: str | None = "0004_corrections"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_UNDERSTOOD_INDEX = "ix_turns_not_understood"
NOT_UNDERSTOOD_PREDICATE = "intent = 'none' OR asr_confidence < 0.5"
DURATION_INDEX = "ix_calls_duration_desc"
CALL_HOURLY_KEYS = ("hour_bucket", "language", "outcome", "department")
TURN_HOURLY_KEYS = ("hour_bucket", "language", "department", "intent")

CALL_HOURLY_WITH_TURN_SUMS = """
    INSERT INTO call_hourly (hour_bucket, language, outcome, department, calls, contained,
                             callbacks, duration_sum_s, duration_n, turns,
                             asr_confidence_sum, asr_confidence_n, latency_sum_ms, latency_n)
    SELECT c.hour_bucket, c.language, c.outcome, COALESCE(c.department, ''), COUNT(*),
           COALESCE(SUM(CASE WHEN c.contained THEN 1 ELSE 0 END), 0),
           COALESCE(SUM(CASE WHEN c.callback_count > 0 THEN 1 ELSE 0 END), 0),
           COALESCE(SUM(c.duration_s), 0.0), COUNT(c.duration_s), COALESCE(SUM(c.turn_count), 0),
           COALESCE(SUM(t.conf_sum), 0.0), COALESCE(SUM(t.conf_n), 0),
           COALESCE(SUM(t.lat_sum), 0.0), COALESCE(SUM(t.lat_n), 0)
    FROM calls c LEFT JOIN (
        SELECT call_pk, SUM(asr_confidence) AS conf_sum, COUNT(asr_confidence) AS conf_n,
               SUM(latency_ms) AS lat_sum, COUNT(latency_ms) AS lat_n
        FROM turns GROUP BY call_pk
    ) t ON t.call_pk = c.id
    GROUP BY c.hour_bucket, c.language, c.outcome, COALESCE(c.department, '')"""
CALL_HOURLY_WITHOUT = """
    INSERT INTO call_hourly (hour_bucket, language, outcome, department, calls, contained,
                             callbacks, duration_sum_s, duration_n, turns)
    SELECT hour_bucket, language, outcome, COALESCE(department, ''), COUNT(*),
           COALESCE(SUM(CASE WHEN contained THEN 1 ELSE 0 END), 0),
           COALESCE(SUM(CASE WHEN callback_count > 0 THEN 1 ELSE 0 END), 0),
           COALESCE(SUM(duration_s), 0.0), COUNT(duration_s), COALESCE(SUM(turn_count), 0)
    FROM calls GROUP BY hour_bucket, language, outcome, COALESCE(department, '')"""
TURN_HOURLY_COUNTS = """
    INSERT INTO turn_hourly (hour_bucket, language, department, intent, turns)
    SELECT c.hour_bucket, c.language, COALESCE(c.department, ''), t.intent, COUNT(*)
    FROM turns t JOIN calls c ON t.call_pk = c.id
    GROUP BY c.hour_bucket, c.language, COALESCE(c.department, ''), t.intent"""
TURN_HOURLY_WITH_SUMS = """
    INSERT INTO turn_hourly (hour_bucket, language, department, intent, turns,
                             asr_confidence_sum, asr_confidence_n, latency_sum_ms, latency_n)
    SELECT c.hour_bucket, c.language, COALESCE(c.department, ''), t.intent, COUNT(*),
           COALESCE(SUM(t.asr_confidence), 0.0), COUNT(t.asr_confidence),
           COALESCE(SUM(t.latency_ms), 0.0), COUNT(t.latency_ms)
    FROM turns t JOIN calls c ON t.call_pk = c.id
    GROUP BY c.hour_bucket, c.language, COALESCE(c.department, ''), t.intent"""


def _utc(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _sums() -> list[sa.Column[object]]:
    return [
        sa.Column("asr_confidence_sum", sa.Float(), nullable=False),
        sa.Column("asr_confidence_n", sa.BigInteger(), nullable=False),
        sa.Column("latency_sum_ms", sa.Float(), nullable=False),
        sa.Column("latency_n", sa.BigInteger(), nullable=False),
    ]


def _call_hourly(with_sums: bool) -> None:
    op.drop_table("call_hourly")
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
        *(_sums() if with_sums else []),
        sa.PrimaryKeyConstraint(*CALL_HOURLY_KEYS, name=op.f("pk_call_hourly")),
    )
    op.execute(CALL_HOURLY_WITH_TURN_SUMS if with_sums else CALL_HOURLY_WITHOUT)


def _turn_hourly(with_sums: bool) -> None:
    op.drop_table("turn_hourly")
    op.create_table(
        "turn_hourly",
        _utc("hour_bucket"),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("intent", sa.String(length=128), nullable=False),
        sa.Column("turns", sa.BigInteger(), nullable=False),
        *(_sums() if with_sums else []),
        sa.PrimaryKeyConstraint(*TURN_HOURLY_KEYS, name=op.f("pk_turn_hourly")),
    )
    op.execute(TURN_HOURLY_WITH_SUMS if with_sums else TURN_HOURLY_COUNTS)


def _not_understood_index(include: str) -> None:
    """PostgreSQL only: the covering columns of the "not understood" partial index."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {NOT_UNDERSTOOD_INDEX}")
    op.execute(
        f"CREATE INDEX {NOT_UNDERSTOOD_INDEX} ON turns (started_at) INCLUDE ({include}) "
        f"WHERE {NOT_UNDERSTOOD_PREDICATE}"
    )


def upgrade() -> None:
    """Move the turn sums, rebuild both rollups, replace and add the indexes."""
    _call_hourly(with_sums=True)
    _turn_hourly(with_sums=False)
    # Language and call of each question in the index: "not understood" per language or
    # department reads the index alone.
    _not_understood_index("transcript, intent, asr_confidence, language, call_pk")
    op.drop_index("ix_turns_intent_started_at", table_name="turns")
    op.create_index("ix_turns_intent_call_pk", "turns", ["intent", "call_pk"])
    if op.get_bind().dialect.name == "postgresql":
        # "Longest first" read in index order; SQLite refuses NULLS LAST in an index.
        op.execute(f"CREATE INDEX {DURATION_INDEX} ON calls (duration_s DESC NULLS LAST, id DESC)")


def downgrade() -> None:
    """Back to 0004_corrections' shape."""
    op.execute(f"DROP INDEX IF EXISTS {DURATION_INDEX}")
    op.drop_index("ix_turns_intent_call_pk", table_name="turns")
    op.create_index("ix_turns_intent_started_at", "turns", ["intent", "started_at"])
    _not_understood_index("transcript, intent, asr_confidence")
    _turn_hourly(with_sums=True)
    _call_hourly(with_sums=False)
