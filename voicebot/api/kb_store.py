"""The editable knowledge base: validated edits, atomic YAML writes, change notification.

Every edit is applied to a copy of the whole KB document and validated with the loader's
:func:`~voicebot.knowledge.loader.build_kb` (schema and cross-field checks) before anything
is written, so an invalid edit changes nothing and fails with a
:class:`~voicebot.knowledge.loader.KnowledgeBaseError` naming the field. A valid edit is
written to a temporary file, flushed and renamed over the KB file (readers never see half a
file), then subscribers are notified on a background thread: the routing index is rebuilt
there and swapped in while calls go on with the previous one. Notifications are coalesced:
a subscriber busy with a rebuild gets only the newest KB next.

The file is rewritten from the model, in schema order: YAML comments are not kept.
Several worker processes each hold a store on the same file; :meth:`reload_if_changed`
(polled by the app) picks up an edit made by another worker or by hand.
"""

from __future__ import annotations

import copy
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from voicebot.knowledge.loader import build_kb, load_kb
from voicebot.knowledge.model import (
    WEEKDAYS,
    Department,
    FaqEntry,
    KnowledgeBase,
    OpeningHours,
    TimeRange,
)

_LOGGER = logging.getLogger(__name__)

KbCallback = Callable[[KnowledgeBase], None]


class KbConflictError(RuntimeError):
    """The KB changed since the version the client based its edit on."""


class KbEntryNotFoundError(LookupError):
    """No FAQ entry or department has the given id."""


# --- model → document ---------------------------------------------------------------------


def _range_text(item: TimeRange) -> str:
    end = "24:00" if (item.end.hour, item.end.minute, item.end.second) == (23, 59, 59) else None
    return f"{item.start:%H:%M}-{end or format(item.end, '%H:%M')}"


def _hours_data(hours: OpeningHours) -> Any:
    if hours.always_open:
        return "always"
    data: dict[str, Any] = {
        day: [_range_text(r) for r in hours.weekly[day]] for day in WEEKDAYS if day in hours.weekly
    }
    if hours.exceptions:
        data["exceptions"] = [
            {"date": day.isoformat(), "hours": [_range_text(r) for r in ranges]}
            for day, ranges in sorted(hours.exceptions.items())
        ]
    return data


