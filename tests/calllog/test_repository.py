"""Repository: idempotent saves, pseudonymisation, list filters, detail, callbacks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from tests.calllog.conftest import BACKENDS, TEST_KEY, Database, open_database
from tests.calllog.factories import T0, Turn, make_call, simple_calls
from voicebot.calllog.filters import CallFilter
from voicebot.calllog.models import Call, CallbackStatus, CallHourly
from voicebot.calllog.models import Callback as CallbackRow
from voicebot.calllog.models import Transfer as TransferRow
from voicebot.calllog.models import Turn as TurnRow
from voicebot.calllog.pseudonymize import Pseudonymizer
from voicebot.calllog.repository import CallbackNotFoundError
from voicebot.calllog.rows import InvalidRecordError
from voicebot.records import CallOutcome, CallRecord, TransferStatus


def _count(database: Database, model: type) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(model)).scalar_one())


def _ids(page_items: object) -> list[str]:
    return [item.call_id for item in page_items]  # type: ignore[attr-defined]


def five_calls() -> list[CallRecord]:
    """The small data set the filter tests query."""
    return [
        make_call("c1", T0, turns=[Turn("faq:horaires", "quels sont les horaires", 0.9)]),
        make_call(
            "c2",
            T0 + timedelta(hours=1),
            duration_s=120,
            outcome=CallOutcome.TRANSFERRED,
            language="nl",
            department="population",
            turns=[Turn("population", "réduction de 50% sur le_parking", 0.6, "transfer")],
            transfers=[("population", TransferStatus.ANSWER)],
        ),
        make_call(
            "c3",
            T0 + timedelta(hours=2),
            duration_s=20,
            outcome=CallOutcome.ABANDONED,
            turns=[Turn("none", "euh le lampadaire", 0.3, "rephrase")],
        ),
        make_call(
            "c4",
            T0 + timedelta(hours=3),
            duration_s=None,
            outcome=CallOutcome.CALLBACK,
            language="en",
            caller="+32 2 123 45 67",
            turns=[Turn("urbanisme", "", None, "callback", dtmf="1")],
            callbacks=[("urbanisme", "+32 2 123 45 67")],
        ),
        make_call(
            "c5",
            T0 + timedelta(days=1),
            duration_s=200,
            turns=[
                Turn("faq:passeport", "Je voudrais un PASSEPORT", 0.95),
                Turn("goodbye", "merci au revoir", 0.85, "goodbye"),
            ],
        ),
    ]


@pytest.fixture(scope="module", params=BACKENDS)
def populated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """A database holding :func:`five_calls`, shared by the read-only tests of this module."""
    with open_database(request.param, tmp_path_factory.mktemp("populated")) as database:
        database.repository().save_calls(five_calls())
        yield database


# ------------------------------------------------------------------ saving


def test_saving_the_same_batch_twice_stores_each_call_once(database: Database) -> None:
    repository = database.repository()
    batch = five_calls()
    assert repository.save_calls(batch) == 5
    assert repository.save_calls(batch) == 0
    assert repository.save_calls(batch[:2] + simple_calls(1)) == 1
    assert _count(database, Call) == 6
    assert _count(database, TurnRow) == 7
    assert _count(database, TransferRow) == 1
    assert _count(database, CallbackRow) == 1
    with database.engine.connect() as connection:
        rolled_up = connection.execute(select(func.sum(CallHourly.calls))).scalar_one()
    assert rolled_up == 6


def test_a_call_twice_in_one_batch_is_stored_once(database: Database) -> None:
    call = five_calls()[4]
    assert database.repository().save_calls([call, call]) == 1
    assert _count(database, TurnRow) == 2


def test_invalid_record_is_refused_before_anything_is_written(database: Database) -> None:
    naive = replace(five_calls()[0], call_id="naive", started_at=datetime(2024, 3, 4, 9))
    with pytest.raises(InvalidRecordError, match=r"'naive'.*naive datetime"):
        database.repository().save_calls([*simple_calls(2), naive])
    too_long = make_call("long", language="x" * 17)
    with pytest.raises(InvalidRecordError, match="language longer than 16"):
        database.repository().save_calls([too_long])
    nul = make_call("nul", turns=[Turn("none", "euh\x00")])
    with pytest.raises(InvalidRecordError, match="transcript contains a NUL"):
        database.repository().save_calls([nul])
    assert _count(database, Call) == 0


def test_calls_table_holds_no_raw_caller_number(database: Database) -> None:
    database.repository().save_calls(five_calls())
    with database.engine.connect() as connection:
        rows = connection.execute(select(Call.__table__)).all()
        callback_numbers = connection.execute(select(CallbackRow.caller_number)).scalars().all()
    dumped = repr(rows)
    for fragment in ("470", "123 45 67", "21234567"):
        assert fragment not in dumped
    expected = Pseudonymizer(TEST_KEY, "32").caller_hash("0470123456")
    assert {row.caller_hash for row in rows if row.call_id == "c1"} == {expected}
    assert callback_numbers == ["+32 2 123 45 67"]


# ---------------------------------------------------------------- listing


def test_list_defaults_to_newest_first_with_total(populated: Database) -> None:
    page = populated.repository().list_calls()
    assert _ids(page.items) == ["c5", "c4", "c3", "c2", "c1"]
    assert page.total == 5
    first = page.items[0]
    assert first.turn_count == 2
    assert first.first_intent == "faq:passeport" and first.last_intent == "goodbye"
    assert first.contained is True
    assert first.started_at == T0 + timedelta(days=1)
    assert first.duration_s == pytest.approx(200)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (CallFilter(outcome=CallOutcome.ANSWERED), ["c5", "c1"]),
        (CallFilter(department="population"), ["c2"]),
        (CallFilter(intent="goodbye"), ["c5"]),
        (CallFilter(language="fr"), ["c5", "c3", "c1"]),
        (CallFilter(start=T0 + timedelta(minutes=30), end=T0 + timedelta(hours=3)), ["c3", "c2"]),
        (CallFilter(min_confidence=0.8), ["c5", "c1"]),
        (CallFilter(max_confidence=0.5), ["c3"]),
        (CallFilter(text="passeport"), ["c5"]),
        (CallFilter(text="LAMPADAIRE"), ["c3"]),
        (CallFilter(text="%"), ["c2"]),
        (CallFilter(text="e_p"), ["c2"]),
        (CallFilter(language="fr", outcome=CallOutcome.ABANDONED, text="euh"), ["c3"]),
        (CallFilter(text="nulle part"), []),
    ],
)
def test_list_filters(populated: Database, filters: CallFilter, expected: list[str]) -> None:
    page = populated.repository().list_calls(filters)
    assert _ids(page.items) == expected
    assert page.total == len(expected)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("duration", ["c3", "c1", "c2", "c5", "c4"]),
        ("-duration", ["c5", "c2", "c1", "c3", "c4"]),
        ("started_at", ["c1", "c2", "c3", "c4", "c5"]),
        ("-asr_confidence", ["c1", "c5", "c2", "c3", "c4"]),
        ("language", ["c4", "c1", "c3", "c5", "c2"]),
    ],
)
def test_list_sorts_on_whitelisted_keys(
    populated: Database, sort: str, expected: list[str]
) -> None:
    assert _ids(populated.repository().list_calls(sort=sort).items) == expected


def test_list_paginates_with_limit_and_offset(populated: Database) -> None:
    page = populated.repository().list_calls(limit=2, offset=2)
    assert _ids(page.items) == ["c3", "c2"]
    assert (page.total, page.limit, page.offset) == (5, 2, 2)
    assert populated.repository().list_calls(limit=2, offset=10).items == ()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sort": "caller_hash"}, "sort 'caller_hash'"),
        ({"sort": "started_at; DROP TABLE calls"}, "must be one of"),
        ({"limit": 0}, "limit 0"),
        ({"limit": 5000}, "limit 5000"),
        ({"offset": -1}, "offset -1"),
    ],
)
def test_list_refuses_bad_paging_and_sorting(
    populated: Database, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        populated.repository().list_calls(**kwargs)  # type: ignore[arg-type]


def test_filter_refuses_bad_values() -> None:
    with pytest.raises(ValueError, match="min_confidence"):
        CallFilter(min_confidence=1.5)
    with pytest.raises(ValueError, match="naive datetime"):
        CallFilter(start=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="unknown outcome"):
        CallFilter(outcome="lost")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="text"):
        CallFilter(text="")


def test_get_call_returns_turns_transfers_and_callbacks(populated: Database) -> None:
    repository = populated.repository()
    detail = repository.get_call("c2")
    assert detail is not None
    assert detail.call.outcome is CallOutcome.TRANSFERRED
    assert [t.transcript for t in detail.turns] == ["réduction de 50% sur le_parking"]
    assert detail.turns[0].started_at.tzinfo is not None
    assert [(t.target, t.dial_status) for t in detail.transfers] == [
        ("population", TransferStatus.ANSWER)
    ]
    callback_call = repository.get_call("c4")
    assert callback_call is not None
    assert [(c.caller_number, c.status) for c in callback_call.callbacks] == [
        ("+32 2 123 45 67", CallbackStatus.PENDING)
    ]
    assert callback_call.turns[0].dtmf == "1"
    assert repository.get_call("unknown") is None


def test_turn_latency_is_the_total_timing_or_the_stage_sum(database: Database) -> None:
    call = make_call(
        "lat",
        turns=[
            Turn("a", timings={"asr": 100.0, "total": 450.0}),
            Turn("b", timings={"asr": 100.0, "tts": 50.5}),
            Turn("c"),
        ],
    )
    repository = database.repository()
    repository.save_calls([call])
    detail = repository.get_call("lat")
    assert detail is not None
    assert [t.latency_ms for t in detail.turns] == [450.0, 150.5, None]
    assert detail.turns[1].timings_ms == {"asr": 100.0, "tts": 50.5}


# --------------------------------------------------------------- callbacks


def test_callback_queue_lists_pending_and_marks_done(database: Database) -> None:
    repository = database.repository()
    repository.save_calls(five_calls())
    pending = repository.list_callbacks()
    assert [(c.call_id, c.department) for c in pending] == [("c4", "urbanisme")]
    assert repository.count_callbacks() == 1
    done_at = datetime(2024, 3, 5, 10, tzinfo=UTC)
    done = repository.mark_callback_done(pending[0].id, done_by="alice", now=done_at)
    assert (done.status, done.done_by, done.done_at) == (CallbackStatus.DONE, "alice", done_at)
    assert repository.list_callbacks() == []
    assert repository.count_callbacks() == 0
    assert [c.status for c in repository.list_callbacks(None)] == [CallbackStatus.DONE]
    again = repository.mark_callback_done(pending[0].id, done_by="bob")
    assert (again.done_by, again.done_at) == ("alice", done_at)
    with pytest.raises(CallbackNotFoundError):
        repository.mark_callback_done(999_999)


def test_foreign_keys_are_enforced(database: Database) -> None:
    with (
        pytest.raises(IntegrityError, match=r"(?i)foreign key"),
        database.engine.begin() as connection,
    ):
        connection.execute(
            text(
                "INSERT INTO transfers (call_pk, target, extension, requested_at, dial_status) "
                "VALUES (424242, 'x', '1', CURRENT_TIMESTAMP, 'ANSWER')"
            )
        )
