"""Durable on-disk FIFO of call records while the database is unreachable.

The spool is a directory of JSON-lines segment files (``spool-<seq>.jsonl``), appended
with ``fsync`` and replayed oldest first; a segment is deleted once every record in it is
in the database. ``rejected.jsonl`` keeps records the database refused, for a human to look
at. One writer owns a spool directory at a time (``flock`` on ``.lock``); the retention purge
(:mod:`voicebot.calllog.spool_purge`) may rewrite files while it runs, so every read and
write of a file takes ``flock`` on ``.content.lock`` for its duration.

The directory is created ``0700`` and every file in it ``0600``: it holds what callers said
and, for callback requests, their numbers (call records carry only the number's keyed hash).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import stat
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from voicebot.records import CallRecord

_LOGGER = logging.getLogger(__name__)

SEGMENT_PREFIX = "spool-"
SEGMENT_SUFFIX = ".jsonl"
REJECTED_FILE = "rejected.jsonl"
LOCK_FILE = ".lock"
CONTENT_LOCK_FILE = ".content.lock"
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class SpoolFullError(Exception):
    """The spool cannot take more records (size limit reached or disk full)."""


class SpoolClosedError(RuntimeError):
    """The spool was closed: its directory may belong to another writer now."""


class SpoolBusyError(RuntimeError):
    """Another writer already owns this spool directory."""


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def content_lock(directory: Path) -> Iterator[None]:
    """Hold the spool's content lock (``.content.lock``) while the block runs."""
    fd = os.open(directory / CONTENT_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def segments_of(directory: Path) -> list[Path]:
    """The spool's segment files, oldest first."""
    return sorted(directory.glob(f"{SEGMENT_PREFIX}*{SEGMENT_SUFFIX}"), key=_segment_number)


def _segment_number(path: Path) -> int:
    return int(path.name[len(SEGMENT_PREFIX) : -len(SEGMENT_SUFFIX)])


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def encode_records(records: Sequence[CallRecord]) -> bytes:
    """JSON lines for ``records`` (one compact JSON object per line)."""
    return "".join(
        json.dumps(record.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n"
        for record in records
    ).encode("utf-8")


class Spool:
    """Segmented, fsync'd JSON-lines spool of call records, safe to use from several threads."""

    def __init__(
        self, directory: Path, *, max_bytes: int = 256 * 2**20, segment_bytes: int = 2**20
    ) -> None:
        if max_bytes <= 0 or segment_bytes <= 0:
            raise ValueError("spool max_bytes and segment_bytes must be positive")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._segment_bytes = segment_bytes
        self._lock = threading.Lock()
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        lock_fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        self._lock_file: IO[str] | None = os.fdopen(lock_fd, "a+")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise SpoolBusyError(
                f"spool directory {self.directory} is used by another call log writer"
            ) from None
        # Files an older version (or a person) left with wider modes: private again.
        for path in self.directory.iterdir():
            if path.is_file() and stat.S_IMODE(path.stat().st_mode) & 0o077:
                path.chmod(0o600)
        self._segments = segments_of(self.directory)
        self._bytes = sum(path.stat().st_size for path in self._segments)
        self._next_number = _segment_number(self._segments[-1]) + 1 if self._segments else 1
        self._current: Path | None = None
        self._current_bytes = 0
        if self._segments:
            _LOGGER.warning(
                "call log spool %s holds %d segment(s), %d bytes, from an earlier run: "
                "they will be replayed",
                self.directory,
                len(self._segments),
                self._bytes,
            )

    @property
    def size(self) -> int:
        """Bytes of records waiting in the spool."""
        return self._bytes

    @property
    def is_empty(self) -> bool:
        """True when no record waits in the spool."""
        return not self._segments

    def append(self, records: Sequence[CallRecord]) -> None:
        """Append ``records`` durably (written and fsync'd) or raise :class:`SpoolFullError`."""
        if not records:
            return
        payload = encode_records(records)
        with self._lock:
            if self._lock_file is None:
                raise SpoolClosedError(f"spool {self.directory} is closed")
            if self._bytes + len(payload) > self.max_bytes:
                raise SpoolFullError(
                    f"spool {self.directory} would exceed its limit of {self.max_bytes} bytes"
                )
            if self._current is None or self._current_bytes >= self._segment_bytes:
                self._current = self.directory / (
                    f"{SEGMENT_PREFIX}{self._next_number:012d}{SEGMENT_SUFFIX}"
                )
                self._next_number += 1
                self._current_bytes = 0
                self._segments.append(self._current)
            with content_lock(self.directory):
                self._write(self._current, payload)
            self._bytes += len(payload)
            self._current_bytes += len(payload)

    def _write(self, path: Path, payload: bytes) -> None:
        created = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            before = os.fstat(fd).st_size
            try:
                view = memoryview(payload)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            except OSError as exc:
                # Leave no torn line behind: a later append must start on a clean line.
                os.ftruncate(fd, before)
                if created:
                    os.unlink(path)
                    self._segments.remove(path)
                    self._current = None
                if exc.errno in _FULL_ERRNOS:
                    raise SpoolFullError(f"spool {self.directory}: {exc.strerror}") from exc
                raise
        finally:
            os.close(fd)
        if created:
            _fsync_dir(self.directory)

    def oldest(self) -> Path | None:
        """The oldest segment, closed for appends so it can be replayed; None if empty."""
        with self._lock:
            if not self._segments:
                return None
            oldest = self._segments[0]
            if oldest == self._current:
                self._current = None
            return oldest

    def read(self, segment: Path) -> tuple[list[CallRecord], list[str]]:
        """Records of a segment in order, and the lines that could not be parsed."""
        records: list[CallRecord] = []
        bad: list[str] = []
        with (
            content_lock(self.directory),
            segment.open("r", encoding="utf-8", errors="replace") as handle,
        ):
            for line in handle:
                if not line.strip():
                    continue
                try:
                    records.append(CallRecord.from_json(json.loads(line)))
                except (ValueError, KeyError, TypeError):
                    bad.append(line.rstrip("\n"))
        return records, bad

    def remove(self, segment: Path) -> None:
        """Delete a replayed segment."""
        with self._lock:
            with content_lock(self.directory):
                segment.unlink()
            self._segments.remove(segment)
            # Counted again rather than decremented: a purge may have shrunk any segment.
            self._bytes = sum(_size(path) for path in self._segments)
        _fsync_dir(self.directory)

    def reject(self, payload: str, reason: str) -> None:
        """Keep a record (or unparseable line) the database refused in ``rejected.jsonl``."""
        entry = {"rejected_at": datetime.now(UTC).isoformat(), "reason": reason, "data": payload}
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock, content_lock(self.directory):
            fd = os.open(
                self.directory / REJECTED_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600
            )
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)

    def close(self) -> None:
        """Release the directory lock; further appends fail."""
        with self._lock:
            if self._lock_file is not None:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
                self._lock_file.close()
                self._lock_file = None
