"""Callback work: statuses, attempts, undo and history, before and after the record exists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from tests.calllog.conftest import Database
from tests.calllog.factories import make_call
from voicebot.calllog.callbacks import (
    CallbackQueue,
    CallbackStateError,
    NothingToUndoError,
    callback_key,
)
from voicebot.calllog.db import alembic_config, create_calllog_engine, migrate
from voicebot.calllog.models import CallbackStatus

T = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)


def test_keys_are_stable_per_request_and_hide_the_call_id() -> None:
    key = callback_key("0c7b6f0e-1f43-4b1a-9a55-5b0d3c1e2f00", 0)
    assert key == callback_key("0c7b6f0e-1f43-4b1a-9a55-5b0d3c1e2f00", 0)
    assert key != callback_key("0c7b6f0e-1f43-4b1a-9a55-5b0d3c1e2f00", 1)
    assert key.startswith("cb_") and "0c7b6f0e" not in key


def test_no_answer_then_called_back_with_who_and_attempts(database: Database) -> None:
    repository = database.repository()
    repository.save_calls([make_call("cb-1", callbacks=[("waste", "0470 11 22 33")])])
    key = callback_key("cb-1", 0)
    queue = CallbackQueue(database.engine)
    state = queue.set_status(key, CallbackStatus.NO_ANSWER, "Marie", now=T)
    assert (state.status, state.attempts, state.is_open) == (CallbackStatus.NO_ANSWER, 1, True)
    queue.set_status(key, CallbackStatus.NO_ANSWER, "Jean", now=T + timedelta(hours=1))
    done = queue.set_status(key, CallbackStatus.CALLED_BACK, "Jean", now=T + timedelta(hours=2))
    assert (done.status, done.attempts, done.handled_by) == (CallbackStatus.CALLED_BACK, 2, "Jean")
    view = repository.get_callback(key)
    assert view is not None
    assert (view.status, view.attempts, view.done_by, view.done_at) == (
        CallbackStatus.CALLED_BACK,
        2,
        "Jean",
        T + timedelta(hours=2),
    )
    assert [c.actor for c in queue.history(key)] == ["Marie", "Jean", "Jean"]


def test_undo_goes_back_one_change_at_a_time(database: Database) -> None:
    database.repository().save_calls([make_call("cb-2", callbacks=[(None, "0470 11 22 33")])])
    key = callback_key("cb-2", 0)
    queue = CallbackQueue(database.engine)
    queue.set_status(key, CallbackStatus.NO_ANSWER, "Marie")
    queue.set_status(key, CallbackStatus.DONE, "Marie")
    assert queue.undo(key, "Marie").status is CallbackStatus.NO_ANSWER
    back = queue.undo(key, "Marie")
    assert (back.status, back.attempts, back.handled_by) == (CallbackStatus.PENDING, 0, None)
    view = database.repository().get_callback(key)
    assert view is not None and (view.status, view.done_at) == (CallbackStatus.PENDING, None)
    with pytest.raises(NothingToUndoError):
        queue.undo(key, "Marie")
    assert [c.undone_at is not None for c in queue.history(key)] == [True, True]


def test_closed_requests_stay_closed_until_undone(database: Database) -> None:
    database.repository().save_calls([make_call("cb-3", callbacks=[(None, None)])])
    key = callback_key("cb-3", 0)
    queue = CallbackQueue(database.engine)
    first = queue.set_status(key, CallbackStatus.CALLED_BACK, "Marie", now=T)
    again = queue.set_status(key, CallbackStatus.DONE, "Jean", now=T + timedelta(minutes=1))
    assert again == first  # a second click (or a colleague's) changes nothing
    with pytest.raises(CallbackStateError, match=r"already closed \(called_back by Marie\)"):
        queue.set_status(key, CallbackStatus.NO_ANSWER, "Jean")
    with pytest.raises(CallbackStateError, match="must be one of"):
        queue.set_status(key, CallbackStatus.PENDING, "Jean")


def test_an_operator_may_act_before_the_call_is_recorded(database: Database) -> None:
    key = callback_key("cb-live", 0)
    queue = CallbackQueue(database.engine)
    early = queue.set_status(key, CallbackStatus.NO_ANSWER, "Marie", now=T)
    assert (early.status, early.stored) == (CallbackStatus.NO_ANSWER, False)
    # The call goes on, ends, and its record arrives with the request.
    repository = database.repository()
    repository.save_calls([make_call("cb-live", callbacks=[("waste", "0470 11 22 33")])])
    view = repository.get_callback(key)
    assert view is not None and (view.status, view.attempts) == (CallbackStatus.NO_ANSWER, 1)
    assert queue.state(key).stored is True
    assert repository.count_callbacks(CallbackStatus.NO_ANSWER) == 1


def test_lists_filter_by_statuses_and_departments(database: Database) -> None:
    repository = database.repository()
    repository.save_calls(
        [
            make_call("d-1", T, callbacks=[("waste", "1")]),
            make_call("d-2", T + timedelta(minutes=1), callbacks=[("population", "2")]),
            make_call("d-3", T + timedelta(minutes=2), callbacks=[(None, "3")]),
        ]
    )
    CallbackQueue(database.engine).set_status(
        callback_key("d-1", 0), CallbackStatus.NO_ANSWER, "Marie"
    )
    open_ = [CallbackStatus.PENDING, CallbackStatus.NO_ANSWER]
    assert [c.caller_number for c in repository.list_callbacks(open_)] == ["1", "2", "3"]
    assert [c.caller_number for c in repository.list_callbacks(CallbackStatus.PENDING)] == [
        "2",
        "3",
    ]
    waste_or_desk = repository.list_callbacks(open_, departments=["waste", None])
    assert [c.caller_number for c in waste_or_desk] == ["1", "3"]
    assert repository.list_callbacks(open_, departments=[]) == []
    assert repository.count_callbacks(open_, departments=["population"]) == 1


def test_migration_gives_existing_requests_the_same_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(url, "0001")
    engine = create_calllog_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO calls (id, call_id, started_at, hour_bucket, language, outcome,"
                    " turn_count, transfer_count, callback_count, contained) VALUES"
                    " (1, 'old-call', '2024-03-04 10:00:00', '2024-03-04 10:00:00', 'fr',"
                    " 'callback', 0, 0, 2, 0)"
                )
            )
            for n, at in enumerate(("2024-03-04 10:01:00", "2024-03-04 10:02:00")):
                connection.execute(
                    text(
                        "INSERT INTO callbacks (call_pk, requested_at, language, status)"
                        " VALUES (1, :at, 'fr', :status)"
                    ),
                    {"at": at, "status": "done" if n else "pending"},
                )
        command.upgrade(alembic_config(url), "head")
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT callback_key, status, attempts FROM callbacks ORDER BY requested_at")
            ).all()
    finally:
        engine.dispose()
    assert rows == [
        (callback_key("old-call", 0), "pending", 0),
        (callback_key("old-call", 1), "done", 0),
    ]
