"""Edit a KB file's YAML the way a person would: change what is edited, keep everything else.

The document is loaded with ruamel.yaml's round-trip mode (comments, key order, quoting and
flow style are kept) and edited in place. Writing it back is done in two steps, so that even
a layout ruamel.yaml cannot reproduce (a hand-wrapped flow list, say) stays as it was:

1. ``base`` = the unedited document dumped by ruamel.yaml, ``edited`` = the edited one;
2. the line changes from ``base`` to ``edited`` are applied to the original text. A change
   that falls where ruamel.yaml's dump differs from the original is not applied by guess:
   the whole ``edited`` dump is used instead (``EditedText.spliced`` says which happened).

Only call this on text that the KB loader already accepted (aliases, size and depth are
checked there). Pure: no files, no clock.
"""

from __future__ import annotations

import copy
import difflib
import io
from dataclasses import dataclass
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.util import load_yaml_guess_indent

MAX_WIDTH = 4096
"""No re-wrapping of long texts (an FAQ answer stays on its line)."""


@dataclass(frozen=True, slots=True)
class Layout:
    """Indentation of a file, as ruamel.yaml's ``indent(mapping, sequence, offset)``."""

    mapping: int = 2
    sequence: int = 4
    offset: int = 2


@dataclass(frozen=True, slots=True)
class EditedText:
    """The file's new text."""

    text: str
    spliced: bool
    """True: only the edited lines changed; False: the file was rewritten by ruamel.yaml."""


def _yaml(layout: Layout) -> YAML:
    handler = YAML(typ="rt")
    handler.preserve_quotes = True
    handler.width = MAX_WIDTH
    handler.indent(mapping=layout.mapping, sequence=layout.sequence, offset=layout.offset)
    return handler


def guess_layout(text: str) -> Layout:
    """The indentation that reproduces ``text`` best (the usual two-space layout if none)."""
    _, indent, block_seq_indent = load_yaml_guess_indent(text)
    offset = block_seq_indent or 0
    candidates = [Layout(2, 2 + offset, offset), Layout(2, 4, 2), Layout(2, 2, 0)]
    if indent:
        candidates.insert(0, Layout(indent if indent <= 4 else 2, indent, offset))
    lines = text.splitlines()
    best, best_ratio = Layout(), -1.0
    for layout in candidates:
        dumped = dump(load(text, layout), layout)
        if dumped == text:
            return layout
        ratio = difflib.SequenceMatcher(None, lines, dumped.splitlines(), autojunk=False).ratio()
        if ratio > best_ratio:
            best, best_ratio = layout, ratio
    return best


def load(text: str, layout: Layout | None = None) -> Any:
    """The round-trip document of ``text`` (dicts and lists that remember their comments)."""
    return _yaml(layout or Layout()).load(text)


def dump(document: Any, layout: Layout | None = None) -> str:
    """The YAML text of a round-trip document."""
    stream = io.StringIO()
    _yaml(layout or Layout()).dump(document, stream)
    return stream.getvalue()


def edited_text(original: str, before: Any, after: Any, layout: Layout) -> EditedText:
    """``original`` with the changes from document ``before`` to ``after`` (see module doc)."""
    base = dump(before, layout).splitlines(keepends=True)
    edited = dump(after, layout).splitlines(keepends=True)
    source = original.splitlines(keepends=True)
    if base == source:
        return EditedText("".join(edited), True)
    spliced = _splice(source, base, edited)
    if spliced is None:
        return EditedText("".join(edited), False)
    return EditedText("".join(spliced), True)


def _splice(source: list[str], base: list[str], edited: list[str]) -> list[str] | None:
    """Apply the base→edited line changes to ``source``; None if one falls where base and
    source differ (a real conflict is not resolved by guessing)."""
    to_source: dict[int, int] = {}
    for block in difflib.SequenceMatcher(None, base, source, autojunk=False).get_matching_blocks():
        for step in range(block.size):
            to_source[block.a + step] = block.b + step
    result: list[str] = []
    position = 0  # next line of source not yet copied
    for tag, b_start, b_end, e_start, e_end in difflib.SequenceMatcher(
        None, base, edited, autojunk=False
    ).get_opcodes():
        if tag == "equal":
            continue
        # The changed base lines, and the line just before an insertion, must be lines
        # that exist unchanged in the source, contiguously.
        if b_end > b_start:
            first = to_source.get(b_start)
            if first is None or any(
                to_source.get(b_start + step) != first + step for step in range(b_end - b_start)
            ):
                return None
            s_start, s_end = first, first + (b_end - b_start)
        else:
            anchor = to_source.get(b_start - 1) if b_start > 0 else -1
            after = to_source.get(b_start) if b_start < len(base) else len(source)
            if anchor is None or after is None or after != anchor + 1:
                return None
            s_start = s_end = anchor + 1
        if s_start < position:
            return None
        result.extend(source[position:s_start])
        result.extend(edited[e_start:e_end])
        position = s_end
    result.extend(source[position:])
    return result


def copy_document(document: Any) -> Any:
    """A deep copy that keeps the comments."""
    return copy.deepcopy(document)


def _ambiguous(text: str) -> bool:
    """Whether the KB loader (PyYAML, YAML 1.1) would read this plain scalar as another type
    or differently (``12:00`` is a number there, ``2026-05-08`` a date, ``no`` false)."""
    try:
        return bool(yaml.safe_load(text) != text)
    except yaml.YAMLError:
        return True


def to_yaml(value: Any) -> Any:
    """JSON data (from the API) as round-trip nodes; strings quoted where YAML would read
    them as something else."""
    if isinstance(value, dict):
        node = CommentedMap()
        for key, item in value.items():
            node[key] = to_yaml(item)
        return node
    if isinstance(value, list):
        return CommentedSeq(to_yaml(item) for item in value)
    if isinstance(value, str) and _ambiguous(value):
        return DoubleQuotedScalarString(value)
    return value


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 merge patch applied in place where both sides are objects (so the comments
    of what stays are kept); returns the value to store."""
    if not isinstance(patch, dict):
        return to_yaml(patch)
    if not isinstance(target, dict):
        target = CommentedMap()
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge_patch(target[key], value)
        else:
            target[key] = to_yaml(value)
    return target