def _phrases(phrases: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    return {lang: list(items) for lang, items in phrases.items()}


def department_data(dept: Department) -> dict[str, Any]:
    """A department as it is written in the KB file."""
    data: dict[str, Any] = {"id": dept.id, "extension": dept.extension}
    if dept.dtmf is not None:
        data["dtmf"] = dept.dtmf
    data.update(
        name=dict(dept.name),
        description=dict(dept.description),
        hours=_hours_data(dept.hours),
    )
    if dept.services:
        data["services"] = list(dept.services)
    if dept.examples:
        data["examples"] = _phrases(dept.examples)
    return data


def faq_data(entry: FaqEntry) -> dict[str, Any]:
    """An FAQ entry as it is written in the KB file."""
    data: dict[str, Any] = {"id": entry.id}
    if entry.department is not None:
        data["department"] = entry.department
    if entry.intent is not None:
        data["intent"] = entry.intent
    data.update(questions=_phrases(entry.questions), answer=dict(entry.answer))
    return data


def kb_to_data(kb: KnowledgeBase) -> dict[str, Any]:
    """The KB as a document the loader accepts (``build_kb(kb_to_data(kb))`` equals ``kb``)."""
    city: dict[str, Any] = {
        "name": dict(kb.city.name),
        "default_language": kb.city.default_language,
        "languages": list(kb.city.languages),
        "timezone": kb.city.timezone,
    }
    if kb.city.holidays:
        city["holidays"] = sorted(day.isoformat() for day in kb.city.holidays)
    return {
        "city": city,
        "operator": {
            "extension": kb.operator.extension,
            "name": dict(kb.operator.name),
            "hours": _hours_data(kb.operator.hours),
            "examples": _phrases(kb.operator.examples),
        },
        "departments": [department_data(d) for d in kb.departments],
        "faq": [faq_data(f) for f in kb.faq],
    }


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: objects merge recursively, ``null`` removes a member."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- the store --------------------------------------------------------------------------------


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


class KnowledgeBaseStore:
    """The current KB and its file; edits are validated, written atomically, and announced."""

    def __init__(self, path: str | Path, kb: KnowledgeBase | None = None) -> None:
        self.path = Path(path)
        self._kb = kb if kb is not None else load_kb(self.path)
        self._stat = self._file_signature()
        self._lock = threading.RLock()
        self._subscribers: list[KbCallback] = []
        self._generation = 0
        self._applied = 0
        self._last_error: str | None = None
        self._pending = threading.Condition(threading.Lock())
        self._pending_kb: tuple[int, KnowledgeBase] | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._notify_loop, name="kb-notify", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ reading

    def current(self) -> KnowledgeBase:
        """The knowledge base in force."""
        return self._kb

    def data(self) -> dict[str, Any]:
        """The current KB as a JSON-ready document."""
        return kb_to_data(self._kb)

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
        self, change: Callable[[dict[str, Any]], None], *, expected_version: str | None = None
    ) -> KnowledgeBase:
        """Apply ``change`` to a copy of the document, validate, write, swap and notify.

        ``change`` edits the document in place (raising :class:`KbEntryNotFoundError` or
        ``ValueError`` to refuse). With ``expected_version``, the edit is refused with
        :class:`KbConflictError` if the KB's content hash differs.
        """
        with self._lock:
            if expected_version is not None and expected_version != self._kb.content_hash:
                raise KbConflictError(
                    f"the knowledge base changed (now version {self._kb.content_hash[:12]}); "
                    "reload it and apply the edit again"
                )
            document = kb_to_data(self._kb)
            change(document)
            kb = build_kb(document, str(self.path))
            self._write(document)
            self._swap(kb)
            return kb

    def replace(self, document: dict[str, Any], **kwargs: Any) -> KnowledgeBase:
        """Replace the whole KB with ``document``."""

        def change(current: dict[str, Any]) -> None:
            current.clear()
            current.update(copy.deepcopy(document))

        return self.update(change, **kwargs)

    def put_faq(self, entry: dict[str, Any], **kwargs: Any) -> KnowledgeBase:
        """Create or replace the FAQ entry ``entry["id"]``."""
        return self.update(lambda doc: _put(doc["faq"], entry), **kwargs)

    def patch_faq(self, faq_id: str, patch: dict[str, Any], **kwargs: Any) -> KnowledgeBase:
        """Merge-patch (RFC 7396) the FAQ entry ``faq_id``."""
        return self.update(lambda doc: _patch(doc["faq"], "FAQ entry", faq_id, patch), **kwargs)

    def delete_faq(self, faq_id: str, **kwargs: Any) -> KnowledgeBase:
        """Remove the FAQ entry ``faq_id``."""
        return self.update(lambda doc: _delete(doc["faq"], "FAQ entry", faq_id), **kwargs)

    def put_department(self, dept: dict[str, Any], **kwargs: Any) -> KnowledgeBase:
        """Create or replace the department ``dept["id"]``."""
        return self.update(lambda doc: _put(doc["departments"], dept), **kwargs)

    def patch_department(self, dept_id: str, patch: dict[str, Any], **kwargs: Any) -> KnowledgeBase:
        """Merge-patch (RFC 7396) the department ``dept_id``."""
        return self.update(
            lambda doc: _patch(doc["departments"], "department", dept_id, patch), **kwargs
        )

    def delete_department(self, dept_id: str, **kwargs: Any) -> KnowledgeBase:
        """Remove the department ``dept_id`` (refused while an FAQ entry refers to it)."""
        return self.update(lambda doc: _delete(doc["departments"], "department", dept_id), **kwargs)

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
                kb = load_kb(self.path)
            except ValueError as error:
                _LOGGER.error("knowledge base file changed but is invalid, kept the old: %s", error)
                return False
            if kb.content_hash == self._kb.content_hash:
                return False
            _LOGGER.info("knowledge base %s changed on disk: reloaded", self.path)
            self._swap(kb)
            return True

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

    def _write(self, document: dict[str, Any]) -> None:
        text = yaml.safe_dump(
            document, allow_unicode=True, sort_keys=False, default_flow_style=False, width=100
        )
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


def _index(items: list[dict[str, Any]], kind: str, item_id: str) -> int:
    for index, item in enumerate(items):
        if item.get("id") == item_id:
            return index
    raise KbEntryNotFoundError(f"no {kind} with id {item_id!r}")


def _put(items: list[dict[str, Any]], entry: dict[str, Any]) -> None:
    entry = copy.deepcopy(entry)
    for index, item in enumerate(items):
        if item.get("id") == entry.get("id"):
            items[index] = entry
            return
    items.append(entry)


def _patch(items: list[dict[str, Any]], kind: str, item_id: str, patch: dict[str, Any]) -> None:
    if "id" in patch and patch["id"] != item_id:
        raise ValueError(f"id: cannot be changed by a patch (is {item_id!r})")
    index = _index(items, kind, item_id)
    items[index] = merge_patch(items[index], patch)


def _delete(items: list[dict[str, Any]], kind: str, item_id: str) -> None:
    del items[_index(items, kind, item_id)]
