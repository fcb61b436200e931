"""Sessions of signed-in staff: a random token in the cookie, its SHA-256 in the database.

A session ends at its absolute lifetime, after an idle period, at logout, or when an
administrator revokes it, disables the account or changes its password. The page and the
live feed learn why (:class:`SessionEnd`) so that they can say it in plain words.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Engine, insert, select, update

from voicebot.accounts.principal import Principal
from voicebot.accounts.store import account_from_row
from voicebot.calllog.rows import utc_now
from voicebot.calllog.staff_models import StaffAccount, StaffSession

SESSION_COOKIE = "voicebot_session"
"""The cookie holding the session token (HttpOnly, SameSite=Strict; see the pages)."""
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 100
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


class SessionEnd(StrEnum):
    """Why a session no longer works."""

    UNKNOWN = "unknown"
    """No such session (never existed, or a forged cookie)."""
    EXPIRED = "expired"
    """Its lifetime or idle period is over."""
    LOGOUT = "logout"
    REVOKED = "revoked"
    ACCOUNT_DISABLED = "account_disabled"
    PASSWORD_CHANGED = "password_changed"
    ROLE_CHANGED = "role_changed"
    """The account's role no longer allows the page (an open live feed ends)."""


@dataclass(frozen=True, slots=True)
class SessionCheck:
    """The result of looking up a session token: a principal, or why there is none."""

    principal: Principal | None
    ended: SessionEnd | None = None


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long sessions last."""

    lifetime: timedelta = timedelta(hours=12)
    """A working day: signing in once in the morning is enough."""
    idle: timedelta = timedelta(hours=2)


def hash_token(token: str) -> str:
    """Hex SHA-256 of a session token, as stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionStore:
    """Opens, checks and ends sessions in the call log database."""

    def __init__(self, engine: Engine, policy: SessionPolicy | None = None) -> None:
        self.engine = engine
        self.policy = policy or SessionPolicy()

    def open(self, account_id: int, *, now: datetime | None = None) -> tuple[str, int]:
        """A new session for the account: returns the token (for the cookie) and its id."""
        moment = now or utc_now()
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self.engine.begin() as connection:
            session_id = connection.execute(
                insert(StaffSession)
                .values(
                    token_hash=hash_token(token),
                    account_id=account_id,
                    created_at=moment,
                    expires_at=moment + self.policy.lifetime,
                    last_seen_at=moment,
                )
                .returning(StaffSession.id)
            ).scalar_one()
        return token, int(session_id)

    def check(self, token: str, *, now: datetime | None = None) -> SessionCheck:
        """The signed-in account behind ``token``, or why the session does not work."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return SessionCheck(None, SessionEnd.UNKNOWN)
        moment = now or utc_now()
        with self.engine.connect() as connection:
            session = connection.execute(
                select(StaffSession).where(StaffSession.token_hash == hash_token(token))
            ).first()
            account_row = (
                connection.execute(
                    select(StaffAccount).where(StaffAccount.id == session.account_id)
                ).first()
                if session is not None
                else None
            )
        if session is None or account_row is None:
            return SessionCheck(None, SessionEnd.UNKNOWN)
        if session.ended_at is not None:
            return SessionCheck(None, SessionEnd(session.end_reason or SessionEnd.REVOKED))
        if moment >= session.expires_at or moment - session.last_seen_at >= self.policy.idle:
            self._end(session.id, SessionEnd.EXPIRED, moment)
            return SessionCheck(None, SessionEnd.EXPIRED)
        account = account_from_row(account_row)
        if not account.active:
            self._end(session.id, SessionEnd.ACCOUNT_DISABLED, moment)
            return SessionCheck(None, SessionEnd.ACCOUNT_DISABLED)
        if moment - session.last_seen_at >= LAST_SEEN_RESOLUTION:
            with self.engine.begin() as connection:
                connection.execute(
                    update(StaffSession)
                    .where(StaffSession.id == session.id)
                    .values(last_seen_at=moment)
                )
        return SessionCheck(account.principal(session.id))

    def end(self, token: str, reason: SessionEnd = SessionEnd.LOGOUT) -> None:
        """End the session of ``token`` (logout); unknown tokens are ignored."""
        with self.engine.begin() as connection:
            connection.execute(
                update(StaffSession)
                .where(
                    StaffSession.token_hash == hash_token(token), StaffSession.ended_at.is_(None)
                )
                .values(ended_at=utc_now(), end_reason=reason.value)
            )

    def end_all(self, account_id: int, reason: SessionEnd, *, now: datetime | None = None) -> int:
        """End every open session of an account; returns how many were open."""
        with self.engine.begin() as connection:
            result = connection.execute(
                update(StaffSession)
                .where(StaffSession.account_id == account_id, StaffSession.ended_at.is_(None))
                .values(ended_at=now or utc_now(), end_reason=reason.value)
            )
        return int(result.rowcount or 0)

    def _end(self, session_id: int, reason: SessionEnd, moment: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(StaffSession)
                .where(StaffSession.id == session_id, StaffSession.ended_at.is_(None))
                .values(ended_at=moment, end_reason=reason.value)
            )
