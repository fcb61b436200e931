"""Counts by intent for all languages and departments from their own small rollup.

``turn_hourly`` is kept per language and department since ``0003_calls_page``, which made
unfiltered counts by intent (the usual question) read five times as many rows; the new
``intent_hourly`` holds them summed over languages and departments.

Revision ID: 0006_intent_rollup
Revises: 0005_faster_figures
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_intent_rollup"
down_revision: str | None = "0005_faster_figures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``intent_hourly`` and fill it from ``turn_hourly``."""
    op.create_table(
        "intent_hourly",
        sa.Column("hour_bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("intent", sa.String(length=128), nullable=False),
        sa.Column("turns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hour_bucket", "intent", name=op.f("pk_intent_hourly")),
    )
    op.execute(
        "INSERT INTO intent_hourly (hour_bucket, intent, turns) "
        "SELECT hour_bucket, intent, SUM(turns) FROM turn_hourly GROUP BY hour_bucket, intent"
    )


def downgrade() -> None:
    """Drop ``intent_hourly``."""
    op.drop_table("intent_hourly")
