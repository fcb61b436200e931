"""Streaming CSV export of calls and turns (server-side cursor, bounded memory).

Two formats (:class:`CsvFormat`): the standard one (RFC 4180: ``,`` separators, ``.``
decimals, ISO 8601 times with their UTC offset) and the one Excel opens as columns in a
French, Dutch or German locale (UTF-8 byte order mark, ``;`` separators, ``,`` decimals,
times as ``YYYY-MM-DD HH:MM:SS`` in the city's zone, which Excel reads as dates).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Select, select

from voicebot.calllog.filters import DEFAULT_SORT, CallFilter, order_by
from voicebot.calllog.models import Call, Turn

CHUNK_ROWS = 500

CALL_CSV_COLUMNS: tuple[str, ...] = (
    "call_id",
    "started_at",
    "ended_at",
    "duration_s",
    "caller_hash",
    "language",
    "outcome",
    "department",
    "channel",
    "turn_count",
    "first_intent",
    "last_intent",
    "asr_confidence_mean",
    "transfer_count",
    "callback_count",
    "contained",
)

TURN_CSV_COLUMNS: tuple[str, ...] = (
    "call_id",
    "turn_index",
    "started_at",
    "language",
    "transcript",
    "asr_confidence",
    "intent",
    "score",
    "margin",
    "runner_up",
    "action",
    "reply_text",
    "dtmf",
    "latency_ms",
)

# Spreadsheets run cells starting with these as formulas; free text from callers is
# prefixed with a quote so an export can never execute anything.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FREE_TEXT = frozenset({"transcript", "reply_text"})


BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class CsvFormat:
    """How a CSV export writes separators, numbers and times."""

    zone: ZoneInfo | None = None
    """Times in this zone (the city's); None: in UTC, as stored."""
    excel: bool = False
    """For Excel in a French/Dutch/German locale: BOM, ``;``, ``,`` decimals, local times
    without offset."""

    def cell(self, name: str, value: Any) -> Any:
        """``value`` of column ``name`` as written."""
        if value is None:
            return ""
        if isinstance(value, datetime):
            moment = value.astimezone(self.zone) if self.zone is not None else value
            if self.excel:
                return moment.strftime("%Y-%m-%d %H:%M:%S")
            return moment.isoformat()
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and self.excel:
            return repr(value).replace(".", ",")
        if name in _FREE_TEXT and isinstance(value, str) and value.startswith(_FORMULA_START):
            return "'" + value
        return value


STANDARD = CsvFormat()


def _stream(
    engine: Engine,
    query: Select[*tuple[Any, ...]],
    columns: Sequence[str],
    fmt: CsvFormat,
) -> Iterator[str]:
    buffer = io.StringIO()
    if fmt.excel:
        # Without the byte order mark Excel reads UTF-8 as the local code page ("Ã©").
        buffer.write(BOM)
    writer = csv.writer(buffer, delimiter=";" if fmt.excel else ",", lineterminator="\r\n")
    writer.writerow(columns)
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=CHUNK_ROWS).execute(
            query
        )
        for partition in result.partitions():
            for row in partition:
                writer.writerow(
                    [fmt.cell(name, value) for name, value in zip(columns, row, strict=True)]
                )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def export_calls_csv(
    engine: Engine,
    filters: CallFilter | None = None,
    *,
    sort: str = DEFAULT_SORT,
    fmt: CsvFormat = STANDARD,
) -> Iterator[str]:
    """CSV text chunks (header first) of every call matching ``filters``, in ``sort`` order."""
    conditions = (filters or CallFilter()).conditions(engine.dialect.name)
    query = select(*(getattr(Call, name) for name in CALL_CSV_COLUMNS)).where(*conditions)
    return _stream(engine, query.order_by(*order_by(sort)), CALL_CSV_COLUMNS, fmt)


def export_turns_csv(
    engine: Engine,
    filters: CallFilter | None = None,
    *,
    sort: str = DEFAULT_SORT,
    fmt: CsvFormat = STANDARD,
) -> Iterator[str]:
    """CSV text chunks of every turn of the calls matching ``filters`` (calls in ``sort`` order)."""
    conditions = (filters or CallFilter()).conditions(engine.dialect.name)
    query = (
        select(Call.call_id, *(getattr(Turn, name) for name in TURN_CSV_COLUMNS[1:]))
        .join(Call, Turn.call_pk == Call.id)
        .where(*conditions)
        .order_by(*order_by(sort), Turn.turn_index)
    )
    return _stream(engine, query, TURN_CSV_COLUMNS, fmt)
