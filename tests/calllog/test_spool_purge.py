"""Retention in the spool: segments and rejected.jsonl lose what the database purge erases,
atomically and alongside a writer that keeps appending and replaying."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.calllog.conftest import TEST_KEY
from tests.calllog.factories import T0, Turn, make_call
from voicebot.calllog.pseudonymize import Pseudonymizer
from voicebot.calllog.rows import pseudonymised
from voicebot.calllog.spool import REJECTED_FILE, Spool, encode_records
from voicebot.calllog.spool_purge import SpoolPurgeResult, purge_spool
from voicebot.records import CallRecord

PSEUDONYMIZER = Pseudonymizer(TEST_KEY, "32")
CUTOFF = T0 + timedelta(days=1)
OLD, NEW = T0, T0 + timedelta(days=2)


def _pseudonymised(record: CallRecord) -> CallRecord:
    return pseudonymised(record, PSEUDONYMIZER)


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    owned = Spool(tmp_path / "spool")
    yield owned
    owned.close()


def test_old_turns_and_callbacks_lose_their_words_new_ones_keep_them(spool: Spool) -> None:
    old = make_call(
        "old", OLD, turns=[Turn("faq:x", "Zebulon", dtmf="5")], callbacks=[("waste", "0470111")]
    )
    new = make_call("new", NEW, turns=[Turn("faq:x", "Quaresma")])
    spool.append([_pseudonymised(old), _pseudonymised(new)])
    result = purge_spool(spool.directory, CUTOFF, PSEUDONYMIZER)
    assert result == SpoolPurgeResult(turns=1, callbacks=1, files=1)
    segment = spool.oldest()
    assert segment is not None
    records, bad = spool.read(segment)
    assert bad == []
    by_id = {r.call_id: r for r in records}
    turn = by_id["old"].turns[0]
    assert (turn.transcript, turn.reply_text, turn.dtmf) == (None, None, None)
    assert turn.intent == "faq:x" and turn.timings_ms == old.turns[0].timings_ms
    assert (by_id["old"].callbacks[0].caller_number, by_id["old"].callbacks[0].note) == (
        None,
        None,
    )
    assert by_id["new"].turns[0].transcript == "Quaresma"
    assert "Zebulon" not in segment.read_text(encoding="utf-8")
    assert stat.S_IMODE(segment.stat().st_mode) == 0o600


def test_a_raw_number_from_an_older_spool_is_pseudonymised_whatever_its_age(
    spool: Spool,
) -> None:
    spool.append([make_call("legacy", NEW, caller="0479 31 41 59")])  # as spooled before
    result = purge_spool(spool.directory, CUTOFF, PSEUDONYMIZER)
    assert result.numbers == 1 and result.turns == 0
    segment = spool.oldest()
    assert segment is not None
    [record], _ = spool.read(segment)
    assert record.caller_number is None
    assert record.caller_hash == PSEUDONYMIZER.caller_hash("0479 31 41 59")
    assert "0479" not in segment.read_text(encoding="utf-8")


def test_rejected_records_and_unreadable_lines_are_purged(spool: Spool) -> None:
    record = make_call("refused", OLD, caller="0479 31 41 59", turns=[Turn("none", "Zebulon")])
    reason = "(IntegrityError) refused\n[SQL: INSERT …]\n[parameters: {'transcript': 'Zebulon'}]"
    spool.reject(encode_records([record]).decode().rstrip("\n"), reason)
    spool.reject("not json at all, Quaresma said", "unparseable spool line")
    rejected = spool.directory / REJECTED_FILE
    with rejected.open("a", encoding="utf-8") as handle:
        handle.write("garbage that is not an entry, 0479 31 41 59\n")
    # Entries are dated by when they were rejected (now): purge as if a year had passed.
    result = purge_spool(spool.directory, NEW + timedelta(days=3650), PSEUDONYMIZER)
    assert (result.turns, result.numbers, result.rejected_lines, result.files) == (1, 1, 2, 1)
    text = rejected.read_text(encoding="utf-8")
    for secret in ("Zebulon", "Quaresma", "0479", "parameters"):
        assert secret not in text, secret
    first, second, third = _lines(rejected)
    assert isinstance(first["data"], str) and json.loads(first["data"])["call_id"] == "refused"
    assert first["reason"] == "(IntegrityError) refused"
    assert second["data"] is None and second["reason"] == "unparseable spool line"
    assert third["data"] is None


def test_a_recent_unreadable_rejected_line_is_kept_for_a_person_to_see(spool: Spool) -> None:
    spool.reject("not json, said yesterday", "unparseable spool line")
    result = purge_spool(spool.directory, CUTOFF, PSEUDONYMIZER)
    assert result == SpoolPurgeResult()
    [entry] = _lines(spool.directory / REJECTED_FILE)
    assert entry["data"] == "not json, said yesterday"


def test_the_writer_keeps_appending_and_counting_after_a_purge(spool: Spool) -> None:
    spool.append([_pseudonymised(make_call("a", OLD, turns=[Turn("x", "un " * 200)]))])
    before = spool.size
    purge_spool(spool.directory, CUTOFF, PSEUDONYMIZER)
    spool.append([_pseudonymised(make_call("b", NEW))])
    segment = spool.oldest()
    assert segment is not None
    records, _ = spool.read(segment)
    assert [r.call_id for r in records] == ["a", "b"]
    spool.remove(segment)
    assert spool.size == 0 and spool.is_empty
    assert before > 0


def test_nothing_to_purge_rewrites_nothing(spool: Spool) -> None:
    spool.append([_pseudonymised(make_call("n", NEW))])
    segment = spool.oldest()
    assert segment is not None
    inode = segment.stat().st_ino
    assert purge_spool(spool.directory, CUTOFF, PSEUDONYMIZER) == SpoolPurgeResult()
    assert segment.stat().st_ino == inode


def test_a_missing_spool_directory_is_nothing_to_purge(tmp_path: Path) -> None:
    assert purge_spool(tmp_path / "absent", CUTOFF, PSEUDONYMIZER) == SpoolPurgeResult()
