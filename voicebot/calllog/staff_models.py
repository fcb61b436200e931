"""Tables of what staff do: accounts, sessions, the audit trail, KB versions, callback work.

They live in the call log database (same engine, same migrations) because the pages and
the API that use them already need it, and because several worker processes must share
them. All times are UTC (:class:`~voicebot.calllog.models.UTCDateTime`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from voicebot.calllog.models import (
    CALLBACK_STATUS_CHECK,
    ROLE_CHECK,
    Base,
    BigIntId,
    UTCDateTime,
)

KB_VERSION_ACTIONS = ("initial", "edit", "revert", "file")
"""How a KB version came to be: first seen, edited through the pages or API, a revert, or a
change made to the file by hand."""


class StaffAccount(Base):
    """A person who signs in to the pages: name, role and an argon2 password hash."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    """Sign-in name, stored in lower case."""
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    """argon2id hash in PHC format (parameters and salt inside)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint(ROLE_CHECK, name="role"),)


class StaffSession(Base):
    """A signed-in browser: only the SHA-256 of the cookie's random token is kept."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    """Absolute end of the session, whatever the activity."""
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    """For the idle timeout; written at most once a minute."""
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(32))
    """``logout``, ``revoked``, ``account_disabled``, ``password_changed``."""


class AuditEvent(Base):
    """One security-relevant event: who did what to what, from where, when."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(128))
    """``account:<name>``, ``key:<id>``, ``cli:<user@host>`` or None when unknown."""
    address: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(200))
    """What was acted on: an account name, a key id, a KB entry."""
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_audit_events_at_id", "at", "id"),
        Index("ix_audit_events_kind_at", "kind", "at"),
    )


class KbVersion(Base):
    """The whole KB file as it was after one change, with who made it and why."""

    __tablename__ = "kb_versions"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    author: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(String(500))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(Text)
    """The YAML file's text, comments and all."""
    reverts_version: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint(
            "action IN (" + ", ".join(f"'{a}'" for a in KB_VERSION_ACTIONS) + ")", name="action"
        ),
    )


class CallbackUpdate(Base):
    """One status change of a callback request (its history, and what undo goes back to).

    Keyed by the request's ``callback_key`` rather than a foreign key: an operator may act
    on a request announced live before the call's record (and so the callbacks row) exists.
    """

    __tablename__ = "callback_updates"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    callback_key: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    previous_status: Mapped[str] = mapped_column(String(16))
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """Set when an undo took this change back."""

    __table_args__ = (
        Index("ix_callback_updates_callback_key_id", "callback_key", "id"),
        CheckConstraint(CALLBACK_STATUS_CHECK, name="status"),
    )


CORRECTION_STATUSES = ("open", "applied", "dismissed")
LOW_MARGIN_INDEX_LIMIT = 0.1
"""Highest margin the partial index ``ix_turns_low_margin`` (``LOW_MARGIN_PREDICATE`` in
models) covers: the learning loop asks for decisions under the router's ambiguity margin, a
few hundredths."""


class RoutingCorrection(Base):
    """An operator's "wrongly routed: should have been X" on a transferred call."""

    __tablename__ = "routing_corrections"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    call_id: Mapped[str | None] = mapped_column(String(64))
    """Kept on the server (the operator's browser only had a one-way key of it)."""
    language: Mapped[str | None] = mapped_column(String(16))
    routed_to: Mapped[str | None] = mapped_column(String(128))
    should_be: Mapped[str] = mapped_column(String(128))
    phrases: Mapped[list[str]] = mapped_column(JSON)
    """What the caller said, oldest first."""
    status: Mapped[str] = mapped_column(String(16))
    handled_by: Mapped[str | None] = mapped_column(String(128))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in CORRECTION_STATUSES) + ")", name="status"
        ),
        Index("ix_routing_corrections_status_created_at", "status", "created_at"),
    )
