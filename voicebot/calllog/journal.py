"""The call journal: calls in progress on disk, so that a crash leaves a trace of them.

A call's record is made when the call ends; a process killed meanwhile (``kill -9``, the
OOM killer, a power cut) would take every call in progress with it, although their
callers were looked after by the dialplan. So each process appends to a journal of its
own, ``journal-<pid>-<token>.jsonl`` in ``<data_dir>/journal`` beside the spool (the
directory ``0700``, the file ``0600``, held under ``flock`` for the life of the process):

* ``start`` when a call begins (time, language, channel, the caller number's keyed hash,
  never the number), and ``transfer`` at each transfer (target, extension): written at
  once and fsynced by a background thread, so the call never waits on the disk and a
  ``kill -9`` a moment later still finds the line (the page cache survives the process);
* ``end`` once the call log writer has made the record durable (stored in the database
  or in the spool): only then may the journal forget the call.

At start, :meth:`CallJournal.open` reads the journals of processes that are gone (their
lock is free) and turns each call left without an ``end`` into a record with outcome
``interrupted``: started at T, last state S (its transfers, dial status pending). Those
records are journaled again in the new file before the old one is removed, so a second
crash before they are stored loses nothing either. A record that was in fact stored
before the crash wins: the call log keeps the first record of a call id and ignores the
later ones, and the spool replays in order.

When the file outgrows ``max_bytes`` the journal starts a new one holding the open
calls only and removes the old one once the new one is fsynced.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from voicebot.records import CallOutcome, CallRecord, TransferRecord

_LOGGER = logging.getLogger(__name__)

PREFIX = "journal-"
SUFFIX = ".jsonl"
DEFAULT_MAX_BYTES = 2**20


@dataclass(slots=True)
class _OpenCall:
    """What the journal knows of a call without an ``end``."""

    call_id: str
    started_at: datetime
    language: str
    caller_hash: str | None
    channel: str | None
    transfers: list[tuple[datetime, str, str]] = field(default_factory=list)
    """(when, target, extension) of each transfer, in order."""

    def lines(self) -> list[dict[str, Any]]:
        """The journal lines that say all of this again."""
        start = {
            "kind": "start",
            "call_id": self.call_id,
            "at": self.started_at.isoformat(),
            "language": self.language,
            "caller_hash": self.caller_hash,
            "channel": self.channel,
        }
        moves = [
            {
                "kind": "transfer",
                "call_id": self.call_id,
                "at": at.isoformat(),
                "target": target,
                "extension": extension,
            }
            for at, target, extension in self.transfers
        ]
        return [start, *moves]

    def interrupted(self) -> CallRecord:
        """The record of a call its process did not live to finish."""
        transfers = tuple(
            TransferRecord(self.call_id, target, extension, at)
            for at, target, extension in self.transfers
        )
        return CallRecord(
            call_id=self.call_id,
            started_at=self.started_at,
            ended_at=None,
            caller_number=None,
            caller_hash=self.caller_hash,
            language=self.language,
            outcome=CallOutcome.INTERRUPTED,
            channel=self.channel,
            transfers=transfers,
        )


def _encode(line: dict[str, Any]) -> bytes:
    return (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _apply(calls: dict[str, _OpenCall], line: dict[str, Any]) -> None:
    """Fold one journal line into the open calls."""
    kind = line.get("kind")
    call_id = str(line.get("call_id") or "")
    if not call_id:
        return
    if kind == "start":
        calls[call_id] = _OpenCall(
            call_id,
            datetime.fromisoformat(line["at"]),
            str(line.get("language") or ""),
            line.get("caller_hash"),
            line.get("channel"),
        )
    elif kind == "transfer" and call_id in calls:
        calls[call_id].transfers.append(
            (datetime.fromisoformat(line["at"]), str(line["target"]), str(line["extension"]))
        )
    elif kind == "end":
        calls.pop(call_id, None)


def read_journal(path: Path) -> tuple[dict[str, _OpenCall], int]:
    """The open calls of one journal file, and how many lines could not be read (a line
    cut by the crash, typically the last)."""
    calls: dict[str, _OpenCall] = {}
    bad = 0
    with path.open("rb") as handle:
        for raw in handle:
            try:
                line = json.loads(raw)
                _apply(calls, line)
            except (ValueError, KeyError, TypeError):
                bad += 1
    return calls, bad


class CallJournal:
    """This process's journal of calls in progress (see the module docstring)."""

    def __init__(
        self,
        directory: Path,
        caller_hash: Callable[[str | None], str | None],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.directory = directory
        self._caller_hash = caller_hash
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._open: dict[str, _OpenCall] = {}
        self._fd: int | None = None
        self._path: Path | None = None
        self._size = 0
        self._dirty = threading.Condition(self._lock)
        self._needs_sync = False
        self._new_file = False
        """The directory entry of a new file still needs its fsync."""
        self._closing = False
        self._retired: list[tuple[int, Path]] = []
        """Files replaced by a newer one, removed once the newer one is fsynced."""
        self._thread: threading.Thread | None = None
        self.failed = False
        """True once a write failed (the disk): calls go on, without a journal."""

    @property
    def path(self) -> Path | None:
        """This process's journal file (None before :meth:`open`)."""
        return self._path

    @property
    def open_calls(self) -> int:
        """Calls journaled and not ended."""
        return len(self._open)

    # ---------------------------------------------------------------- life cycle

    def open(self) -> list[CallRecord]:
        """Start this process's file; return the ``interrupted`` records of the calls the
        journals of dead processes left open (already journaled again here)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        recovered: dict[str, _OpenCall] = {}
        claimed: list[tuple[int, Path]] = []
        for path in sorted(self.directory.glob(f"{PREFIX}*{SUFFIX}")):
            fd = self._claim(path)
            if fd is None:
                continue  # a live process's journal
            claimed.append((fd, path))
            try:
                calls, bad = read_journal(path)
            except OSError as exc:
                _LOGGER.error("call journal %s unreadable: %s", path, exc)
                continue
            if bad:
                _LOGGER.warning("call journal %s: %d unreadable line(s) skipped", path, bad)
            recovered.update(calls)
        with self._lock:
            self._start_file(recovered)
        self._sync_now()
        for fd, path in claimed:
            # Unlinked while still locked: no other process can claim it meanwhile.
            with contextlib.suppress(OSError):
                path.unlink()
            os.close(fd)
        self._thread = threading.Thread(target=self._run, name="call-journal", daemon=True)
        self._thread.start()
        records = [call.interrupted() for call in recovered.values()]
        if records:
            _LOGGER.warning(
                "call journal: %d call(s) were in progress when the previous process "
                "stopped without finishing them: recorded as interrupted (%s)",
                len(records),
                ", ".join(r.call_id for r in records),
            )
        return records

    def close(self) -> None:
        """Stop; the file is removed when no call is left open (else the next start
        records those calls as interrupted)."""
        with self._lock:
            self._closing = True
            self._dirty.notify_all()
        if self._thread is not None:
            self._thread.join(10)
        with self._lock:
            fd, path = self._fd, self._path
            self._fd = None
            if fd is None or path is None:
                return
            if self._open:
                _LOGGER.warning(
                    "call journal: %d call(s) without a durable record at exit, kept in %s",
                    len(self._open),
                    path,
                )
                with contextlib.suppress(OSError):
                    os.fsync(fd)
            else:
                with contextlib.suppress(OSError):
                    path.unlink()
            os.close(fd)

    # -------------------------------------------------------------- call path

    def started(
        self,
        call_id: str,
        at: datetime,
        language: str,
        caller_number: str | None,
        channel: str | None,
    ) -> None:
        """A call began (written now, fsynced in the background)."""
        call = _OpenCall(call_id, at, language, self._caller_hash(caller_number), channel)
        with self._lock:
            self._open[call_id] = call
            self._append(call.lines()[0], sync=True)

    def transferring(self, call_id: str, at: datetime, target: str, extension: str) -> None:
        """The call is being put through to ``target`` (``extension``)."""
        with self._lock:
            call = self._open.get(call_id)
            if call is None:
                return
            call.transfers.append((at, target, extension))
            self._append(call.lines()[-1], sync=True)

    def ended(self, call_ids: Iterable[str]) -> None:
        """These calls' records are durable (the writer stored or spooled them)."""
        with self._lock:
            for call_id in call_ids:
                if self._open.pop(call_id, None) is not None:
                    self._append({"kind": "end", "call_id": call_id}, sync=False)
            if self._size > self._max_bytes and self._fd is not None:
                self._rotate()

    # -------------------------------------------------------------- internals

    def _claim(self, path: Path) -> int | None:
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        return fd

    def _start_file(self, calls: dict[str, _OpenCall]) -> None:
        """Open a new file holding every open call, ``calls`` added (lock held); the old
        one is retired, removed once the new one is fsynced."""
        path = self.directory / f"{PREFIX}{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        if self._fd is not None and self._path is not None:
            self._retired.append((self._fd, self._path))
        self._fd, self._path, self._size = fd, path, 0
        self._new_file = True
        self._open.update(calls)
        for call in self._open.values():
            for line in call.lines():
                self._append(line, sync=False)
        self._needs_sync = True
        self._dirty.notify_all()

    def _rotate(self) -> None:
        try:
            self._start_file({})
        except OSError as exc:
            _LOGGER.warning("call journal: cannot start a new file (%s), growing this one", exc)

    def _append(self, line: dict[str, Any], *, sync: bool) -> None:
        """Write one line (lock held)."""
        if self._fd is None or self.failed:
            return
        data = _encode(line)
        try:
            os.write(self._fd, data)
        except OSError as exc:
            self.failed = True
            _LOGGER.error("call journal %s: write failed (%s): journal off", self._path, exc)
            return
        self._size += len(data)
        if sync:
            self._needs_sync = True
            self._dirty.notify_all()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._needs_sync and not self._closing:
                    self._dirty.wait()
                if self._closing and not self._needs_sync:
                    return
            self._sync_now()

    def _sync_now(self) -> None:
        with self._lock:
            self._needs_sync = False
            fd, new_file = self._fd, self._new_file
            self._new_file = False
            retired, self._retired = self._retired, []
        # Only this thread (or open(), before it starts) closes retired files, and the
        # current fd is closed only after it stops: fsync never meets a reused number.
        try:
            if fd is not None:
                os.fsync(fd)
                if new_file:
                    _fsync_dir(self.directory)
        except OSError as exc:
            _LOGGER.error("call journal: fsync failed: %s", exc)
            with self._lock:
                self._retired = retired + self._retired
                self._new_file = self._new_file or new_file
            return
        for old_fd, old_path in retired:
            with contextlib.suppress(OSError):
                old_path.unlink()
            os.close(old_fd)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
