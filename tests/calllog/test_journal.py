"""The call journal on its own: lines, locks, modes, recovery of dead processes' calls."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

from voicebot.calllog.journal import CallJournal, read_journal
from voicebot.calllog.pseudonymize import Pseudonymizer

KEY = b"journal-test-key-0123456789"
AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def hasher() -> Pseudonymizer:
    return Pseudonymizer(KEY, "32")


def journal(directory: Path, **options: int) -> CallJournal:
    return CallJournal(directory, hasher().caller_hash, **options)


def test_a_clean_stop_leaves_no_file_and_nothing_to_recover(tmp_path: Path) -> None:
    first = journal(tmp_path / "journal")
    assert first.open() == []
    first.started("a", AT, "fr", "0470 12 34 56", "PJSIP/citizen-1")
    first.ended(["a"])
    first.close()
    assert list((tmp_path / "journal").iterdir()) == []
    second = journal(tmp_path / "journal")
    assert second.open() == []
    second.close()


def test_files_are_private_and_hold_the_number_only_as_its_hash(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    live = journal(directory)
    live.open()
    live.started("a", AT, "fr", "0470 12 34 56", "PJSIP/citizen-1")
    assert live.path is not None
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(live.path.stat().st_mode) == 0o600
    text = live.path.read_text(encoding="utf-8")
    assert "470" not in text.replace(hasher().caller_hash("0470 12 34 56") or "", "")
    assert json.loads(text.splitlines()[0])["caller_hash"] == hasher().caller_hash("0470123456")
    live.close()


def test_a_live_process_journal_is_not_recovered_by_another(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    live = journal(directory)
    live.open()
    live.started("a", AT, "fr", None, None)
    other = journal(directory)
    assert other.open() == []  # the file is locked: its calls are in progress, not lost
    other.close()
    live.close()


def test_a_growing_journal_starts_a_new_file_with_the_open_calls_only(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    live = journal(directory, max_bytes=4096)
    live.open()
    live.started("kept", AT, "fr", None, None)
    first = live.path
    for n in range(100):
        live.started(f"c{n}", AT, "fr", None, None)
        live.ended([f"c{n}"])
    assert live.path != first
    assert live.path is not None and live.path.stat().st_size < 4096
    live.close()  # "kept" is still open: its file stays for the next start
    (remaining,) = list(directory.iterdir())
    assert set(read_journal(remaining)[0]) == {"kept"}


def test_a_line_cut_by_the_crash_is_skipped(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    directory.mkdir()
    dead = directory / "journal-1-dead.jsonl"
    start = {"kind": "start", "call_id": "x", "at": AT.isoformat(), "language": "fr"}
    dead.write_text(json.dumps(start) + '\n{"kind": "transfer", "call_id": "x", "at', "utf-8")
    after = journal(directory)
    (record,) = after.open()
    assert record.call_id == "x" and record.transfers == ()
    after.close()
