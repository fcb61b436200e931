"""Statistics on a small hand-computed data set, with buckets in Europe/Brussels time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pytest
from sqlalchemy import select

from tests.calllog.conftest import BACKENDS, Database, open_database
from tests.calllog.factories import T0, Turn, make_call
from voicebot.calllog.models import (
    CallHourly,
    IntentHourly,
    RequestHourly,
    TransferHourly,
    TurnHourly,
)
from voicebot.calllog.rollups import rebuild_rollups
from voicebot.calllog.stats import (
    Bucket,
    CallLogStats,
    CountRow,
    DepartmentTransfers,
    Dimension,
    Scope,
)
from voicebot.records import CallOutcome, CallRecord, TransferStatus

BRUSSELS = ZoneInfo("Europe/Brussels")
START = datetime(2024, 3, 25, tzinfo=BRUSSELS)
END = datetime(2024, 4, 8, tzinfo=BRUSSELS)


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


def local_day(month: int, day: int) -> datetime:
    return datetime(2024, month, day, tzinfo=BRUSSELS)


def six_calls() -> list[CallRecord]:
    """Six calls around the switch to summer time (2024-03-31 01:00 UTC).

    C starts on Saturday 23:30 UTC, already Sunday in Brussels; F on Sunday 22:30 UTC,
    already Monday (the next week) in Brussels.
    """
    return [
        make_call(
            "A",
            utc(3, 29, 8, 10),
            duration_s=120,
            turns=[
                Turn("faq:passport", "passeport", 0.9, "answer", {"total": 400.0}),
                Turn("goodbye", "au revoir", 0.8, "goodbye", {"asr": 100.0, "tts": 50.0}),
            ],
        ),
        make_call(
            "B",
            utc(3, 29, 8, 40),
            duration_s=60,
            outcome=CallOutcome.TRANSFERRED,
            language="nl",
            department="population",
            turns=[Turn("population", "paspoort", 0.7, "transfer", {"total": 600.0})],
            transfers=[("population", TransferStatus.ANSWER)],
        ),
        make_call(
            "C",
            utc(3, 30, 23, 30),
            duration_s=30,
            outcome=CallOutcome.ABANDONED,
            turns=[Turn("none", "euh le truc", 0.3, "rephrase")],
        ),
        make_call(
            "D",
            utc(3, 31, 9),
            duration_s=90,
            outcome=CallOutcome.CALLBACK,
            language="en",
            turns=[Turn("urbanisme", "", None, "callback", dtmf="2")],
            transfers=[("urbanisme", TransferStatus.NOANSWER)],
            callbacks=[("urbanisme", "+3221234567")],
        ),
        make_call(
            "E",
            utc(4, 1, 10),
            duration_s=None,
            outcome=CallOutcome.OPERATOR,
            department="operator",
            turns=[
                Turn("none", "je veux parler à quelqu'un", 0.4, "rephrase"),
                Turn("operator", "quelqu'un", 0.95, "transfer"),
            ],
            transfers=[("operator", TransferStatus.ANSWER)],
        ),
        make_call(
            "F",
            utc(3, 31, 22, 30),
            duration_s=45,
            turns=[Turn("faq:hours", "horaires", 0.85, "answer")],
        ),
    ]


@pytest.fixture(scope="module", params=BACKENDS)
def stats_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """The six calls, saved in two batches as the writer would."""
    with open_database(request.param, tmp_path_factory.mktemp("stats")) as database:
        calls = six_calls()
        database.repository().save_calls(calls[:3])
        database.repository().save_calls(calls[3:])
        yield database


@pytest.fixture
def stats(stats_db: Database) -> CallLogStats:
    return CallLogStats(stats_db.engine, "Europe/Brussels")


def test_summary_over_the_range(stats: CallLogStats) -> None:
    [summary] = stats.summary(START, END)
    assert summary.bucket is None
    assert (summary.calls, summary.contained, summary.transferred) == (6, 2, 2)
    assert (summary.abandoned, summary.callbacks, summary.turns) == (1, 1, 8)
    assert summary.contained_rate == pytest.approx(2 / 6)
    assert summary.transfer_rate == pytest.approx(2 / 6)
    assert summary.abandonment_rate == pytest.approx(1 / 6)
    assert summary.avg_handling_time_s == pytest.approx(69.0)
    assert summary.avg_asr_confidence == pytest.approx(0.7)
    assert summary.avg_turn_latency_ms == pytest.approx(1150 / 3)


def test_summary_and_counts_of_one_language(stats: CallLogStats) -> None:
    [french] = stats.summary(START, END, scope=Scope(language="fr"))
    assert (french.calls, french.contained, french.transferred, french.abandoned) == (4, 2, 1, 1)
    assert french.turns == 6
    # Turn averages are kept per language too: A, C, E (twice) and F had speech.
    assert french.avg_asr_confidence == pytest.approx((0.9 + 0.8 + 0.3 + 0.4 + 0.95 + 0.85) / 6)
    days = [item.bucket for item in stats.summary(START, END, Bucket.DAY, scope=Scope("nl"))]
    assert days == [local_day(3, 29)]
    outcomes = stats.counts(Dimension.OUTCOME, START, END, scope=Scope(language="en"))
    assert outcomes == [CountRow(None, "callback", 1)]
    intents = stats.counts(Dimension.INTENT, START, END, scope=Scope(language="nl"))
    assert intents == [CountRow(None, "population", 1)]


def test_every_statistic_can_be_narrowed_to_a_department(stats: CallLogStats) -> None:
    population = Scope(department="population")
    [summary] = stats.summary(START, END, scope=population)
    assert (summary.calls, summary.transferred, summary.turns) == (1, 1, 1)
    assert stats.counts(Dimension.INTENT, START, END, scope=population) == [
        CountRow(None, "population", 1)
    ]
    assert stats.requests(START, END, scope=population) == [CountRow(None, "population", 1)]
    transfers = stats.transfers_by_department(START, END, scope=population)
    assert [(t.department, t.calls, t.attempts) for t in transfers] == [("population", 1, 1)]
    assert transfers[0].share == pytest.approx(1 / 6)  # of all the calls of the period


def test_requests_count_calls_and_leave_dialog_acts_apart(stats: CallLogStats) -> None:
    rows = stats.requests(START, END)
    # "none" (C, E) and "goodbye" (A) are not requests; each call counts once per request.
    assert sorted((row.key, row.count) for row in rows) == [
        ("faq:hours", 1),
        ("faq:passport", 1),
        ("operator", 1),
        ("population", 1),
        ("urbanisme", 1),
    ]


def test_requests_count_a_call_once_however_often_it_asked(database: Database) -> None:
    repeated = [Turn("faq:horaires"), Turn("none", "hein", 0.9, "rephrase"), Turn("faq:horaires")]
    database.repository().save_calls(
        [make_call("r1", turns=repeated), make_call("r2", turns=[Turn("faq:horaires")])]
    )
    stats = CallLogStats(database.engine)
    rows = stats.requests(T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert rows == [CountRow(None, "faq:horaires", 2)]
    by_intent = stats.counts(Dimension.INTENT, T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert {row.key: row.count for row in by_intent} == {"faq:horaires": 3, "none": 1}


def test_summary_per_local_day(stats: CallLogStats) -> None:
    days = {item.bucket: item for item in stats.summary(START, END, Bucket.DAY)}
    assert list(days) == [local_day(3, 29), local_day(3, 31), local_day(4, 1)]
    monday = days[local_day(4, 1)]
    assert (monday.calls, monday.contained, monday.transferred, monday.abandoned) == (2, 1, 1, 0)
    assert monday.avg_handling_time_s == pytest.approx(45.0)
    assert monday.avg_asr_confidence == pytest.approx((0.4 + 0.95 + 0.85) / 3)
    assert monday.avg_turn_latency_ms is None


def test_summary_of_an_empty_range_has_no_rates(stats: CallLogStats) -> None:
    [empty] = stats.summary(datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 1, 2, tzinfo=UTC))
    assert (empty.calls, empty.turns) == (0, 0)
    assert empty.contained_rate is None and empty.avg_handling_time_s is None


def test_counts_per_outcome_over_the_range(stats: CallLogStats) -> None:
    assert stats.counts(Dimension.OUTCOME, START, END) == [
        CountRow(None, "answered", 2),
        CountRow(None, "abandoned", 1),
        CountRow(None, "callback", 1),
        CountRow(None, "operator", 1),
        CountRow(None, "transferred", 1),
    ]


def test_counts_per_intent_count_turns(stats: CallLogStats) -> None:
    rows = stats.counts(Dimension.INTENT, START, END)
    assert rows[0] == CountRow(None, "none", 2)
    assert {row.key: row.count for row in rows[1:]} == {
        "faq:hours": 1,
        "faq:passport": 1,
        "goodbye": 1,
        "operator": 1,
        "population": 1,
        "urbanisme": 1,
    }


def test_counts_per_department_keep_calls_without_department(stats: CallLogStats) -> None:
    assert stats.counts(Dimension.DEPARTMENT, START, END) == [
        CountRow(None, None, 4),
        CountRow(None, "operator", 1),
        CountRow(None, "population", 1),
    ]


def test_day_buckets_start_at_brussels_midnight(stats: CallLogStats) -> None:
    assert stats.counts(Dimension.LANGUAGE, START, END, Bucket.DAY) == [
        CountRow(local_day(3, 29), "fr", 1),
        CountRow(local_day(3, 29), "nl", 1),
        CountRow(local_day(3, 31), "en", 1),
        CountRow(local_day(3, 31), "fr", 1),
        CountRow(local_day(4, 1), "fr", 2),
    ]


def test_week_buckets_start_on_brussels_monday(stats: CallLogStats) -> None:
    rows = stats.counts(Dimension.LANGUAGE, START, END, Bucket.WEEK)
    assert rows == [
        CountRow(local_day(3, 25), "en", 1),
        CountRow(local_day(3, 25), "fr", 2),
        CountRow(local_day(3, 25), "nl", 1),
        CountRow(local_day(4, 1), "fr", 2),
    ]
    assert rows[-1].bucket is not None and rows[-1].bucket.utcoffset() == timedelta(hours=2)


def test_hour_buckets_are_utc_hours_shown_in_brussels_time(stats: CallLogStats) -> None:
    rows = stats.counts(Dimension.OUTCOME, START, END, Bucket.HOUR)
    first_hour = datetime(2024, 3, 29, 9, tzinfo=BRUSSELS)
    assert [r for r in rows if r.bucket == first_hour] == [
        CountRow(first_hour, "answered", 1),
        CountRow(first_hour, "transferred", 1),
    ]
    assert rows[0].bucket is not None and rows[0].bucket.utcoffset() == timedelta(hours=1)
    assert sum(row.count for row in rows) == 6


def test_range_is_rounded_outward_to_whole_hours(stats: CallLogStats) -> None:
    # A starts at 08:10 UTC and B at 08:40: a range inside that hour still counts both.
    rows = stats.counts(Dimension.OUTCOME, utc(3, 29, 8, 20), utc(3, 29, 8, 30))
    assert sum(row.count for row in rows) == 2


def test_transfers_by_department(stats: CallLogStats) -> None:
    assert stats.transfers_by_department(START, END) == [
        DepartmentTransfers("operator", 1, pytest.approx(1 / 6), 1, 1, 1.0),  # type: ignore[arg-type]
        DepartmentTransfers("population", 1, pytest.approx(1 / 6), 1, 1, 1.0),  # type: ignore[arg-type]
        DepartmentTransfers("urbanisme", 0, 0.0, 1, 0, 0.0),
    ]


def test_bad_ranges_and_zones_are_refused(stats: CallLogStats, stats_db: Database) -> None:
    with pytest.raises(ValueError, match="naive"):
        stats.summary(datetime(2024, 1, 1), END)
    with pytest.raises(ValueError, match="not after start"):
        stats.summary(END, START)
    with pytest.raises(ValueError, match="hour buckets are limited"):
        stats.counts(Dimension.INTENT, START, START + timedelta(days=40), Bucket.HOUR)
    with pytest.raises(ValueError, match="unknown time zone"):
        CallLogStats(stats_db.engine, "Mars/Olympus_Mons")


def _rollups(database: Database) -> list[list[tuple[object, ...]]]:
    with database.engine.connect() as connection:
        return [
            sorted(tuple(row) for row in connection.execute(select(table)))
            for table in (CallHourly, TurnHourly, IntentHourly, TransferHourly, RequestHourly)
        ]


def test_rebuilt_rollups_equal_the_incremental_ones(database: Database) -> None:
    calls = six_calls()
    for call in calls:
        database.repository().save_calls([call])
    incremental = _rollups(database)
    with database.engine.begin() as connection:
        rebuild_rollups(connection)
    rebuilt = _rollups(database)
    assert [len(rows) for rows in rebuilt] == [len(rows) for rows in incremental]
    for before, after in zip(incremental, rebuilt, strict=True):
        for old, new in zip(before, after, strict=True):
            for a, b in zip(old, new, strict=True):
                assert a == (pytest.approx(b) if isinstance(b, float) else b)


# ----------------------------------------------------------- not understood

VOCABULARY = ("piscine", "chat")


def keyword_embed(texts: list[str]) -> npt.NDArray[np.float64]:
    """Tiny deterministic embedder: one axis per keyword plus a small common axis."""
    vectors = np.array([[float(word in text) for word in VOCABULARY] + [0.05] for text in texts])
    unit: npt.NDArray[np.float64] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return unit


def not_understood_calls() -> list[CallRecord]:
    texts = ["horaires piscine"] * 3 + ["horaire de la piscine"] * 2 + ["chat perdu"]
    calls = [
        make_call(f"n{i}", utc(5, 6, 9, i), turns=[Turn("none", text, 0.8, "rephrase")])
        for i, text in enumerate(texts)
    ]
    return [
        *calls,
        make_call("low", utc(5, 6, 10), turns=[Turn("faq:piscine", "piscine ouverte", 0.2)]),
        make_call("ok", utc(5, 6, 11), turns=[Turn("faq:piscine", "piscine ouverte", 0.9)]),
        make_call("empty", utc(5, 6, 12), turns=[Turn("none", "", None, "rephrase")]),
        make_call("late", utc(5, 9, 12), turns=[Turn("none", "chat perdu", 0.9, "rephrase")]),
    ]


def test_not_understood_questions_are_grouped_by_similarity(database: Database) -> None:
    database.repository().save_calls(not_understood_calls())
    stats = CallLogStats(database.engine)
    groups = stats.not_understood(utc(5, 6, 0), utc(5, 7, 0), keyword_embed, threshold=0.8)
    assert [(g.count, g.representative, g.distinct) for g in groups] == [
        (6, "horaires piscine", 3),
        (1, "chat perdu", 1),
    ]
    assert groups[0].examples == ("horaires piscine", "horaire de la piscine", "piscine ouverte")
    strict = stats.not_understood(
        utc(5, 6, 0), utc(5, 7, 0), keyword_embed, low_confidence=0.1, limit=1, examples=1
    )
    assert [(g.count, g.examples) for g in strict] == [(5, ("horaires piscine",))]


def test_not_understood_questions_of_one_language(database: Database) -> None:
    calls = [
        *not_understood_calls(),
        make_call(
            "nl-1", utc(5, 6, 13), language="nl", turns=[Turn("none", "zwembad", 0.9, "rephrase")]
        ),
    ]
    database.repository().save_calls(calls)
    stats = CallLogStats(database.engine)
    dutch = stats.not_understood(utc(5, 6, 0), utc(5, 7, 0), keyword_embed, scope=Scope("nl"))
    assert [(g.count, g.representative) for g in dutch] == [(1, "zwembad")]
