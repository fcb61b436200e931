"""YAML read within limits: no aliases, bounded size, nesting depth and node count.

``yaml.safe_load`` is safe against code execution, not against resources: a 470-byte
"billion laughs" file (aliases of aliases) took ``voicebot kb validate`` past 2.5 GB, and
a 100,000-deep flow list or 3,000-deep block nesting overflowed the recursive composer
(``RecursionError``). Every YAML file voicebot reads (knowledge base, service catalogue,
settings) goes through :class:`GuardedLoader`, which refuses these while composing, before
anything is built, with the line where the limit was crossed.

Aliases are refused outright rather than capped: no shipped or city file needs them, and
a reference in a KB would be one more thing a manager editing one entry cannot see.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import yaml


@dataclass(frozen=True, slots=True)
class YamlLimits:
    """How much one YAML document may ask of the reader."""

    max_bytes: int = 2 * 2**20
    """Largest file (UTF-8 bytes): 22 times the sample KB (91 KB, the biggest shipped)."""
    max_depth: int = 32
    """Deepest nesting of mappings and sequences; a knowledge base needs 7."""
    max_nodes: int = 50_000
    """Most scalars, mappings and sequences in one document: 24 times the sample KB's
    2,087. Composing costs about 60 µs and 600 bytes per node, so this bounds a hostile
    file to seconds and tens of MB."""


DEFAULT_LIMITS = YamlLimits()


class YamlRefusedError(ValueError):
    """The document breaks a limit or uses an alias; ``line`` is 1-based when known."""

    def __init__(self, line: int | None, problem: str) -> None:
        self.line = line
        self.problem = problem
        super().__init__(f"line {line}: {problem}" if line else problem)


class GuardedLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses aliases and caps depth and node count as it composes."""

    limits: ClassVar[YamlLimits] = DEFAULT_LIMITS

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Compose one node, refusing an alias or a node beyond the depth or count limit."""
        event = self.peek_event()  # type: ignore[no-untyped-call]  # (untyped in the stubs)
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, yaml.AliasEvent):
            raise YamlRefusedError(
                line, f"alias *{event.anchor} refused: write the value out in full (no &/* refs)"
            )
        self._nodes += 1
        if self._nodes > self.limits.max_nodes:
            raise YamlRefusedError(line, f"more than {self.limits.max_nodes} values in one file")
        self._depth += 1
        try:
            if self._depth > self.limits.max_depth:
                raise YamlRefusedError(
                    line, f"nested more than {self.limits.max_depth} levels deep"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def check_size(text: str, limits: YamlLimits = DEFAULT_LIMITS) -> None:
    """Refuse ``text`` longer than ``limits.max_bytes``, naming the line the limit falls in."""
    # Characters first: a UTF-8 character is at least one byte, so this bounds the work.
    if len(text) <= limits.max_bytes // 4:
        return
    encoded = text.encode("utf-8")
    if len(encoded) > limits.max_bytes:
        line = encoded.count(b"\n", 0, limits.max_bytes) + 1
        raise YamlRefusedError(
            line, f"file is {len(encoded)} bytes, more than the limit of {limits.max_bytes}"
        )


def read_text(path: Path, limits: YamlLimits = DEFAULT_LIMITS) -> str:
    """Read a YAML file as UTF-8, refusing one larger than ``limits.max_bytes`` unread."""
    with path.open("rb") as handle:
        data = handle.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        line = data.count(b"\n", 0, limits.max_bytes) + 1
        raise YamlRefusedError(line, f"file is larger than the limit of {limits.max_bytes} bytes")
    # As Path.read_text does (universal newlines): line numbers match what editors show.
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def safe_load(text: str, limits: YamlLimits = DEFAULT_LIMITS) -> Any:
    """``yaml.safe_load`` within ``limits`` (raises :class:`YamlRefusedError` or ``YAMLError``)."""
    check_size(text, limits)
    loader = _loader_class(limits)(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _loader_class(limits: YamlLimits) -> type[GuardedLoader]:
    if limits == DEFAULT_LIMITS:
        return GuardedLoader
    return type("LimitedLoader", (GuardedLoader,), {"limits": limits})
