"""What the demo prints per call, and how it learns that a call has ended."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from voicebot.demo.errors import DemoError
from voicebot.demo.progress import CallProgress
from voicebot.live.events import CallEndedEvent, CallStartedEvent, TransferEvent
from voicebot.records import TransferReason

AT = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def _ended(call_id: str) -> CallEndedEvent:
    return CallEndedEvent(call_id, AT, outcome="answered", department=None, turns=1)


async def test_events_before_a_call_is_followed_are_printed_once_it_is(
    capsys: pytest.CaptureFixture[str],
) -> None:
    progress = CallProgress()
    progress.publish(CallStartedEvent("c1", AT, language="fr"))
    assert capsys.readouterr().out == ""  # not followed yet: held, not lost
    progress.follow("c1", "call 1")
    progress.publish(
        TransferEvent(
            "c1",
            AT,
            target="waste",
            extension="2003",
            reason=TransferReason.ROUTED,
            department="waste",
            intent="waste",
            language="fr",
            summary="mes sacs n'ont pas été ramassés",
        )
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "call 1 │ connected  : the assistant greets the caller"
    assert out[1].startswith("call 1 │ transfer   : extension 2003 (waste, routed)")


async def test_the_end_of_a_call_is_signalled_even_when_it_came_before_the_wait() -> None:
    progress = CallProgress()
    progress.follow("c1", "call 1")
    progress.publish(_ended("c1"))
    ended = await progress.ended("c1", timeout=10)
    assert ended.outcome == "answered"


async def test_a_call_that_never_ends_is_a_clear_error_after_the_bound() -> None:
    progress = CallProgress()
    progress.follow("c1", "call 1")
    progress.publish(_ended("c2"))
    with pytest.raises(DemoError, match=r"call 1 \(c1\) did not end within 0.2 s"):
        await progress.ended("c1", timeout=0.2)
