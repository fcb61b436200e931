"""Operators' routing corrections, and an index for the learning loop's low-margin decisions.

Revision ID: 0004_corrections
Revises: 0003_calls_page
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_corrections"
down_revision: str | None = "0003_calls_page"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOW_MARGIN_PREDICATE = "margin < 0.1"


def upgrade() -> None:
    """Create ``routing_corrections`` and the partial index of low-margin turns."""
    op.create_table(
        "routing_corrections",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("routed_to", sa.String(length=128), nullable=True),
        sa.Column("should_be", sa.String(length=128), nullable=False),
        sa.Column("phrases", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("handled_by", sa.String(length=128), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'applied', 'dismissed')",
            name=op.f("ck_routing_corrections_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_corrections")),
    )
    op.create_index(
        "ix_routing_corrections_status_created_at",
        "routing_corrections",
        ["status", "created_at"],
    )
    op.create_index(
        "ix_turns_low_margin",
        "turns",
        ["started_at"],
        postgresql_where=sa.text(LOW_MARGIN_PREDICATE),
        sqlite_where=sa.text(LOW_MARGIN_PREDICATE),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_turns_low_margin", table_name="turns")
    op.drop_table("routing_corrections")
