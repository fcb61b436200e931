"""Record receipts: a future per call id, outcomes remembered for late askers, no leaks."""

from __future__ import annotations

import pytest

from voicebot.calllog.receipts import RecordReceipts, RecordRefusedError


def test_every_waiter_of_a_call_hears_the_outcome() -> None:
    receipts = RecordReceipts()
    first, second = receipts.receipt("a"), receipts.receipt("a")
    other = receipts.receipt("b")
    receipts.stored(["a"])
    assert first.result(timeout=0) is None and second.result(timeout=0) is None
    assert not other.done()
    receipts.refused("b", "value too long")
    with pytest.raises(RecordRefusedError, match="call b: the database refused its record"):
        other.result(timeout=0)


def test_outcomes_are_kept_for_the_last_records_only() -> None:
    receipts = RecordReceipts(keep=2)
    receipts.stored(["a", "b", "c"])
    assert receipts.receipt("c").done() and receipts.receipt("b").done()
    assert not receipts.receipt("a").done()  # forgotten: the asker waits (with a bound)


def test_a_waiter_that_gave_up_does_not_stop_the_others_hearing() -> None:
    receipts = RecordReceipts()
    gave_up, patient = receipts.receipt("a"), receipts.receipt("a")
    assert gave_up.cancel()
    receipts.stored(["a"])
    assert gave_up.cancelled()
    assert patient.result(timeout=0) is None
