"""Calls page and honest figures: searchable call text, runner-up, rollups per language and
department, calls per request, containment recomputed.

* ``calls.search_text`` (normalised transcripts) with its trigram index: ``pg_trgm`` GIN on
  PostgreSQL, an FTS5 ``trigram`` table kept in step by triggers on SQLite. The trigram
  index on ``turns.transcript`` it replaces is dropped.
* ``turns.runner_up``: the second-best routing target.
* ``turn_hourly`` gains ``language`` and ``department``, ``transfer_hourly`` gains
  ``language`` (every dashboard panel can then be filtered by both); ``request_hourly``
  counts calls per request.
* ``calls.contained`` follows the stricter rule of :mod:`voicebot.calllog.containment`.

Existing rows are backfilled (search text and containment in Python, batch by batch; the
rollups in SQL written out here, so that this revision does not depend on later code).

Revision ID: 0003_calls_page
Revises: 0002_staff
Create Date: 2026-12-04
"""

from __future__ import annotations

import logging
import unicodedata
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from voicebot.calllog.containment import TurnFacts, is_contained

revision: str = "0003_calls_page"
down_revision: str | None = "0002_staff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LOGGER = logging.getLogger(__name__)

OLD_TRANSCRIPT_INDEX = "ix_turns_transcript_trgm"
SEARCH_INDEX = "ix_calls_search_trgm"
SEARCH_TABLE = "calls_search"
BATCH = 2000
NOT_A_REQUEST = (
    "intent NOT IN ('none', 'yes', 'no', 'goodbye', 'silence', 'max_duration', "
    "'transfer_failed', 'hangup') AND intent NOT LIKE 'dtmf:%' AND intent NOT LIKE 'language:%'"
)

ROLLUPS = {
    "call_hourly": """
        INSERT INTO call_hourly (hour_bucket, language, outcome, department, calls, contained,
                                 callbacks, duration_sum_s, duration_n, turns)
        SELECT hour_bucket, language, outcome, COALESCE(department, ''), COUNT(*),
               COALESCE(SUM(CASE WHEN contained THEN 1 ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN callback_count > 0 THEN 1 ELSE 0 END), 0),
               COALESCE(SUM(duration_s), 0.0), COUNT(duration_s), COALESCE(SUM(turn_count), 0)
        FROM calls GROUP BY hour_bucket, language, outcome, COALESCE(department, '')""",
    "turn_hourly": """
        INSERT INTO turn_hourly (hour_bucket, language, department, intent, turns,
                                 asr_confidence_sum, asr_confidence_n, latency_sum_ms, latency_n)
        SELECT c.hour_bucket, c.language, COALESCE(c.department, ''), t.intent, COUNT(*),
               COALESCE(SUM(t.asr_confidence), 0.0), COUNT(t.asr_confidence),
               COALESCE(SUM(t.latency_ms), 0.0), COUNT(t.latency_ms)
        FROM turns t JOIN calls c ON t.call_pk = c.id
        GROUP BY c.hour_bucket, c.language, COALESCE(c.department, ''), t.intent""",
    "transfer_hourly": """
        INSERT INTO transfer_hourly (hour_bucket, language, target, dial_status, attempts)
        SELECT c.hour_bucket, c.language, t.target, t.dial_status, COUNT(*)
        FROM transfers t JOIN calls c ON t.call_pk = c.id
        GROUP BY c.hour_bucket, c.language, t.target, t.dial_status""",
    "request_hourly": f"""
        INSERT INTO request_hourly (hour_bucket, language, department, request, calls)
        SELECT c.hour_bucket, c.language, COALESCE(c.department, ''), t.intent,
               COUNT(DISTINCT c.id)
        FROM turns t JOIN calls c ON t.call_pk = c.id
        WHERE {NOT_A_REQUEST.replace("intent", "t.intent")}
        GROUP BY c.hour_bucket, c.language, COALESCE(c.department, ''), t.intent""",
}


