"""One retry policy for every reconnect loop (AMI, call log database, Redis live events).

Pure: the loops own the sleeping and the clock, this module only says how long to wait
after the n-th consecutive failure and whether that failure deserves a log line. Lines
follow the delays: the first failure of an outage is logged at once, then the 2nd, 4th,
8th… and at least one line every ``log_every_s``, so an outage is visible at the default
log level without a line per attempt.
"""

from __future__ import annotations

from dataclasses import dataclass

_MAX_EXPONENT = 64
"""Beyond this the delay is the cap anyway; keeps ``factor ** n`` finite."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential delays between attempts, capped, with optional downward jitter."""

    initial_s: float
    """Delay after the first failure."""
    max_s: float
    """No delay is longer than this: the service is found again within it."""
    factor: float = 2.0
    """Growth of the delay per consecutive failure."""
    jitter: float = 0.0
    """Fraction (0..1) by which a delay may be shortened, so that many clients restarted
    together do not retry in step."""

    def __post_init__(self) -> None:
        if not 0 < self.initial_s <= self.max_s:
            raise ValueError(f"Backoff needs 0 < initial_s <= max_s, got {self}")
        if self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError(f"Backoff needs factor >= 1 and 0 <= jitter < 1, got {self}")

    def delay(self, failures: int, unit: float = 0.0) -> float:
        """Seconds to wait after ``failures`` consecutive failures (1 = the first).

        ``unit`` in [0, 1] (e.g. ``random.random()``) picks the point in the jitter band:
        0 is the full delay, 1 the delay shortened by ``jitter``.
        """
        if failures < 1:
            return 0.0
        exponent = min(failures - 1, _MAX_EXPONENT)
        base = min(self.initial_s * self.factor**exponent, self.max_s)
        return base * (1.0 - self.jitter * min(max(unit, 0.0), 1.0))


@dataclass(slots=True)
class Outage:
    """Consecutive failures of one service and when they began (times from the caller)."""

    log_every_s: float = 300.0
    """Longest silence in the log during an outage."""
    failures: int = 0
    """Consecutive failed attempts; 0 while the service works."""
    since: float | None = None
    """When the first of these failures happened (None while the service works)."""
    _last_logged: float | None = None

    @property
    def ongoing(self) -> bool:
        """True between a failure and the next success."""
        return self.failures > 0

    def began(self, now: float) -> None:
        """The service went away at ``now`` (e.g. a connection dropped) before any failed
        attempt: start the outage clock."""
        if self.since is None:
            self.since = now

    def failed(self, now: float) -> bool:
        """Count a failure at ``now``; True when this one should be logged."""
        self.failures += 1
        if self.since is None:
            self.since = now
        power_of_two = self.failures & (self.failures - 1) == 0
        overdue = self._last_logged is None or now - self._last_logged >= self.log_every_s
        if power_of_two or overdue:
            self._last_logged = now
            return True
        return False

    def down_for(self, now: float) -> float:
        """Seconds since the outage began; 0 when there is none."""
        return 0.0 if self.since is None else max(0.0, now - self.since)

    def recovered(self, now: float) -> float | None:
        """The service works again: reset, and return how long it was down (None if it
        was not)."""
        if self.since is None:
            return None
        lasted = now - self.since
        self.failures, self.since, self._last_logged = 0, None, None
        return lasted
