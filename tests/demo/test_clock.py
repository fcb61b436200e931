"""The demo's simulated moment: a weekday morning, never in the future."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from voicebot.demo import last_weekday_morning

BRUSSELS = ZoneInfo("Europe/Brussels")


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 12, 4, 15, 0, tzinfo=BRUSSELS), datetime(2026, 12, 4, 10, 0)),  # Fri pm
        (datetime(2026, 12, 4, 9, 0, tzinfo=BRUSSELS), datetime(2026, 12, 3, 10, 0)),  # Fri am
        (datetime(2026, 12, 6, 21, 0, tzinfo=BRUSSELS), datetime(2026, 12, 4, 10, 0)),  # Sunday
        (datetime(2026, 12, 7, 8, 0, tzinfo=BRUSSELS), datetime(2026, 12, 4, 10, 0)),  # Mon am
    ],
)
def test_the_latest_weekday_ten_oclock_not_after_now(now: datetime, expected: datetime) -> None:
    moment = last_weekday_morning("Europe/Brussels", now)
    assert moment.replace(tzinfo=None) == expected
    assert moment <= now
