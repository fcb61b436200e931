"""SQLAlchemy ORM models of the call log: calls, turns, transfers, callbacks, API keys, rollups.

All timestamps are stored in UTC (``timestamptz`` on PostgreSQL, naive UTC text on SQLite)
and come back as aware UTC datetimes through :class:`UTCDateTime`.

The ``*_hourly`` rollup tables hold pre-aggregated counts per UTC hour (the hour the call
started) so that statistics never scan raw turns; :mod:`voicebot.calllog.rollups` keeps them
in step with the raw tables inside the same transaction as each insert.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# BIGINT keys on PostgreSQL; SQLite only auto-increments a column declared INTEGER.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

NOT_UNDERSTOOD_MAX_CONFIDENCE = 0.5
"""Highest ``low_confidence`` threshold the partial index ``ix_turns_not_understood`` serves."""
NOT_UNDERSTOOD_PREDICATE = f"intent = 'none' OR asr_confidence < {NOT_UNDERSTOOD_MAX_CONFIDENCE}"

LOW_MARGIN_PREDICATE = "margin < 0.1"

DURATION_INDEX = "ix_calls_duration_desc"
"""PostgreSQL index ``(duration_s DESC NULLS LAST, id DESC)`` for the calls page's "longest
first" (SQLite cannot put NULLS LAST in an index; its call logs are small)."""
SEARCH_TRGM_INDEX = "ix_calls_search_trgm"
"""PostgreSQL trigram index on ``calls.search_text``, added when ``pg_trgm`` is available."""
SQLITE_SEARCH_TABLE = "calls_search"
"""SQLite FTS5 (trigram) table over ``calls.search_text``, kept in step by triggers."""


class ApiRole(StrEnum):
    """What a staff account or an API key may do.

    ``kb_editor`` sits between manager and admin: everything a manager may do, plus editing
    the knowledge base. ``admin`` may do everything, accounts and keys included.
    """

    OPERATOR = "operator"
    MANAGER = "manager"
    KB_EDITOR = "kb_editor"
    ADMIN = "admin"

    def grants(self, wanted: ApiRole) -> bool:
        """Whether holding this role is enough for what ``wanted`` may do."""
        return wanted in _ROLE_GRANTS[self]


_ROLE_GRANTS: dict[ApiRole, frozenset[ApiRole]] = {
    ApiRole.OPERATOR: frozenset({ApiRole.OPERATOR}),
    ApiRole.MANAGER: frozenset({ApiRole.MANAGER}),
    ApiRole.KB_EDITOR: frozenset({ApiRole.KB_EDITOR, ApiRole.MANAGER}),
    ApiRole.ADMIN: frozenset(ApiRole),
}
ROLE_CHECK = "role IN ('operator', 'manager', 'kb_editor', 'admin')"


class CallbackStatus(StrEnum):
    """State of a callback request in the operators' queue."""

    PENDING = "pending"
    """To do: nobody has tried yet."""
    NO_ANSWER = "no_answer"
    """An operator called and nobody answered: to try again."""
    CALLED_BACK = "called_back"
    """An operator reached the caller."""
    DONE = "done"
    """Closed without a call back (e.g. the caller called again, or a wrong number)."""

    @property
    def is_open(self) -> bool:
        """Whether the request still waits for an operator."""
        return self in OPEN_CALLBACK_STATUSES


