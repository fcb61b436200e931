"""YAML files that attack the reader rather than the schema (issue 13, item 8).

Each is small on disk and expensive for a naive reader: aliases of aliases that expand
to hundreds of millions of nodes, nesting deep enough to overflow a recursive composer,
or more values than a knowledge base can plausibly need.
"""

from __future__ import annotations


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """The classic: ``width ** levels`` strings from a few hundred bytes of aliases."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        refs = ", ".join([f"*l{level - 1}"] * width)
        lines.append(f"l{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


def deep_flow(depth: int) -> str:
    """``city: [[[[…]]]]`` nested ``depth`` times, on one line."""
    return "city: " + "[" * depth + "]" * depth + "\n"


def deep_block_sequence(depth: int) -> str:
    """``- - - … x``: block sequences nested ``depth`` times, on one line."""
    return "city:\n  " + "- " * depth + "x\n"


def deep_block_mapping(depth: int) -> str:
    """Mappings nested by indentation, one space per level."""
    return "\n".join(" " * level + "k:" for level in range(depth)) + " x\n"


def many_values(count: int) -> str:
    """A flat list of ``count`` one-character scalars (two bytes each)."""
    return "city: [" + ",".join(["1"] * count) + "]\n"


def oversized(size: int) -> str:
    """One scalar that makes the file ``size`` bytes long, on the second line."""
    head = "city:\n  name: "
    return head + "x" * max(0, size - len(head) - 1) + "\n"
