"""A small, pure parser for Asterisk ``.conf`` files and the dialplan of extensions.conf.

It reads what the project ships in ``dialplans/`` the way Asterisk's main/config.c and
pbx/pbx_config.c do, so tests can check the configuration against the code's contract:

* sections ``[name]``, with options ``[name](!)`` (template), ``[name](tpl1,tpl2)``
  (inherit) and ``[name](+)`` (add to an earlier section);
* ``name = value`` and ``name => value`` settings;
* ``;`` comments (``\\;`` is a literal semicolon) and ``;-- block comments --;``;
* ``#include`` / ``#tryinclude`` of files relative to the including file's directory;
* in extensions.conf: ``exten =>`` / ``same =>`` with priorities (``1``, ``n``, ``n+2``,
  labels ``n(name)``), ``include =>``, and the [general] and [globals] sections.

Syntax: https://docs.asterisk.org/Fundamentals/Asterisk-Configuration/Asterisk-Configuration-Files/
Errors name the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ConfError",
    "ConfFile",
    "Context",
    "Dialplan",
    "DialplanStep",
    "Extension",
    "GotoTarget",
    "Section",
    "Setting",
    "extension_matches",
    "goto_targets",
    "load_conf",
    "parse_conf",
    "parse_dialplan",
    "split_app",
    "split_args",
    "substitute",
    "variable_references",
]

IncludeReader = Callable[[str, str], tuple[str, str] | None]
"""(name, including source) -> (text, source of that text), or None when it is missing."""

_HEADER = re.compile(r"^\[(?P<name>[^\]]+)\](?:\((?P<options>[^)]*)\))?\s*$")
_DIRECTIVE = re.compile(r"^#(?P<name>include|tryinclude|exec)\s+(?P<arg>.+)$")
_PRIORITY = re.compile(r"^(?P<base>\d+|n(?:\+(?P<plus>\d+))?|hint)(?:\((?P<label>[^)]*)\))?$")
_DIALPLAN_SPECIAL = frozenset({"general", "globals"})


class ConfError(ValueError):
    """A configuration file cannot be read; the message starts with ``file:line:``."""

    def __init__(self, source: str, line: int, message: str) -> None:
        super().__init__(f"{source}:{line}: {message}")
        self.source = source
        self.line = line


@dataclass(frozen=True, slots=True)
class Setting:
    """One ``name = value`` (or ``name => value``) line."""

    name: str
    value: str
    source: str
    line: int
    arrow: bool = False
    """True when written with ``=>`` (dialplan objects)."""


@dataclass(frozen=True, slots=True)
class Section:
    """One ``[name]`` section with its settings, in file order."""

    name: str
    options: tuple[str, ...]
    settings: tuple[Setting, ...]
    source: str
    line: int

    @property
    def is_template(self) -> bool:
        """Declared with ``(!)``: only used as a base for other sections."""
        return "!" in self.options

    @property
    def is_addition(self) -> bool:
        """Declared with ``(+)``: adds settings to an earlier section of the same name."""
        return any(option.startswith("+") for option in self.options)

    @property
    def templates(self) -> tuple[str, ...]:
        """Sections this one inherits from, in order."""
        return tuple(o for o in self.options if o != "!" and not o.startswith("+"))

    def get(self, name: str) -> str | None:
        """Value of the last setting called ``name`` (Asterisk keys ignore case)."""
        values = self.get_all(name)
        return values[-1] if values else None

    def get_all(self, name: str) -> list[str]:
        """Values of every setting called ``name``, in order."""
        wanted = name.lower()
        return [s.value for s in self.settings if s.name.lower() == wanted]


@dataclass(frozen=True, slots=True)
class ConfFile:
    """A parsed configuration file, with its included files expanded in place."""

    sections: tuple[Section, ...]
    sources: tuple[str, ...]
    """Every file read, the main one first."""
    missing: tuple[str, ...] = ()
    """``#tryinclude`` files that did not exist."""

    def named(self, name: str) -> list[Section]:
        """All sections called ``name`` (pjsip.conf reuses names across object types)."""
        return [s for s in self.sections if s.name == name]

    def section(self, name: str) -> Section:
        """The section called ``name`` with its templates and ``(+)`` additions applied."""
        found = [s for s in self.named(name) if not s.is_addition]
        if not found:
            raise KeyError(f"no section [{name}] in {self.sources[0]}")
        return self.resolve(found[0])

    def resolve(self, section: Section) -> Section:
        """``section`` with inherited template settings first and later additions last."""
        settings: list[Setting] = []
        for template in section.templates:
            bases = [s for s in self.named(template) if s.is_template]
            if not bases:
                raise ConfError(
                    section.source,
                    section.line,
                    f"[{section.name}] uses unknown template '{template}'",
                )
            settings.extend(self.resolve(bases[0]).settings)
        settings.extend(section.settings)
        if section is next((s for s in self.named(section.name) if not s.is_addition), None):
            for extra in self.named(section.name):
                if extra.is_addition:
                    settings.extend(extra.settings)
        return Section(section.name, section.options, tuple(settings), section.source, section.line)


