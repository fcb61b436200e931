"""The guarded YAML reader: aliases refused, size, depth and node count capped, each
refusal one ``line N: problem`` before anything is built."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support import hostile_yaml
from voicebot.safe_yaml import YamlLimits, YamlRefusedError, check_size, read_text, safe_load

SMALL = YamlLimits(max_bytes=1000, max_depth=4, max_nodes=20)


def test_ordinary_yaml_reads_as_safe_load_reads_it() -> None:
    text = "a: 1\nb: [x, {c: true}]\nd: &anchor plain\n"
    assert safe_load(text) == yaml.safe_load(text)


def test_an_alias_is_refused_with_its_line() -> None:
    with pytest.raises(YamlRefusedError) as info:
        safe_load("a: &x [1, 2]\nb: 3\nc: *x\n")
    assert info.value.line == 3
    assert "alias *x" in info.value.problem


def test_a_merge_key_is_refused_as_the_alias_it_needs() -> None:
    with pytest.raises(YamlRefusedError, match="alias"):
        safe_load("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n")


def test_billion_laughs_is_refused_at_its_first_alias() -> None:
    with pytest.raises(YamlRefusedError) as info:
        safe_load(hostile_yaml.billion_laughs())
    assert info.value.line == 2


def test_nesting_at_the_depth_limit_reads_and_one_more_level_is_refused() -> None:
    # depth 4 = the top mapping, then three flow lists
    assert safe_load("city: [[[]]]\n", SMALL) == {"city": [[[]]]}
    with pytest.raises(YamlRefusedError, match="more than 4 levels"):
        safe_load("city: [[[[]]]]\n", SMALL)


@pytest.mark.parametrize(
    "text",
    [
        hostile_yaml.deep_flow(100_000),
        hostile_yaml.deep_block_sequence(3_000),
        hostile_yaml.deep_block_mapping(1_000),
    ],
    ids=["flow-100k", "block-sequence-3k", "block-mapping-1k"],
)
def test_deep_nesting_is_refused_instead_of_overflowing_the_stack(text: str) -> None:
    with pytest.raises(YamlRefusedError, match="more than 32 levels") as info:
        safe_load(text)
    assert info.value.line is not None


def test_node_count_is_capped() -> None:
    # the mapping, its key, the list and its items
    assert safe_load(hostile_yaml.many_values(17), SMALL) == {"city": [1] * 17}
    with pytest.raises(YamlRefusedError, match="more than 20 values"):
        safe_load(hostile_yaml.many_values(18), SMALL)


def test_size_is_capped_with_the_line_the_limit_falls_in() -> None:
    check_size("x" * 1000, SMALL)
    with pytest.raises(YamlRefusedError, match="1001 bytes, more than the limit of 1000") as info:
        check_size("a\nb\nx" + "é" * 498, SMALL)
    assert info.value.line == 3


def test_an_oversized_file_is_refused_without_being_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(hostile_yaml.oversized(5000), encoding="utf-8")
    with pytest.raises(YamlRefusedError, match="larger than the limit of 1000 bytes") as info:
        read_text(path, SMALL)
    assert info.value.line == 2


def test_read_text_gives_editor_line_numbers_for_windows_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "crlf.yaml"
    path.write_bytes(b"a: 1\r\nb: &x 2\r\nc: *x\r\n")
    with pytest.raises(YamlRefusedError) as info:
        safe_load(read_text(path))
    assert info.value.line == 3
