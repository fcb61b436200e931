"""Staff: accounts, sessions, audit trail, KB versions, callback statuses and their history.

Also the ``kb_editor`` role for API keys, and on callbacks a ``callback_key`` (the id the live
event carries) and an ``attempts`` counter; existing rows get the key their live event would
have had.

Revision ID: 0002_staff
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_staff"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE_CHECK = "role IN ('operator', 'manager', 'kb_editor', 'admin')"
OLD_ROLE_CHECK = "role IN ('operator', 'manager', 'admin')"
STATUS_CHECK = "status IN ('pending', 'no_answer', 'called_back', 'done')"
OLD_STATUS_CHECK = "status IN ('pending', 'done')"


def _id() -> sa.Column[int]:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def _utc(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create the staff tables and widen the role and status checks."""
    op.create_table(
        "staff_accounts",
        _id(),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        _utc("created_at"),
        _utc("password_changed_at"),
        _utc("disabled_at", nullable=True),
        sa.CheckConstraint(ROLE_CHECK, name=op.f("ck_staff_accounts_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_accounts")),
        sa.UniqueConstraint("name", name=op.f("uq_staff_accounts_name")),
    )
    op.create_table(
        "staff_sessions",
        _id(),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        _utc("created_at"),
        _utc("expires_at"),
        _utc("last_seen_at"),
        _utc("ended_at", nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["staff_accounts.id"],
            name=op.f("fk_staff_sessions_account_id_staff_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_sessions_token_hash")),
    )
    op.create_index(op.f("ix_staff_sessions_account_id"), "staff_sessions", ["account_id"])
    op.create_table(
        "audit_events",
        _id(),
        _utc("at"),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_at_id", "audit_events", ["at", "id"])
    op.create_index("ix_audit_events_kind_at", "audit_events", ["kind", "at"])
    op.create_table(
        "kb_versions",
        _id(),
        _utc("created_at"),
        sa.Column("author", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reverts_version", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "action IN ('initial', 'edit', 'revert', 'file')", name=op.f("ck_kb_versions_action")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_versions")),
    )
    op.create_index(op.f("ix_kb_versions_content_hash"), "kb_versions", ["content_hash"])
    op.create_table(
        "callback_updates",
        _id(),
        sa.Column("callback_key", sa.String(length=100), nullable=False),
        _utc("at"),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("previous_status", sa.String(length=16), nullable=False),
        _utc("undone_at", nullable=True),
        sa.CheckConstraint(STATUS_CHECK, name=op.f("ck_callback_updates_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_updates")),
    )
    op.create_index(
        "ix_callback_updates_callback_key_id", "callback_updates", ["callback_key", "id"]
    )

    with op.batch_alter_table("api_keys", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_api_keys_role"), type_="check")
        batch.create_check_constraint(op.f("ck_api_keys_role"), ROLE_CHECK)
    with op.batch_alter_table("callbacks", recreate="auto") as batch:
        batch.add_column(sa.Column("callback_key", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch.drop_constraint(op.f("ck_callbacks_status"), type_="check")
        batch.create_check_constraint(op.f("ck_callbacks_status"), STATUS_CHECK)
        batch.create_unique_constraint(op.f("uq_callbacks_callback_key"), ["callback_key"])
    _key_existing_callbacks()


def _callback_key(call_id: str, index: int) -> str:
    # Frozen copy of voicebot.calllog.callbacks.callback_key as it was at this revision.
    return "cb_" + hashlib.sha256(f"{call_id}#{index}".encode()).hexdigest()[:24]


def _key_existing_callbacks() -> None:
    """Give the rows stored before keys existed the key their live event would have had."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT callbacks.id, calls.call_id FROM callbacks JOIN calls "
            "ON calls.id = callbacks.call_pk ORDER BY calls.call_id, callbacks.requested_at, "
            "callbacks.id"
        )
    ).all()
    seen: dict[str, int] = {}
    for row_id, call_id in rows:
        index = seen.get(call_id, 0)
        seen[call_id] = index + 1
        bind.execute(
            sa.text("UPDATE callbacks SET callback_key = :key WHERE id = :id"),
            {"key": _callback_key(call_id, index), "id": row_id},
        )


def downgrade() -> None:
    """Drop the staff tables and narrow the checks (new roles and statuses must be gone)."""
    with op.batch_alter_table("callbacks", recreate="auto") as batch:
        batch.drop_constraint(op.f("uq_callbacks_callback_key"), type_="unique")
        batch.drop_constraint(op.f("ck_callbacks_status"), type_="check")
        batch.create_check_constraint(op.f("ck_callbacks_status"), OLD_STATUS_CHECK)
        batch.drop_column("attempts")
        batch.drop_column("callback_key")
    with op.batch_alter_table("api_keys", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_api_keys_role"), type_="check")
        batch.create_check_constraint(op.f("ck_api_keys_role"), OLD_ROLE_CHECK)
    for table in ("callback_updates", "kb_versions", "audit_events", "staff_sessions"):
        op.drop_table(table)
    op.drop_table("staff_accounts")
