"""Streaming CSV export of calls and turns."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from tests.calllog.conftest import Database
from tests.calllog.factories import T0, Turn, make_call, simple_calls
from voicebot.calllog.export import (
    CALL_CSV_COLUMNS,
    CHUNK_ROWS,
    TURN_CSV_COLUMNS,
    export_calls_csv,
    export_turns_csv,
)
from voicebot.calllog.filters import CallFilter
from voicebot.records import CallOutcome


def _parse(chunks: list[str]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO("".join(chunks))))


def test_calls_csv_has_a_header_and_one_row_per_call_in_order(database: Database) -> None:
    calls = simple_calls(CHUNK_ROWS + 20)
    calls[0] = make_call("first", T0 - timedelta(hours=1), outcome=CallOutcome.ABANDONED)
    database.repository().save_calls(calls)
    chunks = list(export_calls_csv(database.engine, sort="started_at"))
    assert len(chunks) >= 2  # streamed in chunks, not built in one piece
    assert chunks[0].startswith(",".join(CALL_CSV_COLUMNS) + "\r\n")
    rows = _parse(chunks)
    assert len(rows) == CHUNK_ROWS + 20
    assert rows[0]["call_id"] == "first"
    assert rows[0]["outcome"] == "abandoned"
    assert rows[0]["started_at"] == (T0 - timedelta(hours=1)).isoformat()
    assert rows[1]["contained"] == "true"
    assert rows[1]["department"] == ""


def test_calls_csv_applies_the_filters(database: Database) -> None:
    database.repository().save_calls(
        [make_call("a"), make_call("b", outcome=CallOutcome.FAILED, turns=[])]
    )
    rows = _parse(list(export_calls_csv(database.engine, CallFilter(outcome=CallOutcome.FAILED))))
    assert [row["call_id"] for row in rows] == ["b"]
    assert rows[0]["first_intent"] == ""
    empty = list(export_calls_csv(database.engine, CallFilter(language="de")))
    assert empty == [",".join(CALL_CSV_COLUMNS) + "\r\n"]


def test_turns_csv_neutralises_spreadsheet_formulas(database: Database) -> None:
    call = make_call(
        "x",
        turns=[Turn("none", '=HYPERLINK("http://evil")', 0.5), Turn("faq:a", 'a, "b"\nc')],
    )
    database.repository().save_calls([call])
    chunks = list(export_turns_csv(database.engine))
    assert chunks[0].startswith(",".join(TURN_CSV_COLUMNS) + "\r\n")
    rows = _parse(chunks)
    assert [(r["call_id"], r["turn_index"]) for r in rows] == [("x", "0"), ("x", "1")]
    assert rows[0]["transcript"] == '\'=HYPERLINK("http://evil")'
    assert rows[1]["transcript"] == 'a, "b"\nc'
