"""The one retry policy: delays grow to their cap, jitter only shortens, log lines thin out."""

from __future__ import annotations

import itertools

import pytest

from voicebot.backoff import Backoff, Outage


def test_delays_double_from_the_initial_delay_up_to_the_cap() -> None:
    policy = Backoff(0.1, 2.0)
    assert [policy.delay(n) for n in range(1, 8)] == pytest.approx(
        [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    )
    assert policy.delay(0) == 0.0
    assert policy.delay(10_000) == 2.0  # no overflow however long the outage


def test_jitter_shortens_a_delay_by_at_most_its_fraction() -> None:
    policy = Backoff(1.0, 1.0, jitter=0.2)
    assert policy.delay(3, 0.0) == pytest.approx(1.0)
    assert policy.delay(3, 1.0) == pytest.approx(0.8)
    assert policy.delay(3, 5.0) == pytest.approx(0.8)  # out-of-range units are clamped


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_s": 0, "max_s": 1},
        {"initial_s": 2, "max_s": 1},
        {"initial_s": 1, "max_s": 2, "factor": 0.5},
        {"initial_s": 1, "max_s": 2, "jitter": 1.0},
    ],
)
def test_an_impossible_policy_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="Backoff needs"):
        Backoff(**kwargs)


def test_an_outage_logs_the_first_failure_then_ever_fewer() -> None:
    outage = Outage(log_every_s=1e9)
    logged = [n for n in range(1, 40) if outage.failed(float(n))]
    assert logged == [1, 2, 4, 8, 16, 32]


def test_a_long_outage_still_logs_every_log_every_s() -> None:
    outage = Outage(log_every_s=60.0)
    logged = [t for t in range(0, 600, 2) if outage.failed(float(t))]
    assert logged[:3] == [0, 2, 6]  # failures 1, 2, 4
    gaps = [b - a for a, b in itertools.pairwise(logged)]
    assert max(gaps) <= 60


def test_an_outage_knows_how_long_it_lasts_and_resets_on_recovery() -> None:
    outage = Outage()
    assert not outage.ongoing and outage.down_for(5.0) == 0.0
    assert outage.recovered(5.0) is None
    outage.began(10.0)
    outage.failed(12.0)
    assert outage.ongoing and outage.down_for(15.0) == pytest.approx(5.0)
    assert outage.recovered(16.0) == pytest.approx(6.0)
    assert not outage.ongoing and outage.failures == 0
    assert outage.failed(20.0)  # a new outage logs its first failure again
