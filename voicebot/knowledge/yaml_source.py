"""YAML with each node's line, and JSON Schema failures as one-line errors.

The KB loader and the catalogue loader both read their files through this module, so both
get the same safety limits and the same ``file:line: field: problem`` messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jsonschema
import yaml

from voicebot import safe_yaml
from voicebot.knowledge.schema_patterns import AnchoredValidator
from voicebot.safe_yaml import GuardedLoader, YamlRefusedError

JsonPath = tuple[str | int, ...]


class KnowledgeBaseError(ValueError):
    """A knowledge base file is unusable; the message is one line: ``file:line: field: problem``."""

    def __init__(self, source: str, line: int | None, field: str, problem: str) -> None:
        self.source = source
        self.line = line
        self.field = field
        self.problem = problem
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {field or '(top level)'}: {problem}")


class _KbYamlLoader(GuardedLoader):
    """Guarded SafeLoader that keeps dates and times as strings (the schema checks them)."""


_KbYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


# --- YAML with line numbers -------------------------------------------------------------


def read_yaml(text: str, source: str) -> tuple[Any, dict[JsonPath, int]]:
    """Parse YAML, keeping each node's line (for ``file:line: field: problem`` messages)."""
    try:
        safe_yaml.check_size(text)
    except YamlRefusedError as exc:
        raise KnowledgeBaseError(source, exc.line, "", exc.problem) from None
    loader = _KbYamlLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise KnowledgeBaseError(source, 1, "", "the file is empty")
        lines: dict[JsonPath, int] = {}
        return _construct(loader, node, (), lines, source), lines
    except YamlRefusedError as exc:
        raise KnowledgeBaseError(source, exc.line, "", exc.problem) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise KnowledgeBaseError(source, line, "", f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(source, None, "", f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def _construct(
    loader: _KbYamlLoader,
    node: yaml.Node,
    path: JsonPath,
    lines: dict[JsonPath, int],
    source: str,
) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise KnowledgeBaseError(
                    source,
                    key_node.start_mark.line + 1,
                    field_name(path),
                    "keys must be plain text",
                )
            key = str(key)
            if key in result:
                raise KnowledgeBaseError(
                    source, key_node.start_mark.line + 1, field_name((*path, key)), "duplicate key"
                )
            result[key] = _construct(loader, value_node, (*path, key), lines, source)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(loader, item, (*path, index), lines, source)
            for index, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)


def field_name(path: Sequence[str | int]) -> str:
    """``departments[2].examples`` for the path ``("departments", 2, "examples")``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def line_of(lines: Mapping[JsonPath, int], path: Sequence[str | int]) -> int | None:
    """The line of ``path`` or of its closest ancestor that has one."""
    probe = tuple(path)
    while probe:
        if probe in lines:
            return lines[probe]
        probe = probe[:-1]
    return lines.get(())


# --- Schema -----------------------------------------------------------------------------


def check_against_schema(
    data: Any, schema: dict[str, Any], source: str, lines: Mapping[JsonPath, int]
) -> None:
    """Raise a one-line :class:`KnowledgeBaseError` for the first way ``data`` breaks ``schema``."""
    validator = AnchoredValidator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), e.message))
    if not errors:
        return
    error = _most_specific(errors[0])
    field_path, problem = _describe(error, list(error.absolute_path))
    raise KnowledgeBaseError(source, line_of(lines, field_path), field_name(field_path), problem)


def _most_specific(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For oneOf/anyOf failures, descend to the sub-error that best explains the problem."""
    best = error
    while best.context:
        best = max(best.context, key=lambda e: (len(e.absolute_path), -len(e.message)))
    return best


def _describe(
    error: jsonschema.ValidationError, path: list[str | int]
) -> tuple[list[str | int], str]:
    """The path of the offending field (a missing or unknown one included) and the problem."""
    validator = error.validator
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [*path, missing], "required field missing"
    if validator == "additionalProperties":
        schema = error.schema if isinstance(error.schema, dict) else {}
        instance = error.instance if isinstance(error.instance, dict) else {}
        extra = sorted(set(instance) - set(schema.get("properties", {})))
        return ([*path, extra[0]] if extra else path), f"unknown field ({', '.join(extra)})"
    if validator == "type" and isinstance(error.instance, int | float):
        return path, f"{error.message} (put the value in quotes)"
    if validator == "pattern":
        return path, f"{error.instance!r} has the wrong format"
    if validator == "propertyNames":
        return path, f"{error.message} (language codes are two lower-case letters)"
    return path, error.message
