"""Text search over what callers said: one normalised text per call, indexed by trigrams.

Each call keeps ``calls.search_text``: its transcripts, lower-cased and without accents
("État civil" → "etat civil"), one line per turn. A search is a substring match on it, so
"passep" finds "passeport" and "etat civil" finds "l'état civil", the same way on both
databases:

* PostgreSQL: ``LIKE`` served by a ``pg_trgm`` GIN index (``ix_calls_search_trgm``);
* SQLite: an FTS5 table with the ``trigram`` tokenizer (``calls_search``, kept in step by
  triggers), searched with ``GLOB`` (the text is already case-folded), which FTS5 serves
  from its trigram index; ``LIKE ... ESCAPE`` would not use the index.

Searches shorter than three characters match the same way but cannot use the index.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from sqlalchemy import column, select, table
from sqlalchemy.sql.elements import ColumnElement

from voicebot.calllog.models import SQLITE_SEARCH_TABLE, Call

_SEARCH = table(SQLITE_SEARCH_TABLE, column("rowid"), column("search_text"))


def search_key(text: str) -> str:
    """``text`` as stored and searched: no accents, case-folded, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def call_search_text(transcripts: Iterable[str | None]) -> str | None:
    """The search text of a call from its turns' transcripts (None when nothing was said)."""
    lines = [search_key(t) for t in transcripts if t]
    text = "\n".join(line for line in lines if line)
    return text or None


def _like_pattern(key: str) -> str:
    escaped = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _glob_pattern(key: str) -> str:
    escaped = "".join(f"[{c}]" if c in "*?[" else c for c in key)
    return f"*{escaped}*"


def text_condition(dialect: str, text: str) -> ColumnElement[bool]:
    """Calls whose callers said ``text`` (accents and case ignored), for ``dialect``."""
    key = search_key(text)
    if dialect == "sqlite":
        matches = select(_SEARCH.c.rowid).where(
            _SEARCH.c.search_text.op("GLOB")(_glob_pattern(key))
        )
        return Call.id.in_(matches)
    return Call.search_text.like(_like_pattern(key), escape="\\")
