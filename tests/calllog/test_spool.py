"""The on-disk spool: durable appends, ordered segments, size limit, torn lines, ownership."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.calllog.factories import simple_calls
from voicebot.calllog.spool import (
    REJECTED_FILE,
    Spool,
    SpoolBusyError,
    SpoolFullError,
    encode_records,
)


def test_records_come_back_in_order_across_segments(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", segment_bytes=1)
    calls = simple_calls(5)
    spool.append(calls[:2])
    spool.append(calls[2:])
    assert not spool.is_empty
    assert spool.size == len(encode_records(calls))
    replayed = []
    while (segment := spool.oldest()) is not None:
        records, bad = spool.read(segment)
        assert bad == []
        replayed.extend(records)
        spool.remove(segment)
    assert replayed == calls
    assert spool.is_empty and spool.size == 0
    spool.close()


def test_a_new_spool_finds_what_an_earlier_one_left(tmp_path: Path) -> None:
    first = Spool(tmp_path)
    first.append(simple_calls(3))
    first.close()
    second = Spool(tmp_path)
    segment = second.oldest()
    assert segment is not None
    assert second.read(segment)[0] == simple_calls(3)
    second.close()


def test_the_size_limit_refuses_appends_without_writing(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=len(encode_records(simple_calls(2))))
    spool.append(simple_calls(2))
    with pytest.raises(SpoolFullError, match="limit"):
        spool.append(simple_calls(1, prefix="more"))
    assert spool.size == len(encode_records(simple_calls(2)))
    spool.close()


def test_a_torn_last_line_is_reported_not_fatal(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(simple_calls(2))
    segment = spool.oldest()
    assert segment is not None
    with segment.open("a") as handle:
        handle.write('{"call_id": "torn", "started')
    records, bad = spool.read(segment)
    assert [r.call_id for r in records] == ["call-0000", "call-0001"]
    assert bad == ['{"call_id": "torn", "started']
    spool.reject(bad[0], "unparseable spool line")
    assert "unparseable spool line" in (tmp_path / REJECTED_FILE).read_text()
    spool.close()


def test_one_writer_per_spool_directory(tmp_path: Path) -> None:
    owner = Spool(tmp_path)
    with pytest.raises(SpoolBusyError, match="another call log writer"):
        Spool(tmp_path)
    owner.close()
    Spool(tmp_path).close()


def test_spool_files_are_private(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "private")
    spool.append(simple_calls(1))
    segment = spool.oldest()
    assert segment is not None
    assert segment.stat().st_mode & 0o077 == 0
    assert (tmp_path / "private").stat().st_mode & 0o077 == 0
    spool.close()
