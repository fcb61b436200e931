"""API keys: creation, lookup, revocation, and a per-client limit on failed attempts.

A key is ``vb_`` followed by 32 random bytes (URL-safe base64). Only the hex SHA-256 of the
whole key is stored (``api_keys.key_hash``): a random 256-bit secret needs no slow salted
hash, and the lookup by hash is an index probe. The plaintext is returned once, at creation.

Roles: ``operator`` (live calls, transferred calls, callbacks), ``manager`` (calls,
statistics, CSV), ``admin`` (knowledge base, keys, and everything the others may do).
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
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
        return self.role is ApiRole.ADMIN or self.role in set(roles)


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


class FailedAttemptLimiter:
    """Counts failed authentications per client address in a sliding window.

    Once a client has ``max_failures`` failures within ``window_s`` seconds, it is refused
    (even with a valid key) until the oldest of them leaves the window. State lives in this
    process's memory: with several worker processes each worker counts on its own, so a
    client may get up to ``workers × max_failures`` tries per window.
    """

    def __init__(
        self,
        max_failures: int = 10,
        window_s: float = 60.0,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_failures < 1 or window_s <= 0 or max_clients < 1:
            raise ValueError("FailedAttemptLimiter needs max_failures, window_s, max_clients > 0")
        self.max_failures = max_failures
        self.window_s = window_s
        self._max_clients = max_clients
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float] | None:
        times = self._failures.get(client)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[client]
            return None
        return times

    def retry_after(self, client: str) -> int | None:
        """Whole seconds until ``client`` may try again, or None if it is not blocked."""
        with self._lock:
            now = self._clock()
            times = self._recent(client, now)
            if times is None or len(times) < self.max_failures:
                return None
            oldest_needed = times[len(times) - self.max_failures]
            return max(1, math.ceil(oldest_needed + self.window_s - now))

    def record_failure(self, client: str) -> None:
        """Count one failed attempt from ``client``."""
        with self._lock:
            now = self._clock()
            times = self._recent(client, now)
            if times is None:
                times = self._failures[client] = deque(maxlen=self.max_failures)
            times.append(now)
            self._failures.move_to_end(client)
            # Bounded memory under a spray of addresses: forget the least recent clients.
            while len(self._failures) > self._max_clients:
                self._failures.popitem(last=False)