def _utc(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _search_key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def _rollup_tables() -> None:
    op.drop_table("turn_hourly")
    op.drop_table("transfer_hourly")
    op.create_table(
        "turn_hourly",
        _utc("hour_bucket"),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("intent", sa.String(length=128), nullable=False),
        sa.Column("turns", sa.BigInteger(), nullable=False),
        sa.Column("asr_confidence_sum", sa.Float(), nullable=False),
        sa.Column("asr_confidence_n", sa.BigInteger(), nullable=False),
        sa.Column("latency_sum_ms", sa.Float(), nullable=False),
        sa.Column("latency_n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "hour_bucket", "language", "department", "intent", name=op.f("pk_turn_hourly")
        ),
    )
    op.create_table(
        "transfer_hourly",
        _utc("hour_bucket"),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("dial_status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "hour_bucket", "language", "target", "dial_status", name=op.f("pk_transfer_hourly")
        ),
    )
    op.create_table(
        "request_hourly",
        _utc("hour_bucket"),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("request", sa.String(length=128), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "hour_bucket", "language", "department", "request", name=op.f("pk_request_hourly")
        ),
    )


def _backfill_calls() -> None:
    """search_text and contained of every stored call, from its turns."""
    bind = op.get_bind()
    last = 0
    updated = 0
    while True:
        calls = bind.execute(
            sa.text(
                "SELECT id, outcome, transfer_count, callback_count FROM calls "
                "WHERE id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not calls:
            break
        first, last = calls[0][0], calls[-1][0]
        turns = bind.execute(
            sa.text(
                "SELECT call_pk, transcript, intent, action FROM turns "
                "WHERE call_pk BETWEEN :first AND :last ORDER BY call_pk, turn_index"
            ),
            {"first": first, "last": last},
        ).all()
        by_call: dict[int, list[tuple[str | None, str, str]]] = defaultdict(list)
        for call_pk, transcript, intent, action in turns:
            by_call[call_pk].append((transcript, intent, action))
        rows = []
        for call_pk, outcome, transfers, callbacks in calls:
            its = by_call.get(call_pk, [])
            lines = [_search_key(t) for t, _, _ in its if t]
            text = "\n".join(line for line in lines if line) or None
            contained = is_contained(
                outcome,
                (TurnFacts(intent, action) for _, intent, action in its),
                transfers=transfers,
                callbacks=callbacks,
            )
            rows.append({"pk": call_pk, "text": text, "contained": contained})
        bind.execute(
            sa.text("UPDATE calls SET search_text = :text, contained = :contained WHERE id = :pk"),
            rows,
        )
        updated += len(rows)
    if updated:
        _LOGGER.info("call log: search text and containment recomputed for %d calls", updated)


def _trgm_schema() -> str | None:
    bind = op.get_bind()
    schema = bind.execute(
        sa.text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
            "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
        )
    ).scalar()
    return None if schema is None else str(schema)


def _search_index() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {OLD_TRANSCRIPT_INDEX}")
        schema = _trgm_schema()
        if schema is None:
            _LOGGER.warning("pg_trgm is not available: call text search will scan calls")
            return
        quoted = bind.dialect.identifier_preparer.quote_identifier(schema)
        op.execute(
            f"CREATE INDEX {SEARCH_INDEX} ON calls USING gin (search_text {quoted}.gin_trgm_ops)"
        )
        return
    op.execute(
        f"CREATE VIRTUAL TABLE {SEARCH_TABLE} USING fts5(search_text, content='calls', "
        "content_rowid='id', tokenize='trigram')"
    )
    op.execute(
        f"CREATE TRIGGER {SEARCH_TABLE}_insert AFTER INSERT ON calls BEGIN "
        f"INSERT INTO {SEARCH_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    op.execute(
        f"CREATE TRIGGER {SEARCH_TABLE}_delete AFTER DELETE ON calls BEGIN "
        f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); END"
    )
    op.execute(
        f"CREATE TRIGGER {SEARCH_TABLE}_update AFTER UPDATE OF search_text ON calls BEGIN "
        f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); "
        f"INSERT INTO {SEARCH_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    op.execute(f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}) VALUES ('rebuild')")


def upgrade() -> None:
    """Add the columns, tables and indexes, then backfill and rebuild the rollups."""
    op.add_column("calls", sa.Column("search_text", sa.Text(), nullable=True))
    op.add_column("turns", sa.Column("runner_up", sa.String(length=128), nullable=True))
    _rollup_tables()
    _backfill_calls()
    op.execute("DELETE FROM call_hourly")
    for statement in ROLLUPS.values():
        op.execute(statement)
    _search_index()


def downgrade() -> None:
    """Back to 0002_staff's shape (containment keeps the stricter values)."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {SEARCH_INDEX}")
    else:
        for suffix in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {SEARCH_TABLE}_{suffix}")
        op.execute(f"DROP TABLE IF EXISTS {SEARCH_TABLE}")
    op.drop_table("request_hourly")
    op.drop_table("turn_hourly")
    op.drop_table("transfer_hourly")
    op.create_table(
        "turn_hourly",
        _utc("hour_bucket"),
        sa.Column("intent", sa.String(length=128), nullable=False),
        sa.Column("turns", sa.BigInteger(), nullable=False),
        sa.Column("asr_confidence_sum", sa.Float(), nullable=False),
        sa.Column("asr_confidence_n", sa.BigInteger(), nullable=False),
        sa.Column("latency_sum_ms", sa.Float(), nullable=False),
        sa.Column("latency_n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hour_bucket", "intent", name=op.f("pk_turn_hourly")),
    )
    op.create_table(
        "transfer_hourly",
        _utc("hour_bucket"),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("dial_status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "hour_bucket", "target", "dial_status", name=op.f("pk_transfer_hourly")
        ),
    )
    op.execute(
        "INSERT INTO turn_hourly SELECT c.hour_bucket, t.intent, COUNT(*), "
        "COALESCE(SUM(t.asr_confidence), 0.0), COUNT(t.asr_confidence), "
        "COALESCE(SUM(t.latency_ms), 0.0), COUNT(t.latency_ms) FROM turns t "
        "JOIN calls c ON t.call_pk = c.id GROUP BY c.hour_bucket, t.intent"
    )
    op.execute(
        "INSERT INTO transfer_hourly SELECT c.hour_bucket, t.target, t.dial_status, COUNT(*) "
        "FROM transfers t JOIN calls c ON t.call_pk = c.id "
        "GROUP BY c.hour_bucket, t.target, t.dial_status"
    )
    op.drop_column("turns", "runner_up")
    op.drop_column("calls", "search_text")
