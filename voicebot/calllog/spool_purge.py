"""Retention for the spool: what callers said leaves the spool and ``rejected.jsonl`` on the
same terms as it leaves the database (:mod:`voicebot.calllog.purge`).

Records wait in the spool while the database is away and stay in ``rejected.jsonl`` until
a person deals with them, possibly for longer than the retention period. The purge erases,
in every line, the transcript, reply text and DTMF of turns that started before the cutoff
and the number and note of callback requests made before it; a raw caller number left by a
version that spooled it (pseudonymisation now happens before the spool) is replaced by its
keyed hash whatever its age. A rejected line that is not a record is erased whole once it
is older than the cutoff, and the database's error message keeps only its first line (the
driver's parameter dump can quote the record).

Files are rewritten atomically (temporary file, fsync, rename) under the spool's content
lock, so a running ``voicebot serve`` can keep appending and replaying meanwhile.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from voicebot.calllog.pseudonymize import Pseudonymizer
from voicebot.calllog.spool import REJECTED_FILE, content_lock, segments_of

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SpoolPurgeResult:
    """What a purge of the spool changed."""

    turns: int = 0
    """Turns whose transcript, reply text and DTMF were erased."""
    callbacks: int = 0
    """Callback requests whose number and note were erased."""
    numbers: int = 0
    """Raw caller numbers replaced by their keyed hash."""
    rejected_lines: int = 0
    """Lines of ``rejected.jsonl`` that are not records, erased whole."""
    files: int = 0
    """Files rewritten."""

    def __add__(self, other: SpoolPurgeResult) -> SpoolPurgeResult:
        return SpoolPurgeResult(
            self.turns + other.turns,
            self.callbacks + other.callbacks,
            self.numbers + other.numbers,
            self.rejected_lines + other.rejected_lines,
            self.files + other.files,
        )


def purge_spool(
    directory: Path, cutoff: datetime, pseudonymizer: Pseudonymizer
) -> SpoolPurgeResult:
    """Erase personal content older than ``cutoff`` from every file of the spool."""
    if cutoff.tzinfo is None:
        raise ValueError(f"purge cutoff: naive datetime {cutoff.isoformat()}")
    if not directory.is_dir():
        return SpoolPurgeResult()
    total = SpoolPurgeResult()
    with content_lock(directory):
        for segment in segments_of(directory):
            total += _rewrite(segment, lambda line: _record_line(line, cutoff, pseudonymizer))
        rejected = directory / REJECTED_FILE
        if rejected.exists():
            total += _rewrite(rejected, lambda line: _rejected_line(line, cutoff, pseudonymizer))
    _LOGGER.info(
        "spool %s purge before %s: %d turn(s), %d callback(s), %d number(s), "
        "%d rejected line(s) erased in %d file(s)",
        directory,
        cutoff.isoformat(),
        total.turns,
        total.callbacks,
        total.numbers,
        total.rejected_lines,
        total.files,
    )
    return total


LineFix = tuple[str, SpoolPurgeResult]


def _rewrite(path: Path, fix: Callable[[str], LineFix]) -> SpoolPurgeResult:
    """Rewrite ``path`` line by line through ``fix`` if anything changed."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    out: list[str] = []
    result = SpoolPurgeResult()
    changed = False
    for line in lines:
        if not line.strip():
            continue
        fixed, counts = fix(line)
        changed = changed or fixed != line
        out.append(fixed)
        result += counts
    if not changed:
        return result
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in out))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    directory_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)
    return result + SpoolPurgeResult(files=1)


def _record_line(line: str, cutoff: datetime, pseudonymizer: Pseudonymizer) -> LineFix:
    try:
        data = json.loads(line)
    except ValueError:
        return line, SpoolPurgeResult()  # replay sends it to rejected.jsonl, purged there
    if not isinstance(data, dict):
        return line, SpoolPurgeResult()
    counts = erase_record(data, cutoff, pseudonymizer)
    return _dumps(data) if counts != SpoolPurgeResult() else line, counts


def _rejected_line(line: str, cutoff: datetime, pseudonymizer: Pseudonymizer) -> LineFix:
    entry = _json_object(line)
    if entry is None:
        # Not even an entry of ours: nothing in it can be dated, so nothing of it is kept.
        erased = {"rejected_at": None, "reason": "unreadable line, erased by purge", "data": None}
        return _dumps(erased), SpoolPurgeResult(rejected_lines=1)
    old = _older(entry.get("rejected_at"), cutoff)
    counts = SpoolPurgeResult()
    changed = False
    payload = entry.get("data")
    record = _json_object(payload) if isinstance(payload, str) else None
    if record is not None:
        counts = erase_record(record, cutoff, pseudonymizer)
        if counts != SpoolPurgeResult():
            entry["data"] = _dumps(record)
            changed = True
    elif payload is not None and old:
        entry["data"] = None
        counts = SpoolPurgeResult(rejected_lines=1)
        changed = True
    reason = entry.get("reason")
    if old and isinstance(reason, str) and "\n" in reason:
        entry["reason"] = reason.split("\n", 1)[0]
        changed = True
    return (_dumps(entry) if changed else line), counts


def erase_record(
    data: dict[str, Any], cutoff: datetime, pseudonymizer: Pseudonymizer
) -> SpoolPurgeResult:
    """Erase, in place, what the database purge erases in a record's JSON form."""
    numbers = 0
    if data.get("caller_number") is not None:
        data["caller_hash"] = pseudonymizer.caller_hash(str(data["caller_number"]))
        data["caller_number"] = None
        numbers = 1
    turns = 0
    for turn in _objects(data.get("turns")):
        if _older(turn.get("started_at"), cutoff) and any(
            turn.get(name) is not None for name in ("transcript", "reply_text", "dtmf")
        ):
            turn.update(transcript=None, reply_text=None, dtmf=None)
            turns += 1
    callbacks = 0
    for callback in _objects(data.get("callbacks")):
        if _older(callback.get("requested_at"), cutoff) and any(
            callback.get(name) is not None for name in ("caller_number", "note")
        ):
            callback.update(caller_number=None, note=None)
            callbacks += 1
    return SpoolPurgeResult(turns=turns, callbacks=callbacks, numbers=numbers)


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _older(stamp: Any, cutoff: datetime) -> bool:
    """Whether an ISO time is before ``cutoff``; an unreadable one counts as old (erase)."""
    if not isinstance(stamp, str):
        return True
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return True
    if moment.tzinfo is None:
        return True
    return moment < cutoff


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