def load_conf(path: str | Path) -> ConfFile:
    """Read ``path``; ``#include`` names are relative to the including file's directory."""
    path = Path(path)

    def read(name: str, including: str) -> tuple[str, str] | None:
        target = Path(name)
        if not target.is_absolute():
            target = Path(including).parent / target
        try:
            return target.read_text(encoding="utf-8"), str(target)
        except FileNotFoundError:
            return None

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfError(str(path), 0, f"cannot read: {exc}") from None
    return parse_conf(text, str(path), include_reader=read)


def parse_conf(
    text: str, source: str = "<string>", *, include_reader: IncludeReader | None = None
) -> ConfFile:
    """Parse configuration ``text``; includes need an ``include_reader``."""
    state = _ParseState(include_reader)
    state.parse(text, source)
    if state.current is not None:
        state.close_section()
    return ConfFile(tuple(state.sections), tuple(state.sources), tuple(state.missing))


@dataclass(slots=True)
class _OpenSection:
    name: str
    options: tuple[str, ...]
    source: str
    line: int
    settings: list[Setting] = field(default_factory=list)


class _ParseState:
    def __init__(self, include_reader: IncludeReader | None) -> None:
        self.include_reader = include_reader
        self.sections: list[Section] = []
        self.sources: list[str] = []
        self.missing: list[str] = []
        self.current: _OpenSection | None = None
        self.stack: list[str] = []

    def close_section(self) -> None:
        assert self.current is not None
        cur = self.current
        self.sections.append(
            Section(cur.name, cur.options, tuple(cur.settings), cur.source, cur.line)
        )
        self.current = None

    def parse(self, text: str, source: str) -> None:
        if source in self.stack:
            chain = " -> ".join([*self.stack, source])
            raise ConfError(source, 0, f"include loop: {chain}")
        self.stack.append(source)
        self.sources.append(source)
        for number, line in _logical_lines(text, source):
            self._line(line, source, number)
        self.stack.pop()

    def _line(self, line: str, source: str, number: int) -> None:
        if line.startswith("#"):
            self._directive(line, source, number)
            return
        if line.startswith("["):
            match = _HEADER.match(line)
            if match is None:
                raise ConfError(source, number, f"malformed section header: {line!r}")
            if self.current is not None:
                self.close_section()
            options = tuple(
                o.strip() for o in (match.group("options") or "").split(",") if o.strip()
            )
            self.current = _OpenSection(match.group("name").strip(), options, source, number)
            return
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise ConfError(source, number, f"expected 'name = value', got {line!r}")
        arrow = value.startswith(">")
        if arrow:
            value = value[1:]
        if self.current is None:
            raise ConfError(source, number, f"setting {name.strip()!r} outside of any section")
        self.current.settings.append(Setting(name.strip(), value.strip(), source, number, arrow))

    def _directive(self, line: str, source: str, number: int) -> None:
        match = _DIRECTIVE.match(line)
        if match is None:
            raise ConfError(source, number, f"unknown directive: {line!r}")
        if match.group("name") == "exec":
            raise ConfError(source, number, "#exec runs a program; it is not supported here")
        arg = match.group("arg").strip()
        if len(arg) >= 2 and arg[0] + arg[-1] in ('""', "<>"):
            arg = arg[1:-1]
        if self.include_reader is None:
            raise ConfError(source, number, f"cannot follow #{match.group('name')} {arg}")
        found = self.include_reader(arg, source)
        if found is None:
            if match.group("name") == "tryinclude":
                self.missing.append(arg)
                return
            raise ConfError(source, number, f"included file not found: {arg}")
        self.parse(*found)


