"""Retention: erase what callers said (and callback numbers) after a number of days.

Decision: turns are *kept* and only their personal content is set to NULL (``transcript``,
``reply_text`` — which may quote the caller — and ``dtmf``, which may be a number typed in),
and so is the call's search text (``calls.search_text``, made of the transcripts).
Intent, scores, confidence, action and timings stay, so statistics and rollups over old
periods are unchanged by a purge. Callback requests older than the cutoff lose their raw
``caller_number`` and free-text ``note`` whatever their status. Calls keep only the keyed
hash of the caller number, which is not reversible without the key.

Work is done in chunks of ``chunk_size`` rows, one short transaction each, so a purge of
millions of turns never holds long locks against the writer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, Select, Update, or_, select, update

from voicebot.calllog.models import Call, Callback, Turn
from voicebot.calllog.rows import utc_now

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What a purge changed."""

    cutoff: datetime
    turns: int
    """Turns whose transcript, reply text and DTMF were erased."""
    callbacks: int
    """Callback requests whose number and note were erased."""


def purge(
    engine: Engine,
    older_than_days: int,
    *,
    now: datetime | None = None,
    chunk_size: int = 5000,
) -> PurgeResult:
    """Erase personal content of turns and callbacks that started before ``now - days``."""
    if older_than_days < 0:
        raise ValueError(f"older_than_days must not be negative, got {older_than_days}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    moment = now or utc_now()
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"purge now: naive datetime {moment.isoformat()}")
    cutoff = moment - timedelta(days=older_than_days)

    turns = _purge_chunks(
        engine,
        select(Turn.id).where(
            Turn.started_at < cutoff,
            or_(Turn.transcript.is_not(None), Turn.reply_text.is_not(None), Turn.dtmf.is_not(None)),
        ),
        lambda ids: (
            update(Turn).where(Turn.id.in_(ids)).values(transcript=None, reply_text=None, dtmf=None)
        ),
        chunk_size,
    )
    # The search text repeats the transcripts: erased with them, for the calls of the period.
    _purge_chunks(
        engine,
        select(Call.id).where(Call.started_at < cutoff, Call.search_text.is_not(None)),
        lambda ids: update(Call).where(Call.id.in_(ids)).values(search_text=None),
        chunk_size,
    )
    callbacks = _purge_chunks(
        engine,
        select(Callback.id).where(
            Callback.requested_at < cutoff,
            or_(Callback.caller_number.is_not(None), Callback.note.is_not(None)),
        ),
        lambda ids: (
            update(Callback).where(Callback.id.in_(ids)).values(caller_number=None, note=None)
        ),
        chunk_size,
    )
    _LOGGER.info(
        "call log purge before %s: %d turn(s), %d callback(s) erased",
        cutoff.isoformat(),
        turns,
        callbacks,
    )
    return PurgeResult(cutoff=cutoff, turns=turns, callbacks=callbacks)


def _purge_chunks(
    engine: Engine,
    pick: Select[int],
    make_update: Callable[[list[int]], Update],
    chunk_size: int,
) -> int:
    total = 0
    while True:
        with engine.begin() as connection:
            ids = list(connection.execute(pick.limit(chunk_size)).scalars())
            if not ids:
                return total
            connection.execute(make_update(ids))
        total += len(ids)
