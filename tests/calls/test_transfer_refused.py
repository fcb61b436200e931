"""Issue 13, item 4, on the call path: a transfer whose values the wire refuses (an
extension with a newline from a KB built in code; a channel name with CR LF) is never half
sent, the dialplan still puts the caller through to the operator, and the record says so.

Before: ``session.py`` caught only ``AmiError``; the ``AmiEncodeError`` escaped, the
session ended with a record saying ``transferred/waste`` while the caller went to 1000.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from tests.reliability.harness import answered_by
from voicebot.calls.control import CallControl
from voicebot.dialog import PromptBook, Transfer
from voicebot.records import CallOutcome
from voicebot.telephony import contract

from .conftest import CallStack, say, wait_quiet


class _CorruptingControl:
    """The real call control, handed a value that slipped past the KB (a KB built in code,
    an Asterisk channel name with a newline): what the transfer path does with it."""

    def __init__(self, inner: CallControl, field: str) -> None:
        self._inner = inner
        self._field = field

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def transfer(
        self, call_id: str, channel: str, action: Transfer, *args: Any, **kwargs: Any
    ) -> None:
        if action.target != "operator" and self._field == "extension":
            action = dataclasses.replace(action, extension=action.extension + "\n")
        if action.target != "operator" and self._field == "channel":
            channel += "\r\nAction: Hangup"
        await self._inner.transfer(call_id, channel, action, *args, **kwargs)


@pytest.mark.parametrize(
    ("field", "refused_by"),
    [("extension", "TransferRefusedError"), ("channel", "AmiEncodeError")],
)
async def test_a_transfer_the_wire_refuses_still_reaches_the_operator_with_a_true_record(
    stack: CallStack, field: str, refused_by: str, caplog: pytest.LogCaptureFixture
) -> None:
    control = stack.services.control
    assert control is not None
    stack.services.control = _CorruptingControl(control, field)
    call = await stack.simulator.place_call("0470999888")
    await wait_quiet(call)
    await say(stack, call, "mes sacs poubelles n ont pas été ramassés ce matin")
    await call.wait_ended(60)
    sent = [a.name for a in call.actions if a.name in ("Setvar", "Redirect")]
    assert sent == [], sent  # nothing half-sent: the dialplan dialled the operator itself
    assert answered_by(call) == contract.DEFAULT_OPERATOR_EXTEN
    async with asyncio.timeout(30):
        while (detail := stack.writer.repository.get_call(str(call.call_id))) is None:
            assert stack.writer.flush(10)
            await asyncio.sleep(0.1)
    assert detail.call.outcome == CallOutcome.OPERATOR
    # Nothing was sent, so AudioSocket was still open: the caller heard why (issue 12
    # item 4: an apology only when it can be heard), and the record holds what was said.
    apology = PromptBook(stack.services.kb).transfer_failed("fr")
    assert [(t.intent, t.reply_text) for t in detail.turns][-1] == (
        "transfer_failed",
        apology.text,
    )
    audio = await stack.services.tts.get(apology.text, "fr", apology.key)
    assert audio.pcm[: 2 * 16000] in call.received_audio()
    first, second = detail.transfers
    assert (first.target, first.dial_status, first.fallback) == ("waste", "CHANUNAVAIL", "operator")
    assert (second.target, second.extension) == ("operator", contract.DEFAULT_OPERATOR_EXTEN)
    assert refused_by in caplog.text