def _logical_lines(text: str, source: str) -> Iterator[tuple[int, str]]:
    """(line number, content) with comments removed and blank lines skipped."""
    in_block = False
    block_start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        out: list[str] = []
        i = 0
        while i < len(raw):
            if in_block:
                end = raw.find("--;", i)
                if end < 0:
                    i = len(raw)
                    continue
                in_block, i = False, end + 3
                continue
            char = raw[i]
            if char == "\\" and raw.startswith("\\;", i):
                out.append(";")
                i += 2
            elif char == ";":
                if raw.startswith(";--", i):
                    in_block, block_start, i = True, number, i + 3
                    continue
                break
            else:
                out.append(char)
                i += 1
        line = "".join(out).strip()
        if line:
            yield number, line
    if in_block:
        raise ConfError(source, block_start, "block comment ';--' is never closed with '--;'")


# Dialplan ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DialplanStep:
    """One priority of an extension: an application and its data."""

    context: str
    exten: str
    priority: int
    label: str | None
    app: str
    data: str
    source: str
    line: int

    @property
    def where(self) -> str:
        """``file:line (context,exten,priority)`` for error messages."""
        return f"{self.source}:{self.line} ({self.context},{self.exten},{self.priority})"


@dataclass(frozen=True, slots=True)
class Extension:
    """An extension (or pattern) and its priorities, in ascending order."""

    name: str
    steps: tuple[DialplanStep, ...]

    def step(self, priority: int) -> DialplanStep | None:
        """The step at ``priority``."""
        return next((s for s in self.steps if s.priority == priority), None)

    def labelled(self, label: str) -> DialplanStep | None:
        """The step named ``label``."""
        return next((s for s in self.steps if s.label == label), None)


@dataclass(frozen=True, slots=True)
class Context:
    """A dialplan context."""

    name: str
    extensions: Mapping[str, Extension]
    includes: tuple[str, ...]
    source: str
    line: int

    def match(self, exten: str) -> Extension | None:
        """The extension Asterisk would run for ``exten``: exact names before patterns."""
        if exten in self.extensions:
            return self.extensions[exten]
        patterns = [e for name, e in self.extensions.items() if name.startswith("_")]
        matching = [e for e in patterns if extension_matches(e.name, exten)]
        # Asterisk prefers the most specific pattern; a shorter regex body is a fair proxy
        # for the few patterns a voicebot dialplan has.
        return min(
            matching, key=lambda e: (e.name.count(".") + e.name.count("!"), e.name), default=None
        )

    def steps(self) -> Iterator[DialplanStep]:
        """Every step of every extension."""
        for extension in self.extensions.values():
            yield from extension.steps


@dataclass(frozen=True, slots=True)
class Dialplan:
    """The contexts of extensions.conf plus its [general] and [globals] settings."""

    contexts: Mapping[str, Context]
    globals: Mapping[str, str]
    general: Mapping[str, str]

    def context(self, name: str) -> Context:
        """The context called ``name``; ``KeyError`` naming it if absent."""
        try:
            return self.contexts[name]
        except KeyError:
            raise KeyError(f"no dialplan context [{name}]") from None

    def steps(self) -> Iterator[DialplanStep]:
        """Every step of every context."""
        for context in self.contexts.values():
            yield from context.steps()


