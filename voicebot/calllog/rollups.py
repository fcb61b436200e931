"""Hourly rollup tables, kept in step with the raw tables inside the writing transaction.

Each rollup row is keyed by the UTC hour the *call* started (``calls.hour_bucket``), so turn
and transfer counts land in the same hour as the call they belong to. Rows are computed in
SQL from the rows just inserted, by the same SELECT that :func:`rebuild_rollups` runs over
everything: incremental and rebuilt rollups cannot drift apart by definition.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    not_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from voicebot.calllog.intents import DIALOG_ACT_PREFIXES, DIALOG_ACTS, NOT_UNDERSTOOD
from voicebot.calllog.models import (
    Call,
    Callback,
    CallHourly,
    IntentHourly,
    RequestHourly,
    Transfer,
    TransferHourly,
    Turn,
    TurnHourly,
)

CALLS = cast(Table, Call.__table__)
TURNS = cast(Table, Turn.__table__)
TRANSFERS = cast(Table, Transfer.__table__)
CALLBACKS = cast(Table, Callback.__table__)
CALL_HOURLY = cast(Table, CallHourly.__table__)
TURN_HOURLY = cast(Table, TurnHourly.__table__)
TRANSFER_HOURLY = cast(Table, TransferHourly.__table__)
INTENT_HOURLY = cast(Table, IntentHourly.__table__)
REQUEST_HOURLY = cast(Table, RequestHourly.__table__)

AnySelect = Select[*tuple[Any, ...]]

NO_DEPARTMENT = ""
"""Stored in ``call_hourly.department`` for calls without department (keys cannot be NULL)."""


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _of_turns(measure: Any) -> Any:
    """``measure`` over the turns of the call in the enclosing query."""
    return select(measure).where(Turn.call_pk == Call.id).scalar_subquery()


def _call_select(where: ColumnElement[bool]) -> AnySelect:
    # The turns' speech and latency sums ride along per call, so the headline figures come
    # from this one small table instead of the per-intent turn rollup.
    per_call = (
        select(
            Call.hour_bucket,
            Call.language,
            Call.outcome,
            func.coalesce(Call.department, NO_DEPARTMENT).label("department"),
            Call.contained,
            Call.callback_count,
            Call.duration_s,
            Call.turn_count,
            _of_turns(func.sum(Turn.asr_confidence)).label("conf_sum"),
            _of_turns(func.count(Turn.asr_confidence)).label("conf_n"),
            _of_turns(func.sum(Turn.latency_ms)).label("lat_sum"),
            _of_turns(func.count(Turn.latency_ms)).label("lat_n"),
        )
        .where(where)
        .subquery()
    )
    c = per_call.c
    keys = (c.hour_bucket, c.language, c.outcome, c.department)
    return (
        select(
            *keys,
            func.count(),
            _count_if(c.contained.is_(True)),
            _count_if(c.callback_count > 0),
            func.coalesce(func.sum(c.duration_s), 0.0),
            func.count(c.duration_s),
            func.coalesce(func.sum(c.turn_count), 0),
            func.coalesce(func.sum(c.conf_sum), 0.0),
            func.coalesce(func.sum(c.conf_n), 0),
            func.coalesce(func.sum(c.lat_sum), 0.0),
            func.coalesce(func.sum(c.lat_n), 0),
        )
        .group_by(*keys)
        .order_by(*keys)
    )


def is_request(intent: Any) -> ColumnElement[bool]:
    """SQL for :func:`voicebot.calllog.intents.intent_kind` being ``REQUEST``."""
    return and_(
        intent != NOT_UNDERSTOOD,
        intent.not_in(sorted(DIALOG_ACTS)),
        *(not_(intent.startswith(prefix, autoescape=True)) for prefix in DIALOG_ACT_PREFIXES),
    )


def _turn_select(where: ColumnElement[bool]) -> AnySelect:
    department = func.coalesce(Call.department, NO_DEPARTMENT)
    keys = (Call.hour_bucket, Call.language, department, Turn.intent)
    return (
        select(*keys, func.count())
        .select_from(TURNS.join(CALLS, Turn.call_pk == Call.id))
        .where(where)
        .group_by(*keys)
        .order_by(*keys)
    )


def _intent_select(where: ColumnElement[bool]) -> AnySelect:
    keys = (Call.hour_bucket, Turn.intent)
    return (
        select(*keys, func.count())
        .select_from(TURNS.join(CALLS, Turn.call_pk == Call.id))
        .where(where)
        .group_by(*keys)
        .order_by(*keys)
    )


def _request_select(where: ColumnElement[bool]) -> AnySelect:
    department = func.coalesce(Call.department, NO_DEPARTMENT)
    keys = (Call.hour_bucket, Call.language, department, Turn.intent)
    return (
        select(*keys, func.count(func.distinct(Call.id)))
        .select_from(TURNS.join(CALLS, Turn.call_pk == Call.id))
        .where(where, is_request(Turn.intent))
        .group_by(*keys)
        .order_by(*keys)
    )


def _transfer_select(where: ColumnElement[bool]) -> AnySelect:
    keys = (Call.hour_bucket, Call.language, Transfer.target, Transfer.dial_status)
    return (
        select(*keys, func.count())
        .select_from(TRANSFERS.join(CALLS, Transfer.call_pk == Call.id))
        .where(where)
        .group_by(*keys)
        .order_by(*keys)
    )


_ROLLUPS = (
    (CALL_HOURLY, _call_select, Call.id),
    (TURN_HOURLY, _turn_select, Turn.call_pk),
    (INTENT_HOURLY, _intent_select, Turn.call_pk),
    (TRANSFER_HOURLY, _transfer_select, Transfer.call_pk),
    (REQUEST_HOURLY, _request_select, Turn.call_pk),
)


def insert_for(connection: Connection, table: Table) -> Any:
    """The dialect's INSERT construct (with ON CONFLICT support) for ``table``."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"unsupported dialect {dialect!r} for the call log")


def add_to_rollups(connection: Connection, call_pks: Sequence[int]) -> None:
    """Add the calls with primary keys ``call_pks`` (just inserted) to the hourly rollups.

    Rows are upserted in key order so concurrent writers lock them in the same order and
    cannot deadlock.
    """
    if not call_pks:
        return
    ids = bindparam("ids", value=list(call_pks), expanding=True, type_=Call.id.type)
    for table, make_select, call_column in _ROLLUPS:
        keys = [column.name for column in table.primary_key.columns]
        measures = [column.name for column in table.columns if column.name not in keys]
        insert = insert_for(connection, table).from_select(
            keys + measures, make_select(call_column.in_(ids))
        )
        insert = insert.on_conflict_do_update(
            index_elements=keys,
            set_={name: table.c[name] + insert.excluded[name] for name in measures},
        )
        connection.execute(insert)


def rebuild_rollups(connection: Connection) -> None:
    """Recompute every rollup from the raw tables (after a bulk load or to repair them)."""
    for table, make_select, _ in _ROLLUPS:
        connection.execute(delete(table))
        keys = [column.name for column in table.primary_key.columns]
        measures = [column.name for column in table.columns if column.name not in keys]
        connection.execute(table.insert().from_select(keys + measures, make_select(true())))
