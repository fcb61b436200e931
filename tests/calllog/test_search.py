"""Text search over calls: accents and case ignored, trigram-indexed, erased by purges."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from tests.calllog.conftest import Database
from tests.calllog.factories import T0, Turn, make_call
from voicebot.calllog.filters import CallFilter
from voicebot.calllog.models import Call
from voicebot.calllog.purge import purge
from voicebot.calllog.search import call_search_text, search_key


def test_search_key_drops_accents_case_and_extra_spaces() -> None:
    assert search_key("  L'État   CIVIL, s'il vous plaît ") == "l'etat civil, s'il vous plait"
    assert search_key("Öffnungszeiten ß") == "offnungszeiten ss"
    assert call_search_text(["Bonjour", None, "", "Je veux mon PASSEPORT"]) == (
        "bonjour\nje veux mon passeport"
    )
    assert call_search_text([None, ""]) is None


def _calls(database: Database) -> None:
    database.repository().save_calls(
        [
            make_call(
                "etat", turns=[Turn("etat-civil", "Je voudrais l'état civil", 0.9, "transfer")]
            ),
            make_call(
                "rats",
                T0 + timedelta(minutes=1),
                turns=[Turn("faq:parc", "il y a des rats"), Turn("none", "dans le PARC 100% sûr")],
            ),
            make_call("glob", T0 + timedelta(minutes=2), turns=[Turn("none", "tarif a*b [test]?")]),
            make_call("quiet", T0 + timedelta(minutes=3), turns=[Turn("dtmf:1", "", None, "menu")]),
        ]
    )


def _found(database: Database, query: str) -> set[str]:
    page = database.repository().list_calls(CallFilter(text=query))
    return {item.call_id for item in page.items}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ETAT CIVIL", {"etat"}),
        ("l'état", {"etat"}),
        ("rats dans", set()),  # turns are separate lines: no match across them
        ("parc", {"rats"}),
        ("100%", {"rats"}),
        ("a*b", {"glob"}),
        ("[test]?", {"glob"}),
        ("_", set()),
        ("ra", {"rats", "etat"}),  # two letters: no index, same answer
    ],
)
def test_search_matches_substrings_like_a_person_expects(
    database: Database, query: str, expected: set[str]
) -> None:
    _calls(database)
    assert _found(database, query) == expected


def test_sqlite_search_uses_the_fts5_trigram_index(database: Database) -> None:
    if database.kind != "sqlite":
        pytest.skip("SQLite's FTS5 table")
    _calls(database)
    with database.engine.connect() as connection:
        plan = connection.execute(
            text(
                "EXPLAIN QUERY PLAN SELECT rowid FROM calls_search WHERE search_text GLOB '*parc*'"
            )
        ).all()
    assert any("VIRTUAL TABLE INDEX 0:G" in str(row) for row in plan)


def test_a_filter_with_nothing_to_search_is_refused() -> None:
    with pytest.raises(ValueError, match="nothing to search"):
        CallFilter(text="   ")


def test_purge_erases_the_search_text_with_the_transcripts(database: Database) -> None:
    _calls(database)
    assert _found(database, "parc") == {"rats"}
    purge(database.engine, 0, now=T0 + timedelta(days=1))
    with database.engine.connect() as connection:
        texts = connection.execute(select(Call.search_text)).scalars().all()
    assert texts == [None] * 4
    assert _found(database, "parc") == set()


def test_deleted_calls_leave_the_index(database: Database) -> None:
    _calls(database)
    with database.engine.begin() as connection:
        connection.execute(Call.__table__.delete().where(Call.call_id == "rats"))
    assert _found(database, "parc") == set()


def test_a_slow_count_is_given_up_on_postgres(database: Database) -> None:
    if database.kind != "postgresql":
        pytest.skip("statement_timeout is PostgreSQL's")
    _calls(database)
    repository = database.repository()
    page = repository.list_calls(CallFilter(text="parc"), count_within_ms=5000)
    assert page.total == 1
    # What the page does when the count takes longer than allowed: a count that sleeps.
    with database.engine.connect() as connection:
        assert repository._count(connection, select(func.pg_sleep(0.5)), 50) is None
        # The connection is still usable afterwards (the timeout was for that statement).
    with database.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Call)).scalar_one() == 4