OPEN_CALLBACK_STATUSES = frozenset({CallbackStatus.PENDING, CallbackStatus.NO_ANSWER})
CALLBACK_STATUS_CHECK = "status IN ('pending', 'no_answer', 'called_back', 'done')"


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC on every dialect; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC (naive UTC for SQLite, which has no time zone type)."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} given: call log times must be aware"
            )
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations have stable constraint names."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Call(Base):
    """One call, with denormalised columns that list filters and rollups read."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(String(64), unique=True)
    """The AudioSocket UUID."""
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hour_bucket: Mapped[datetime] = mapped_column(UTCDateTime())
    """``started_at`` truncated to the UTC hour: the key of the rollups."""
    duration_s: Mapped[float | None] = mapped_column(Float)
    caller_hash: Mapped[str | None] = mapped_column(String(64))
    """HMAC-SHA256 of the normalised caller number; the raw number is never stored here."""
    language: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    department: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(128))
    turn_count: Mapped[int] = mapped_column(Integer)
    first_intent: Mapped[str | None] = mapped_column(String(128))
    last_intent: Mapped[str | None] = mapped_column(String(128))
    asr_confidence_mean: Mapped[float | None] = mapped_column(Float)
    """Mean of the turns' non-null ASR confidences."""
    transfer_count: Mapped[int] = mapped_column(Integer)
    callback_count: Mapped[int] = mapped_column(Integer)
    contained: Mapped[bool] = mapped_column(Boolean)
    """See :func:`voicebot.calllog.containment.is_contained`."""
    search_text: Mapped[str | None] = mapped_column(Text)
    """What callers said, normalised for search (:mod:`voicebot.calllog.search`); erased
    with the transcripts by retention purges."""
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())

    turns: Mapped[list[Turn]] = relationship(
        back_populates="call", order_by="Turn.turn_index", passive_deletes=True
    )
    transfers: Mapped[list[Transfer]] = relationship(
        back_populates="call", order_by="Transfer.requested_at", passive_deletes=True
    )
    callbacks: Mapped[list[Callback]] = relationship(
        back_populates="call", order_by="Callback.requested_at", passive_deletes=True
    )

    __table_args__ = (
        # With id as tie-breaker so the default "newest first" page is a backward index scan.
        Index("ix_calls_started_at_id", "started_at", "id"),
        Index("ix_calls_outcome_started_at", "outcome", "started_at"),
        Index("ix_calls_department_started_at", "department", "started_at"),
        Index("ix_calls_caller_hash", "caller_hash"),
    )


class Turn(Base):
    """One exchange of a call; transcript and reply text are nulled by retention purges."""

    __tablename__ = "turns"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    turn_index: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    language: Mapped[str] = mapped_column(String(16))
    transcript: Mapped[str | None] = mapped_column(Text)
    asr_confidence: Mapped[float | None] = mapped_column(Float)
    intent: Mapped[str] = mapped_column(String(128))
    score: Mapped[float | None] = mapped_column(Float)
    margin: Mapped[float | None] = mapped_column(Float)
    runner_up: Mapped[str | None] = mapped_column(String(128))
    """The best target other than ``intent``'s (its score is ``score - margin``)."""
    action: Mapped[str] = mapped_column(String(32))
    reply_text: Mapped[str | None] = mapped_column(Text)
    dtmf: Mapped[str | None] = mapped_column(String(32))
    timings: Mapped[dict[str, Any]] = mapped_column(JSON)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    """Total turn latency: ``timings_ms["total"]`` if given, else the sum of the stage timings."""

    call: Mapped[Call] = relationship(back_populates="turns")

    __table_args__ = (
        UniqueConstraint("call_pk", "turn_index"),
        Index("ix_turns_started_at", "started_at"),
        # The calls list's "with a turn of this intent" filter: an index-only semi-join.
        Index("ix_turns_intent_call_pk", "intent", "call_pk"),
        # Covers the "not understood" statistics for any confidence threshold up to
        # NOT_UNDERSTOOD_MAX_CONFIDENCE without touching the (large) turns heap.
        Index(
            "ix_turns_not_understood",
            "started_at",
            postgresql_include=["transcript", "intent", "asr_confidence", "language", "call_pk"],
            postgresql_where=text(NOT_UNDERSTOOD_PREDICATE),
            sqlite_where=text(NOT_UNDERSTOOD_PREDICATE),
        ),
        # The learning loop's "decisions with a low margin" (see staff_models).
        Index(
            "ix_turns_low_margin",
            "started_at",
            postgresql_where=text(LOW_MARGIN_PREDICATE),
            sqlite_where=text(LOW_MARGIN_PREDICATE),
        ),
    )


