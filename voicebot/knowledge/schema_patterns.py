"""JSON Schema ``pattern`` checked as JSON Schema means it, not as Python's ``re`` reads it.

A schema pattern is an ECMA-262 regular expression, where ``$`` (without the multiline
flag) is the end of the input. Python's ``re.search``, which ``jsonschema`` uses, also lets
``$`` match just before a final ``\\n``: ``^[0-9*#]{1,16}$`` accepted ``"2002\\n"``, the
KB and the API took it, and every transfer to that extension then failed in the AMI
encoder. Here every ``$`` outside a character class becomes ``\\Z`` (the true end), so the
published schemas keep their portable ``^…$`` form and mean the same in every validator.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError


def python_pattern(pattern: str) -> str:
    """``pattern`` with each end-of-input ``$`` written as ``\\Z`` (escapes and classes kept)."""
    out: list[str] = []
    in_class = False
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            out.append(char + next(chars, ""))
        elif in_class:
            in_class = char != "]"
            out.append(char)
        elif char == "[":
            in_class = True
            out.append(char)
            # A "]" right after "[" or "[^" is a literal member, not the end of the class.
            following = next(chars, "")
            if following == "^":
                out.append(following)
                following = next(chars, "")
            if following == "\\":
                following += next(chars, "")
            out.append(following)
        elif char == "$":
            out.append(r"\Z")
        else:
            out.append(char)
    return "".join(out)


@cache
def compiled(pattern: str) -> re.Pattern[str]:
    """The compiled Python form of a schema pattern (cached: schemas reuse a few)."""
    return re.compile(python_pattern(pattern))


def _pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# types-jsonschema leaves extend() unannotated; the result is a validator class.
AnchoredValidator: Any = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft202012Validator, validators={"pattern": _pattern}
)
"""Draft 2020-12 validation with ``pattern`` read as ECMA-262 reads it."""
