"""The audit trail: sign-in failures, lockouts, account and key lifecycle, KB edits.

Each event is written twice: as one structured log line (logger ``voicebot.audit``,
``audit {json}``) that reaches the system's logs even when the database is away, and as a
row of ``audit_events`` that administrators read through ``GET /api/audit``. Neither holds
a secret: no password, no key, no session token; a caller's number never comes here.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Engine, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from voicebot.calllog.rows import utc_now
from voicebot.calllog.staff_models import AuditEvent

_LOGGER = logging.getLogger("voicebot.audit")

ACTOR_WIDTH = 128
ADDRESS_WIDTH = 64
SUBJECT_WIDTH = 200
MAX_PAGE = 1000


class AuditKind(StrEnum):
    """What happened."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    """A wrong name or password on the sign-in page."""
    KEY_REJECTED = "key_rejected"
    """An unknown or revoked API key."""
    LOCKOUT = "lockout"
    """A failed-attempt limit was reached (``detail.scope`` says which)."""
    LOGOUT = "logout"
    SESSION_ENDED = "session_ended"
    """Sessions ended by someone else: revoked, account disabled, password changed."""
    ACCOUNT_CREATED = "account_created"
    ACCOUNT_DISABLED = "account_disabled"
    ACCOUNT_ENABLED = "account_enabled"
    ROLE_CHANGED = "role_changed"
    PASSWORD_CHANGED = "password_changed"
    KEY_CREATED = "key_created"
    KEY_REVOKED = "key_revoked"
    KB_EDITED = "kb_edited"
    KB_REVERTED = "kb_reverted"


WARNING_KINDS = frozenset({AuditKind.LOGIN_FAILED, AuditKind.KEY_REJECTED, AuditKind.LOCKOUT})
"""Logged at WARNING (someone may be guessing); the others at INFO."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One event of the audit trail."""

    kind: AuditKind
    at: datetime
    actor: str | None = None
    address: str | None = None
    subject: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    def log_fields(self) -> dict[str, Any]:
        """The JSON object of the log line."""
        fields: dict[str, Any] = {"kind": self.kind.value, "at": self.at.isoformat()}
        for name in ("actor", "address", "subject"):
            value = getattr(self, name)
            if value is not None:
                fields[name] = value
        if self.detail:
            fields["detail"] = self.detail
        return fields


def _clip(value: str | None, width: int) -> str | None:
    if value is None:
        return None
    # Values may come from the request (a name typed on the sign-in page): keep them short
    # and free of control characters, so a log line stays one line and fits the column.
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in value)
    return cleaned[:width]


class AuditLog:
    """Writes audit events to the log and the ``audit_events`` table, and reads them back."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(
        self,
        kind: AuditKind,
        *,
        actor: str | None = None,
        address: str | None = None,
        subject: str | None = None,
        detail: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> AuditEntry:
        """Log and store one event; a database failure is logged, never raised."""
        entry = AuditEntry(
            kind=kind,
            at=now or utc_now(),
            actor=_clip(actor, ACTOR_WIDTH),
            address=_clip(address, ADDRESS_WIDTH),
            subject=_clip(subject, SUBJECT_WIDTH),
            detail=dict(detail or {}),
        )
        level = logging.WARNING if kind in WARNING_KINDS else logging.INFO
        _LOGGER.log(level, "audit %s", json.dumps(entry.log_fields(), ensure_ascii=False))
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(AuditEvent).values(
                        at=entry.at,
                        kind=entry.kind.value,
                        actor=entry.actor,
                        address=entry.address,
                        subject=entry.subject,
                        detail=entry.detail,
                    )
                )
        except SQLAlchemyError as error:
            first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
            _LOGGER.error(
                "audit event %s not stored (the log line above stays): %s", kind, first_line
            )
        return entry

    def entries(
        self,
        *,
        kinds: tuple[AuditKind, ...] = (),
        actor: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[AuditEntry], int]:
        """Events newest first, filtered; and how many match in total."""
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            raise ValueError(f"limit must be 1..{MAX_PAGE} and offset not negative")
        conditions: list[ColumnElement[bool]] = []
        if kinds:
            conditions.append(AuditEvent.kind.in_([k.value for k in kinds]))
        if actor is not None:
            conditions.append(AuditEvent.actor == actor)
        if start is not None:
            conditions.append(AuditEvent.at >= start)
        if end is not None:
            conditions.append(AuditEvent.at < end)
        query = (
            select(AuditEvent)
            .where(*conditions)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
            .offset(offset)
        )
        count = select(func.count()).select_from(AuditEvent).where(*conditions)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
            total = int(connection.execute(count).scalar_one())
        return [
            AuditEntry(
                kind=AuditKind(row.kind),
                at=row.at,
                actor=row.actor,
                address=row.address,
                subject=row.subject,
                detail=dict(row.detail or {}),
                id=row.id,
            )
            for row in rows
        ], total
