"""Retention purge: transcripts and callback numbers erased, statistics untouched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.calllog.conftest import Database
from tests.calllog.factories import T0, Turn, make_call
from voicebot.calllog.filters import CallFilter
from voicebot.calllog.purge import purge
from voicebot.calllog.stats import CallLogStats
from voicebot.records import CallOutcome


def test_purge_erases_old_transcripts_and_callback_numbers_only(database: Database) -> None:
    repository = database.repository()
    old = make_call(
        "old",
        T0,
        outcome=CallOutcome.CALLBACK,
        turns=[Turn("none", "mon numéro est le 0470", 0.4, dtmf="0470"), Turn("faq:x", "oui")],
        callbacks=[("population", "+32470123456")],
    )
    recent = make_call("recent", T0 + timedelta(days=40), turns=[Turn("faq:x", "encore là")])
    repository.save_calls([old, recent])
    stats = CallLogStats(database.engine)
    window = (T0 - timedelta(days=1), T0 + timedelta(days=60))
    before = stats.summary(*window)

    now = T0 + timedelta(days=45)
    result = purge(database.engine, 30, now=now, chunk_size=1)
    assert (result.turns, result.callbacks, result.cutoff) == (2, 1, now - timedelta(days=30))

    old_detail = repository.get_call("old")
    recent_detail = repository.get_call("recent")
    assert old_detail is not None and recent_detail is not None
    assert [(t.transcript, t.reply_text, t.dtmf) for t in old_detail.turns] == [(None,) * 3] * 2
    assert [t.intent for t in old_detail.turns] == ["none", "faq:x"]
    assert old_detail.turns[0].asr_confidence == pytest.approx(0.4)
    assert [(c.caller_number, c.note) for c in old_detail.callbacks] == [(None, None)]
    assert recent_detail.turns[0].transcript == "encore là"
    assert repository.list_calls(CallFilter(text="numéro")).total == 0
    assert stats.summary(*window) == before

    again = purge(database.engine, 30, now=now)
    assert (again.turns, again.callbacks) == (0, 0)


def test_purge_refuses_bad_arguments(database: Database) -> None:
    with pytest.raises(ValueError, match="negative"):
        purge(database.engine, -1)
    with pytest.raises(ValueError, match="naive"):
        purge(database.engine, 30, now=datetime(2024, 1, 1))
    assert purge(database.engine, 0, now=datetime.now(UTC)).turns == 0
