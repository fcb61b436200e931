"""Limits on failed sign-ins that slow guessing without locking out other people.

The old limit counted failures per client address: ten wrong keys from one address locked
every valid user behind the same address (a city hall's NAT) out for a minute. Now:

* **Passwords** are limited per account: a few failures for one name from one address lock
  that name *from that address* for a while (the address component), and many failures for
  one name from anywhere lock that name for a while (distributed guessing). Nobody else is
  affected: other names behind the same address sign in as usual. Unknown names are counted
  exactly like existing ones, so the answers do not reveal which names exist.
* **API keys** are 256-bit random secrets: guessing one is hopeless, so a valid key is never
  refused. Wrong keys are counted per address only to spare the database and the logs: once
  an address has sent too many, its further wrong keys get 429 without a lookup.

Counters live in this process's memory (bounded): with several worker processes each counts
on its own, so the limits are per worker.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class LockScope(StrEnum):
    """What a lockout applies to."""

    ACCOUNT_FROM_ADDRESS = "account_from_address"
    ACCOUNT = "account"
    KEYS_FROM_ADDRESS = "keys_from_address"


@dataclass(frozen=True, slots=True)
class Lockout:
    """A limit that was just reached."""

    scope: LockScope
    retry_after_s: int


class SlidingWindowCounter:
    """Counts events per key in a sliding window; a key is blocked at ``limit`` events."""

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_s <= 0 or max_keys < 1:
            raise ValueError("SlidingWindowCounter needs limit, window_s and max_keys > 0")
        self.limit = limit
        self.window_s = window_s
        self._max_keys = max_keys
        self._clock = clock
        self._times: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._times.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._times[key]
            return None
        return times

    def retry_after(self, key: str) -> int | None:
        """Whole seconds until ``key`` is no longer blocked, or None if it is not."""
        with self._lock:
            now = self._clock()
            times = self._recent(key, now)
            if times is None or len(times) < self.limit:
                return None
            oldest_needed = times[len(times) - self.limit]
            return max(1, math.ceil(oldest_needed + self.window_s - now))

    def record(self, key: str) -> bool:
        """Count one event for ``key``; True if this one reached the limit."""
        with self._lock:
            now = self._clock()
            times = self._recent(key, now)
            if times is None:
                times = self._times[key] = deque(maxlen=self.limit)
            was_below = len(times) < self.limit
            times.append(now)
            self._times.move_to_end(key)
            # Bounded memory under a spray of keys: forget the least recent ones.
            while len(self._times) > self._max_keys:
                self._times.popitem(last=False)
            return was_below and len(times) >= self.limit

    def clear(self, key: str) -> None:
        """Forget ``key``'s events (after a successful sign-in)."""
        with self._lock:
            self._times.pop(key, None)


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """Thresholds of :class:`LoginGuard`."""

    account_from_address: int = 5
    account_from_address_window_s: float = 900.0
    account_total: int = 50
    account_total_window_s: float = 3600.0
    keys_from_address: int = 10
    keys_from_address_window_s: float = 60.0


class LoginGuard:
    """Failed sign-in counters for passwords (per account) and API keys (per address)."""

    def __init__(
        self, limits: LoginLimits | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits = limits or LoginLimits()
        self._pair = SlidingWindowCounter(
            limits.account_from_address, limits.account_from_address_window_s, clock=clock
        )
        self._account = SlidingWindowCounter(
            limits.account_total, limits.account_total_window_s, clock=clock
        )
        self._keys = SlidingWindowCounter(
            limits.keys_from_address, limits.keys_from_address_window_s, clock=clock
        )

    @staticmethod
    def _pair_key(name: str, address: str) -> str:
        return f"{name}\x00{address}"

    def account_retry_after(self, name: str, address: str) -> int | None:
        """Seconds until ``name`` may try a password again from ``address`` (None: now)."""
        waits = [
            self._pair.retry_after(self._pair_key(name, address)),
            self._account.retry_after(name),
        ]
        blocked = [wait for wait in waits if wait is not None]
        return max(blocked) if blocked else None

    def account_failed(self, name: str, address: str) -> Lockout | None:
        """Count a wrong password for ``name``; the lockout it started, if any."""
        lockout = None
        if self._account.record(name):
            lockout = Lockout(LockScope.ACCOUNT, self._account.retry_after(name) or 1)
        if self._pair.record(self._pair_key(name, address)) and lockout is None:
            wait = self._pair.retry_after(self._pair_key(name, address)) or 1
            lockout = Lockout(LockScope.ACCOUNT_FROM_ADDRESS, wait)
        return lockout

    def account_succeeded(self, name: str, address: str) -> None:
        """A right password: this address starts afresh for this name."""
        self._pair.clear(self._pair_key(name, address))

    def keys_retry_after(self, address: str) -> int | None:
        """Seconds until wrong keys from ``address`` are looked up again (None: now)."""
        return self._keys.retry_after(address)

    def key_failed(self, address: str) -> Lockout | None:
        """Count a wrong API key from ``address``; the lockout it started, if any."""
        if self._keys.record(address):
            return Lockout(LockScope.KEYS_FROM_ADDRESS, self._keys.retry_after(address) or 1)
        return None
