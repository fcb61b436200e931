"""The editable knowledge base: validated edits that keep the file's layout, versioned,
written atomically, announced.

Every edit is made to a round-trip copy of the file's YAML (:mod:`voicebot.knowledge.editing`:
comments, key order and quoting stay, and only the edited lines change), and the new text is
validated by the same loader as the file itself (:func:`~voicebot.knowledge.loader.parse_kb`:
schema, cross-field checks, safe YAML), so an invalid edit changes nothing and fails with a
:class:`~voicebot.knowledge.loader.KnowledgeBaseError` naming the line and the field. A valid
edit is written to a temporary file, flushed and renamed over the KB file (readers never see
half a file), recorded as a version with its author (:mod:`voicebot.api.kb_history`), then
subscribers are notified on a background thread: the routing index is rebuilt there and
swapped in while calls go on with the previous one. Notifications are coalesced: a
subscriber busy with a rebuild gets only the newest KB next.

The KB shipped inside the package is never written: a store on it is read-only (serve works
on a copy in its data directory, :mod:`voicebot.knowledge.workspace`). Several worker
processes each hold a store on the same file; :meth:`reload_if_changed` (polled by the app)
picks up an edit made by another worker or by hand.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicebot.api.kb_document import (
    delete_entry,
    kb_to_data,
    patch_entry,
    put_entry,
)
from voicebot.api.kb_history import KbHistory, KbVersionInfo
from voicebot.knowledge import editing
from voicebot.knowledge.loader import parse_kb, read_kb_text
from voicebot.knowledge.model import KnowledgeBase
from voicebot.knowledge.workspace import is_packaged

_LOGGER = logging.getLogger(__name__)

KbCallback = Callable[[KnowledgeBase], None]
DocumentChange = Callable[[dict[str, Any]], object]
"""Edits a round-trip document in place; raises KbEntryNotFoundError or ValueError to refuse."""


class KbConflictError(RuntimeError):
    """The KB changed since the version the client based its edit on."""


class KbReadOnlyError(RuntimeError):
    """This KB file may not be edited (it is the sample shipped inside the package)."""


@dataclass(frozen=True, slots=True)
class KbStatus:
    """Where the store and its subscribers are."""

    version: str
    """Content hash of the current KB (the ETag of ``GET /api/kb``)."""
    generation: int
    """Increments with every change (edit or reload)."""
    applied_generation: int
    """Last generation every subscriber has finished handling."""
    last_error: str | None
    """The last subscriber failure, if the latest generation failed."""


@dataclass(frozen=True, slots=True)
class KbEdit:
    """Who makes an edit and what it is, for the history."""

    author: str = "unknown"
    summary: str = ""


class KnowledgeBaseStore:
    """The current KB and its file; edits are validated, written atomically, and announced."""

    def __init__(
        self,
        path: str | Path,
        kb: KnowledgeBase | None = None,
        *,
        history: KbHistory | None = None,
        read_only: bool | None = None,
    ) -> None:
        self.path = Path(path)
        self.history = history
        self.read_only = is_packaged(self.path) if read_only is None else read_only
        text = self._read_text()
        self._kb = kb if kb is not None else parse_kb(text, str(self.path))
        self._text = text
        self._layout = editing.guess_layout(text)
        self._stat = self._file_signature()
        self._lock = threading.RLock()
        self._subscribers: list[KbCallback] = []
        self._generation = 0
        self._applied = 0
        self._last_error: str | None = None
        self._pending = threading.Condition(threading.Lock())
        self._pending_kb: tuple[int, KnowledgeBase] | None = None
        self._closed = False
        self._last_version: KbVersionInfo | None = None
        if history is not None:
            history.catch_up(text, self._kb.content_hash)
        self._thread = threading.Thread(target=self._notify_loop, name="kb-notify", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ reading

    def current(self) -> KnowledgeBase:
        """The knowledge base in force."""
        return self._kb

    def text(self) -> str:
        """The KB file's text, as in force."""
        return self._text

    def data(self) -> dict[str, Any]:
        """The current KB as a JSON-ready document."""
        return kb_to_data(self._kb)

    @property
    def last_version(self) -> KbVersionInfo | None:
        """The history entry of the last edit made through this store (None: none yet, or
        not recorded)."""
        return self._last_version

    def status(self) -> KbStatus:
        """Version, generations and last subscriber error."""
        with self._pending:
            return KbStatus(
                version=self._kb.content_hash,
                generation=self._generation,
                applied_generation=self._applied,
                last_error=self._last_error,
            )

    # ------------------------------------------------------------------ editing

    def update(
        self,
        change: DocumentChange,
        *,
        expected_version: str | None = None,
        edit: KbEdit | None = None,
    ) -> KnowledgeBase:
        """Apply ``change`` to a copy of the document, validate, write, record, swap, notify.

        With ``expected_version``, the edit is refused with :class:`KbConflictError` if the
        KB's content hash differs.
        """
        with self._lock:
            self._check_editable(expected_version)
            before = editing.load(self._text, self._layout)
            document = editing.copy_document(before)
            change(document)
            new = editing.edited_text(self._text, before, document, self._layout)
            if not new.spliced:
                _LOGGER.info("knowledge base %s: rewritten whole (layout not kept)", self.path)
            return self._commit(new.text, edit or KbEdit(), action="edit")

    def revert(
        self, version_id: int, *, expected_version: str | None = None, edit: KbEdit | None = None
    ) -> tuple[KnowledgeBase, KbVersionInfo | None]:
        """Write back the file exactly as it was at ``version_id`` (validated again: a KB that
        no longer validates is refused). Returns the KB and the new version."""
        if self.history is None:
            raise KbReadOnlyError("this knowledge base keeps no history: nothing to revert to")
        text = self.history.text_of(version_id)
        with self._lock:
            self._check_editable(expected_version)
            info = edit or KbEdit()
            summary = info.summary or f"back to version {version_id}"
            kb = self._commit(
                text, KbEdit(info.author, summary), action="revert", reverts=version_id
            )
            return kb, self._last_version

    def replace(self, document: dict[str, Any], **kwargs: Any) -> KnowledgeBase:
        """Replace the whole KB with ``document`` (its comments go, as the content does)."""

        def change(current: dict[str, Any]) -> None:
            current.clear()
            current.update(editing.to_yaml(document))

        return self.update(change, **kwargs)

    def put_faq(self, entry: dict[str, Any], **kwargs: Any) -> KnowledgeBase:
        """Create or replace the FAQ entry ``entry["id"]``."""
        return self.update(lambda doc: put_entry(doc, "faq", entry), **kwargs)

    def patch_faq(self, faq_id: str, patch: dict[str, Any], **kwargs: Any) -> KnowledgeBase:
        """Merge-patch (RFC 7396) the FAQ entry ``faq_id``."""
        return self.update(
            lambda doc: patch_entry(doc, "faq", "FAQ entry", faq_id, patch), **kwargs
        )

    def delete_faq(self, faq_id: str, **kwargs: Any) -> KnowledgeBase:
        """Remove the FAQ entry ``faq_id``."""
        return self.update(lambda doc: delete_entry(doc, "faq", "FAQ entry", faq_id), **kwargs)

    def put_department(self, dept: dict[str, Any], **kwargs: Any) -> KnowledgeBase:
        """Create or replace the department ``dept["id"]``."""
        return self.update(lambda doc: put_entry(doc, "departments", dept), **kwargs)

    def patch_department(self, dept_id: str, patch: dict[str, Any], **kwargs: Any) -> KnowledgeBase:
        """Merge-patch (RFC 7396) the department ``dept_id``."""
        return self.update(
            lambda doc: patch_entry(doc, "departments", "department", dept_id, patch), **kwargs
        )

    def delete_department(self, dept_id: str, **kwargs: Any) -> KnowledgeBase:
        """Remove the department ``dept_id`` (refused while an FAQ entry refers to it)."""
        return self.update(
            lambda doc: delete_entry(doc, "departments", "department", dept_id), **kwargs
        )

    def reload_if_changed(self) -> bool:
        """Reload the file if it changed on disk since we last read or wrote it.

        Returns True when a different KB was loaded (subscribers are notified). An invalid
        file is logged and ignored: the KB in force stays.
        """
        with self._lock:
            signature = self._file_signature()
            if signature == self._stat:
                return False
            self._stat = signature
            try:
                text = self._read_text()
                kb = parse_kb(text, str(self.path))
            except ValueError as error:
                _LOGGER.error("knowledge base file changed but is invalid, kept the old: %s", error)
                return False
            if text == self._text:
                return False
            self._text, self._layout = text, editing.guess_layout(text)
            if self.history is not None:
                self.history.catch_up(text, kb.content_hash)
            if kb.content_hash == self._kb.content_hash:
                self._kb = kb  # comments or layout only: nothing for the router to rebuild
                return False
            _LOGGER.info("knowledge base %s changed on disk: reloaded", self.path)
            self._swap(kb)
            return True

    def _check_editable(self, expected_version: str | None) -> None:
        if self.read_only:
            raise KbReadOnlyError(
                f"{self.path} is the sample shipped with voicebot and is never edited: "
                "set kb_path to your city's file (serve copies the sample into its data "
                "directory on a first start)"
            )
        if expected_version is not None and expected_version != self._kb.content_hash:
            raise KbConflictError(
                f"the knowledge base changed (now version {self._kb.content_hash[:12]}); "
                "reload it and apply the edit again"
            )

    def _commit(
        self, text: str, edit: KbEdit, *, action: str, reverts: int | None = None
    ) -> KnowledgeBase:
        """Validate ``text`` as a KB file, write it, record the version, swap and notify."""
        kb = parse_kb(text, str(self.path))
        self._write(text)
        self._text = text
        self._layout = editing.guess_layout(text)
        self._last_version = (
            self.history.record_quietly(
                text,
                kb.content_hash,
                author=edit.author,
                action=action,
                summary=edit.summary,
                reverts_version=reverts,
            )
            if self.history is not None
            else None
        )
        self._swap(kb)
        return kb

    # ----------------------------------------------------------- notification

    def subscribe(self, callback: KbCallback) -> Callable[[], None]:
        """Call ``callback(kb)`` on a background thread after each change; returns unsubscribe."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def wait_applied(self, generation: int | None = None, timeout: float = 10.0) -> bool:
        """Wait until subscribers handled ``generation`` (default: the latest); False on timeout."""
        with self._pending:
            target = self._generation if generation is None else generation
            return self._pending.wait_for(lambda: self._applied >= target, timeout)

    def close(self) -> None:
        """Stop the notification thread (pending notifications are dropped)."""
        with self._pending:
            self._closed = True
            self._pending.notify_all()
        self._thread.join(timeout=5.0)

    def _swap(self, kb: KnowledgeBase) -> None:
        self._kb = kb
        with self._pending:
            self._generation += 1
            self._pending_kb = (self._generation, kb)
            self._pending.notify_all()

    def _notify_loop(self) -> None:
        while True:
            with self._pending:
                self._pending.wait_for(lambda: self._closed or self._pending_kb is not None)
                if self._closed:
                    return
                assert self._pending_kb is not None
                generation, kb = self._pending_kb
                self._pending_kb = None
            with self._lock:
                callbacks = list(self._subscribers)
            error: str | None = None
            for callback in callbacks:
                try:
                    callback(kb)
                except Exception as exc:  # a failing subscriber must not stop the others
                    _LOGGER.exception("knowledge base subscriber %r failed", callback)
                    error = f"{type(exc).__name__}: {exc}"
            with self._pending:
                self._applied = generation
                self._last_error = error
                self._pending.notify_all()

    # ------------------------------------------------------------------ files

    def _file_signature(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def _read_text(self) -> str:
        return read_kb_text(self.path)

    def _write(self, text: str) -> None:
        directory = self.path.parent
        fd, temp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.chmod(temp_name, self.path.stat().st_mode & 0o777)
            except OSError:
                os.chmod(temp_name, 0o644)
            os.replace(temp_name, self.path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        # The rename itself must survive a power cut too.
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self._stat = self._file_signature()
        _LOGGER.info("knowledge base written to %s", self.path)
