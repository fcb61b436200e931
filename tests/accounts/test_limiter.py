"""Sign-in limits: per account (with an address component), wrong keys per address."""

from __future__ import annotations

from voicebot.accounts.limiter import LockScope, LoginGuard, LoginLimits, SlidingWindowCounter


def test_window_slides() -> None:
    now = [1000.0]
    counter = SlidingWindowCounter(3, 60, clock=lambda: now[0])
    for _ in range(3):
        counter.record("10.0.0.1")
        now[0] += 10
    assert counter.retry_after("10.0.0.1") == 30  # now 1030; the event at 1000 leaves at 1060
    assert counter.retry_after("10.0.0.2") is None
    now[0] = 1060.5
    assert counter.retry_after("10.0.0.1") is None
    assert counter.record("10.0.0.1") is True  # back at the limit: a new lockout starts


def test_record_says_when_the_limit_is_reached_once() -> None:
    counter = SlidingWindowCounter(2, 60, clock=lambda: 0.0)
    assert [counter.record("k") for _ in range(4)] == [False, True, False, False]


def test_memory_is_bounded() -> None:
    counter = SlidingWindowCounter(1, 60, max_keys=100)
    for index in range(1000):
        counter.record(f"10.0.{index // 256}.{index % 256}")
    assert counter.retry_after("10.0.3.231") is not None  # the most recent is remembered
    assert counter.retry_after("10.0.0.0") is None  # the oldest were forgotten


def test_guessing_one_account_does_not_lock_out_colleagues_behind_the_same_address() -> None:
    now = [0.0]
    guard = LoginGuard(LoginLimits(account_from_address=5), clock=lambda: now[0])
    nat = "192.0.2.10"
    lockouts = [guard.account_failed("marie", nat) for _ in range(5)]
    assert lockouts[:4] == [None] * 4
    assert lockouts[4] is not None and lockouts[4].scope is LockScope.ACCOUNT_FROM_ADDRESS
    assert guard.account_retry_after("marie", nat) == 900
    # Everyone else behind the NAT signs in as usual; so does marie from home.
    assert guard.account_retry_after("jean", nat) is None
    assert guard.account_retry_after("marie", "198.51.100.7") is None
    now[0] = 901.0
    assert guard.account_retry_after("marie", nat) is None


def test_distributed_guessing_locks_the_account_everywhere() -> None:
    guard = LoginGuard(LoginLimits(account_from_address=5, account_total=20))
    lockouts = [guard.account_failed("marie", f"203.0.113.{n}") for n in range(20)]
    assert [lock.scope for lock in lockouts if lock] == [LockScope.ACCOUNT]
    assert guard.account_retry_after("marie", "198.51.100.7") is not None
    assert guard.account_retry_after("jean", "203.0.113.1") is None


def test_a_right_password_resets_the_address_component() -> None:
    guard = LoginGuard(LoginLimits(account_from_address=3))
    for _ in range(2):
        guard.account_failed("marie", "192.0.2.1")
    guard.account_succeeded("marie", "192.0.2.1")
    for _ in range(2):
        assert guard.account_failed("marie", "192.0.2.1") is None
    assert guard.account_retry_after("marie", "192.0.2.1") is None


def test_wrong_keys_are_throttled_per_address() -> None:
    guard = LoginGuard(LoginLimits(keys_from_address=3, keys_from_address_window_s=60))
    assert [guard.key_failed("192.0.2.1") for _ in range(2)] == [None, None]
    lockout = guard.key_failed("192.0.2.1")
    assert lockout is not None and lockout.scope is LockScope.KEYS_FROM_ADDRESS
    assert guard.keys_retry_after("192.0.2.1") == 60
    assert guard.keys_retry_after("192.0.2.2") is None
