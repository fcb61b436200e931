"""Versions of the KB file: each change with who made it, when and why; any can come back.

The whole text is kept (a city's KB is tens of kilobytes): a revert writes back exactly
the file as it was, comments included. A change made to the file by hand, or while the
database was away, is recorded as a ``file`` version the next time a store sees it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from voicebot.calllog.rows import utc_now
from voicebot.calllog.staff_models import KbVersion

_LOGGER = logging.getLogger(__name__)

MAX_SUMMARY = 500
MAX_AUTHOR = 128


class KbVersionNotFoundError(LookupError):
    """No KB version has this number."""


@dataclass(frozen=True, slots=True)
class KbVersionInfo:
    """One version, without its text."""

    id: int
    created_at: datetime
    author: str
    action: str
    summary: str
    content_hash: str
    reverts_version: int | None


_COLUMNS = (
    KbVersion.id,
    KbVersion.created_at,
    KbVersion.author,
    KbVersion.action,
    KbVersion.summary,
    KbVersion.content_hash,
    KbVersion.reverts_version,
)


class KbHistory:
    """The ``kb_versions`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(
        self,
        text: str,
        content_hash: str,
        *,
        author: str,
        action: str,
        summary: str,
        reverts_version: int | None = None,
        now: datetime | None = None,
    ) -> KbVersionInfo:
        """Store a new version (raises SQLAlchemy errors; see :meth:`record_quietly`)."""
        with self.engine.begin() as connection:
            new_id = connection.execute(
                insert(KbVersion)
                .values(
                    created_at=now or utc_now(),
                    author=author[:MAX_AUTHOR] or "unknown",
                    action=action,
                    summary=summary[:MAX_SUMMARY],
                    content_hash=content_hash,
                    text=text,
                    reverts_version=reverts_version,
                )
                .returning(KbVersion.id)
            ).scalar_one()
        return self.get(int(new_id))

    def record_quietly(
        self,
        text: str,
        content_hash: str,
        *,
        author: str,
        action: str,
        summary: str,
        reverts_version: int | None = None,
    ) -> KbVersionInfo | None:
        """:meth:`record`, logging instead of raising: the edit itself is already on disk."""
        try:
            return self.record(
                text,
                content_hash,
                author=author,
                action=action,
                summary=summary,
                reverts_version=reverts_version,
            )
        except SQLAlchemyError as error:
            _LOGGER.error("knowledge base version not recorded: %s", str(error).splitlines()[0])
            return None

    def catch_up(self, text: str, content_hash: str) -> None:
        """Record the file as found if it is not the latest version (first start: the
        ``initial`` version; later: a ``file`` change made outside the pages)."""
        try:
            with self.engine.connect() as connection:
                latest = connection.execute(
                    select(KbVersion.text).order_by(KbVersion.id.desc()).limit(1)
                ).first()
        except SQLAlchemyError as error:
            _LOGGER.warning("knowledge base history unavailable: %s", str(error).splitlines()[0])
            return
        if latest is not None and latest[0] == text:
            return
        action, summary = (
            ("initial", "the knowledge base as first found")
            if latest is None
            else ("file", "changed in the file, outside the pages")
        )
        self.record_quietly(text, content_hash, author="file", action=action, summary=summary)

    def get(self, version_id: int) -> KbVersionInfo:
        """One version; :class:`KbVersionNotFoundError` if none has this number."""
        with self.engine.connect() as connection:
            row = connection.execute(select(*_COLUMNS).where(KbVersion.id == version_id)).first()
        if row is None:
            raise KbVersionNotFoundError(f"no knowledge base version {version_id}")
        return KbVersionInfo(**row._asdict())

    def text_of(self, version_id: int) -> str:
        """The file's text at that version."""
        with self.engine.connect() as connection:
            text = connection.execute(
                select(KbVersion.text).where(KbVersion.id == version_id)
            ).scalar()
        if text is None:
            raise KbVersionNotFoundError(f"no knowledge base version {version_id}")
        return str(text)

    def versions(self, *, limit: int = 50, offset: int = 0) -> tuple[list[KbVersionInfo], int]:
        """Newest first, and how many there are."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(*_COLUMNS).order_by(KbVersion.id.desc()).limit(limit).offset(offset)
            ).all()
            total = connection.execute(select(func.count()).select_from(KbVersion)).scalar_one()
        return [KbVersionInfo(**row._asdict()) for row in rows], int(total)