class Transfer(Base):
    """A transfer attempt and Asterisk's DIALSTATUS for it."""

    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    target: Mapped[str] = mapped_column(String(64))
    extension: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    dial_status: Mapped[str] = mapped_column(String(16))
    fallback: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(32))
    """``TransferReason`` value; NULL for transfers stored before reasons were."""

    call: Mapped[Call] = relationship(back_populates="transfers")

    # The operator console lists today's transfers after a reload.
    __table_args__ = (Index("ix_transfers_requested_at", "requested_at"),)


class Callback(Base):
    """A callback request: the only table holding a raw caller number."""

    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    department: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    caller_number: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=CallbackStatus.PENDING.value)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the request was closed (called back or done); None while it is open."""
    done_by: Mapped[str | None] = mapped_column(String(128))
    callback_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    """See :func:`voicebot.calllog.callbacks.callback_key`: the id the live event carries, so
    that operators can act on a request before the call's record is written."""
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Calls back without an answer so far."""

    call: Mapped[Call] = relationship(back_populates="callbacks")

    __table_args__ = (
        CheckConstraint(CALLBACK_STATUS_CHECK, name="status"),
        Index("ix_callbacks_status_requested_at", "status", "requested_at"),
    )


class ApiKey(Base):
    """An API key: only the SHA-256 of the secret is kept; the plaintext is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """Hex SHA-256 of the random secret."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint(ROLE_CHECK, name="role"),)


class CallHourly(Base):
    """Calls per UTC hour, language, outcome and department ('' when none)."""

    __tablename__ = "call_hourly"

    hour_bucket: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    department: Mapped[str] = mapped_column(String(64), primary_key=True)
    calls: Mapped[int] = mapped_column(BigInteger)
    contained: Mapped[int] = mapped_column(BigInteger)
    callbacks: Mapped[int] = mapped_column(BigInteger)
    """Calls with at least one callback request."""
    duration_sum_s: Mapped[float] = mapped_column(Float)
    duration_n: Mapped[int] = mapped_column(BigInteger)
    turns: Mapped[int] = mapped_column(BigInteger)
    asr_confidence_sum: Mapped[float] = mapped_column(Float)
    """Over the calls' turns that had speech: the headline figures read them from here."""
    asr_confidence_n: Mapped[int] = mapped_column(BigInteger)
    latency_sum_ms: Mapped[float] = mapped_column(Float)
    latency_n: Mapped[int] = mapped_column(BigInteger)


class TurnHourly(Base):
    """Turns per UTC hour (of the call's start), call language, call department and intent."""

    __tablename__ = "turn_hourly"

    hour_bucket: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    department: Mapped[str] = mapped_column(String(64), primary_key=True)
    intent: Mapped[str] = mapped_column(String(128), primary_key=True)
    turns: Mapped[int] = mapped_column(BigInteger)


class IntentHourly(Base):
    """Turns per UTC hour (of the call's start) and intent, all languages and departments:
    :class:`TurnHourly` summed, kept apart because it is five times smaller and counts by
    intent without a filter are the common question."""

    __tablename__ = "intent_hourly"

    hour_bucket: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    intent: Mapped[str] = mapped_column(String(128), primary_key=True)
    turns: Mapped[int] = mapped_column(BigInteger)


class TransferHourly(Base):
    """Transfer attempts per UTC hour (of the call's start), call language, target and dial
    status."""

    __tablename__ = "transfer_hourly"

    hour_bucket: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    target: Mapped[str] = mapped_column(String(64), primary_key=True)
    dial_status: Mapped[str] = mapped_column(String(16), primary_key=True)
    attempts: Mapped[int] = mapped_column(BigInteger)


class RequestHourly(Base):
    """Calls per UTC hour, language, department and request: each call counts once per
    thing it asked for (an FAQ entry, a department, the operator), however many turns it
    took; dialog acts and turns not understood are not requests."""

    __tablename__ = "request_hourly"

    hour_bucket: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    department: Mapped[str] = mapped_column(String(64), primary_key=True)
    request: Mapped[str] = mapped_column(String(128), primary_key=True)
    calls: Mapped[int] = mapped_column(BigInteger)