def parse_dialplan(conf: ConfFile) -> Dialplan:
    """Build the dialplan from a parsed extensions.conf (templates and additions applied)."""
    contexts: dict[str, Context] = {}
    globals_: dict[str, str] = {}
    general: dict[str, str] = {}
    for section in conf.sections:
        if section.is_template or section.is_addition:
            continue
        resolved = conf.resolve(section)
        if section.name in _DIALPLAN_SPECIAL:
            target = globals_ if section.name == "globals" else general
            target.update({s.name: s.value for s in resolved.settings})
            continue
        if section.name in contexts:
            raise ConfError(section.source, section.line, f"context [{section.name}] defined twice")
        contexts[section.name] = _build_context(resolved)
    return Dialplan(contexts, globals_, general)


def _build_context(section: Section) -> Context:
    steps: dict[str, list[DialplanStep]] = {}
    includes: list[str] = []
    last: tuple[str, int] | None = None
    for setting in section.settings:
        kind = setting.name.lower()
        if kind == "include":
            includes.append(setting.value)
            continue
        if kind not in ("exten", "same"):
            raise ConfError(
                setting.source, setting.line, f"unexpected {setting.name!r} in a dialplan context"
            )
        if kind == "same":
            if last is None:
                raise ConfError(setting.source, setting.line, "'same =>' without a previous exten")
            exten, prio_text, app_text = (last[0], *_split_same(setting))
        else:
            exten, prio_text, app_text = _split_exten(setting)
        previous = last[1] if last is not None and last[0] == exten else None
        parsed = _priority(prio_text, previous, setting)
        if parsed is None:  # hint: a device state mapping, not an application
            continue
        priority, label = parsed
        app, data = split_app(app_text, setting.source, setting.line)
        existing = steps.setdefault(exten, [])
        if any(s.priority == priority for s in existing):
            raise ConfError(
                setting.source, setting.line, f"{exten} priority {priority} defined twice"
            )
        if label and any(s.label == label for s in existing):
            raise ConfError(setting.source, setting.line, f"{exten} label {label!r} defined twice")
        existing.append(
            DialplanStep(
                section.name, exten, priority, label, app, data, setting.source, setting.line
            )
        )
        last = (exten, priority)
    extensions = {
        name: Extension(name, tuple(sorted(items, key=lambda s: s.priority)))
        for name, items in steps.items()
    }
    return Context(section.name, extensions, tuple(includes), section.source, section.line)


def _split_exten(setting: Setting) -> tuple[str, str, str]:
    parts = setting.value.split(",", 2)
    if len(parts) < 3 and not (len(parts) == 2 and parts[1].strip().startswith("hint")):
        raise ConfError(
            setting.source,
            setting.line,
            f"expected 'exten => name,priority,App(...)': {setting.value!r}",
        )
    name = parts[0].strip()
    if not name:
        raise ConfError(setting.source, setting.line, "extension name is empty")
    return name, parts[1].strip(), parts[2].strip() if len(parts) > 2 else ""


def _split_same(setting: Setting) -> tuple[str, str]:
    prio, sep, app = setting.value.partition(",")
    if not sep:
        raise ConfError(
            setting.source, setting.line, f"expected 'same => priority,App(...)': {setting.value!r}"
        )
    return prio.strip(), app.strip()


def _priority(text: str, previous: int | None, setting: Setting) -> tuple[int, str | None] | None:
    match = _PRIORITY.match(text)
    if match is None:
        raise ConfError(setting.source, setting.line, f"invalid priority {text!r}")
    base = match.group("base")
    if base == "hint":
        return None
    if base.startswith("n"):
        if previous is None:
            raise ConfError(
                setting.source, setting.line, f"priority {text!r} has no previous priority"
            )
        priority = previous + 1 + int(match.group("plus") or 0)
    else:
        priority = int(base)
        if priority < 1:
            raise ConfError(setting.source, setting.line, "priorities start at 1")
    return priority, match.group("label") or None


def split_app(text: str, source: str = "<string>", line: int = 0) -> tuple[str, str]:
    """``App(data)`` -> (``App``, ``data``); ``App`` alone has empty data."""
    open_at = text.find("(")
    if open_at < 0:
        name, data = text.strip(), ""
    else:
        if not text.rstrip().endswith(")"):
            raise ConfError(source, line, f"application call is not closed with ')': {text!r}")
        name, data = text[:open_at].strip(), text[open_at + 1 : text.rstrip().rfind(")")]
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
        raise ConfError(source, line, f"invalid application name {name!r} in {text!r}")
    return name, data


