"""Why each transfer went where it went, so the console can say it after a reload.

Revision ID: 0007_transfer_reason
Revises: 0006_intent_rollup
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_transfer_reason"
down_revision: str | None = "0006_intent_rollup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``transfers.reason`` (NULL for transfers stored before it) and index
    ``transfers.requested_at`` for the console's "today's transfers"."""
    with op.batch_alter_table("transfers") as batch:
        batch.add_column(sa.Column("reason", sa.String(length=32), nullable=True))
    op.create_index("ix_transfers_requested_at", "transfers", ["requested_at"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_transfers_requested_at", table_name="transfers")
    with op.batch_alter_table("transfers") as batch:
        batch.drop_column("reason")
