"""API keys (for machines: scripts, monitoring, integrations): creation, lookup, revocation.

A key is ``vb_`` followed by 32 random bytes (URL-safe base64). Only the hex SHA-256 of the
whole key is stored (``api_keys.key_hash``): a random 256-bit secret needs no slow salted
hash, and the lookup by hash is an index probe. The plaintext is returned once, at creation.

Roles: ``operator`` (live calls, transferred calls, callbacks), ``manager`` (calls,
statistics, CSV), ``kb_editor`` (a manager who may also edit the knowledge base), ``admin``
(accounts, keys, and everything the others may do). People sign in with staff accounts
(:mod:`voicebot.accounts.store`); limits on wrong keys are in :mod:`voicebot.accounts.limiter`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, insert, select, update

from voicebot.calllog.models import ApiKey, ApiRole
from voicebot.calllog.rows import utc_now

KEY_PREFIX = "vb_"
MAX_KEY_LENGTH = 200
MAX_NAME_LENGTH = 128
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per key, not on every request."""


class KeyNotFoundError(LookupError):
    """No API key has the given id."""


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """An API key as listed and as attached to an authenticated request (never the secret)."""

    id: int
    name: str
    role: ApiRole
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    def allows(self, roles: Iterable[ApiRole]) -> bool:
        """Whether this key may act in one of ``roles`` (admin may do everything)."""
        return any(self.role.grants(role) for role in roles)


def hash_key(key: str) -> str:
    """Hex SHA-256 of a plaintext key, as stored in ``api_keys.key_hash``."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _role(role: str | ApiRole) -> ApiRole:
    try:
        return ApiRole(role)
    except ValueError:
        allowed = ", ".join(r.value for r in ApiRole)
        raise ValueError(f"role {role!r}: must be one of {allowed}") from None


def _info(row: Row[Any]) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row.id,
        name=row.name,
        role=ApiRole(row.role),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def create_key(engine: Engine, name: str, role: str | ApiRole) -> str:
    """Store a new key and return its plaintext, which cannot be shown again."""
    return issue_key(engine, name, role)[1]


def issue_key(engine: Engine, name: str, role: str | ApiRole) -> tuple[ApiKeyInfo, str]:
    """Store a new key; returns its record and the plaintext, which cannot be shown again."""
    checked_role = _role(role)
    name = name.strip()
    if not 0 < len(name) <= MAX_NAME_LENGTH:
        raise ValueError(f"key name: length must be 1..{MAX_NAME_LENGTH} characters")
    if "\x00" in name:
        # PostgreSQL text cannot hold NUL: refused here, not as a database error.
        raise ValueError("key name: must not contain a NUL character")
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as connection:
        new_id = connection.execute(
            insert(ApiKey)
            .values(
                name=name,
                role=checked_role.value,
                key_hash=hash_key(plaintext),
                created_at=utc_now(),
            )
            .returning(ApiKey.id)
        ).scalar_one()
        row = connection.execute(select(ApiKey).where(ApiKey.id == new_id)).one()
    return _info(row), plaintext


def list_keys(engine: Engine, *, include_revoked: bool = True) -> list[ApiKeyInfo]:
    """Every key (oldest first), without secrets."""
    query = select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    with engine.connect() as connection:
        return [_info(row) for row in connection.execute(query)]


def revoke_key(engine: Engine, key_id: int, *, now: datetime | None = None) -> ApiKeyInfo:
    """Revoke a key (idempotent: a revoked key keeps its first revocation time).

    Raises :class:`KeyNotFoundError` when no key has this id.
    """
    with engine.begin() as connection:
        connection.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=now or utc_now())
        )
        row = connection.execute(select(ApiKey).where(ApiKey.id == key_id)).first()
    if row is None:
        raise KeyNotFoundError(f"no API key with id {key_id}")
    return _info(row)


def authenticate(engine: Engine, key: str, *, now: datetime | None = None) -> ApiKeyInfo | None:
    """The active key matching ``key``, or None for an unknown, malformed or revoked key."""
    if not key.startswith(KEY_PREFIX) or len(key) > MAX_KEY_LENGTH:
        return None
    moment = now or utc_now()
    with engine.connect() as connection:
        row = connection.execute(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).first()
    if row is None or row.revoked_at is not None:
        return None
    info = _info(row)
    if info.last_used_at is None or moment - info.last_used_at >= LAST_USED_RESOLUTION:
        with engine.begin() as connection:
            connection.execute(
                update(ApiKey).where(ApiKey.id == info.id).values(last_used_at=moment)
            )
    return info


def key_is_active(engine: Engine, key_id: int) -> bool:
    """Whether the key with this id exists and is not revoked (for open live streams)."""
    with engine.connect() as connection:
        revoked = connection.execute(select(ApiKey.revoked_at).where(ApiKey.id == key_id)).first()
    return revoked is not None and revoked[0] is None