def split_args(data: str, sep: str = ",") -> list[str]:
    """Split application data like ast_app_separate_args(): not inside (), [], {} or quotes."""
    parts: list[str] = []
    depth = 0
    quoted = False
    current: list[str] = []
    i = 0
    while i < len(data):
        char = data[i]
        if char == "\\" and i + 1 < len(data):
            current.append(data[i : i + 2])
            i += 2
            continue
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "([{":
            depth += 1
        elif not quoted and char in ")]}":
            depth = max(0, depth - 1)
        elif char == sep and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
            i += 1
            continue
        current.append(char)
        i += 1
    parts.append("".join(current))
    return parts


def variable_references(text: str) -> tuple[set[str], set[str]]:
    """(variables, functions) named in ``${...}`` references, nested ones included."""
    variables: set[str] = set()
    functions: set[str] = set()
    for inner in _references(text):
        head = re.match(r"[A-Za-z_][A-Za-z0-9_]*", inner)
        if head is None:
            continue  # ${${A}} indirection: the inner reference is reported by itself
        rest = inner[head.end() :]
        (functions if rest.startswith("(") else variables).add(head.group())
    return variables, functions


def _references(text: str) -> Iterator[str]:
    i = 0
    while (start := text.find("${", i)) >= 0:
        depth, j = 1, start + 2
        while j < len(text) and depth:
            if text.startswith("${", j):
                depth, j = depth + 1, j + 2
                continue
            if text[j] == "}":
                depth -= 1
            j += 1
        inner = text[start + 2 : j - 1] if depth == 0 else text[start + 2 :]
        yield inner
        yield from _references(inner)
        i = j


def substitute(text: str, variables: Mapping[str, str]) -> str:
    """Replace plain ``${NAME}`` references found in ``variables``; leave the rest as is."""

    def replace(match: re.Match[str]) -> str:
        return variables.get(match.group(1), match.group(0))

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", replace, text)


def extension_matches(pattern: str, exten: str) -> bool:
    """Whether dialplan extension ``pattern`` (``_X.``, ``_[+0-9]!``, or a literal) matches."""
    if not pattern.startswith("_"):
        return pattern == exten
    regex: list[str] = []
    body = pattern[1:]
    i = 0
    while i < len(body):
        char = body[i]
        if char == "[":
            end = body.find("]", i)
            if end < 0:
                raise ValueError(f"unclosed '[' in extension pattern {pattern!r}")
            regex.append("[" + re.sub(r"([\\^\]])", r"\\\1", body[i + 1 : end]) + "]")
            i = end + 1
            continue
        regex.append(
            {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}.get(
                char.upper() if char in "xzn" else char, re.escape(char)
            )
        )
        i += 1
    return re.fullmatch("".join(regex), exten) is not None


@dataclass(frozen=True, slots=True)
class GotoTarget:
    """Where a Goto/GotoIf/Gosub step may send the channel (None parts: unchanged)."""

    context: str | None
    exten: str | None
    priority: str
    """A priority number or a label."""


def goto_targets(step: DialplanStep) -> list[GotoTarget]:
    """Destinations of a Goto or GotoIf step (both branches of GotoIf); [] for other apps."""
    app = step.app.lower()
    if app == "goto":
        labels = [step.data]
    elif app == "gotoif":
        _, question, branches = step.data.partition("?")
        if not question:
            raise ValueError(f"{step.where}: GotoIf without '?': {step.data!r}")
        labels = [b for b in split_args(branches, ":") if b.strip()]
    else:
        return []
    targets: list[GotoTarget] = []
    for label in labels:
        parts = [p.strip() for p in split_args(label)]
        if not 1 <= len(parts) <= 3 or not all(parts):
            raise ValueError(f"{step.where}: bad Goto target {label!r}")
        context = parts[-3] if len(parts) == 3 else None
        exten = parts[-2] if len(parts) >= 2 else None
        targets.append(GotoTarget(context, exten, parts[-1]))
    return targets
