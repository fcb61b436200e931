"""Load a city knowledge base from YAML, validate it, and report errors by file, line and field.

Validation happens in two layers: the published JSON Schema (``kb.schema.json``) for
shape, then cross-field checks the schema cannot express (unique ids and extensions,
every offered language present, references between entries).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, time
from difflib import get_close_matches
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from voicebot import safe_yaml
from voicebot.knowledge.catalogue_loader import catalogue_available, load_catalogue
from voicebot.knowledge.catalogue_model import Catalogue
from voicebot.knowledge.keypad import KeypadError, build_keypad
from voicebot.knowledge.model import (
    WEEKDAYS,
    City,
    Department,
    FaqEntry,
    KnowledgeBase,
    MenuGroup,
    OpeningHours,
    Operator,
    TimeRange,
)
from voicebot.knowledge.yaml_source import (
    JsonPath,
    check_against_schema,
    field_name,
    line_of,
    read_yaml,
)
from voicebot.knowledge.yaml_source import KnowledgeBaseError as KnowledgeBaseError
from voicebot.safe_yaml import YamlRefusedError


@cache
def kb_schema() -> dict[str, Any]:
    """The published JSON Schema of the knowledge base format."""
    text = resources.files("voicebot.knowledge").joinpath("kb.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_kb(path: str | Path, catalogue: Catalogue | None = None) -> KnowledgeBase:
    """Read, validate and build the knowledge base stored at ``path``."""
    return parse_kb(read_kb_text(path), str(path), catalogue)


def read_kb_text(path: str | Path) -> str:
    """A KB file's text, refused unread beyond the YAML size limit (``voicebot.safe_yaml``)."""
    source = str(path)
    try:
        return safe_yaml.read_text(Path(path))
    except YamlRefusedError as exc:
        raise KnowledgeBaseError(source, exc.line, "", exc.problem) from None
    except FileNotFoundError:
        raise KnowledgeBaseError(source, None, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeBaseError(source, None, "", f"cannot read file: {exc}") from None


def parse_kb(
    text: str, source: str = "<string>", catalogue: Catalogue | None = None
) -> KnowledgeBase:
    """Validate and build a knowledge base from YAML text."""
    data, lines = read_yaml(text, source)
    return build_kb(data, source, lines, catalogue)


def build_kb(
    data: Any,
    source: str = "<data>",
    lines: Mapping[JsonPath, int] | None = None,
    catalogue: Catalogue | None = None,
) -> KnowledgeBase:
    """Validate already-parsed KB data (e.g. from the API) and build the model.

    Catalogue links are checked against ``catalogue`` (default: the shipped one).
    """
    lines = lines or {}
    check_against_schema(data, kb_schema(), source, lines)
    _check_consistency(data, source, lines, catalogue)
    kb = _build(data, source)
    try:
        build_keypad(kb)
    except KeypadError as exc:
        path = ("menu",) if "menu" in data else ("departments",)
        raise KnowledgeBaseError(source, line_of(lines, path), field_name(path), str(exc)) from None
    return kb


def sample_kb_path() -> Path:
    """The sample knowledge base shipped with the package."""
    ref = resources.files("voicebot.knowledge").joinpath("samples/woluwe-saint-pierre.yaml")
    return Path(str(ref))


def content_hash(data: Any) -> str:
    """A stable hash of KB content, independent of YAML formatting and key order."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- Cross-field checks -----------------------------------------------------------------


def _check_consistency(
    data: dict[str, Any],
    source: str,
    lines: Mapping[JsonPath, int],
    catalogue: Catalogue | None = None,
) -> None:
    def fail(path: Sequence[str | int], problem: str) -> None:
        raise KnowledgeBaseError(source, line_of(lines, path), field_name(path), problem)

    city = data["city"]
    languages: list[str] = city["languages"]
    if city["default_language"] not in languages:
        fail(("city", "default_language"), "must be one of city.languages")
    try:
        ZoneInfo(city["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        fail(("city", "timezone"), f"unknown time zone {city['timezone']!r}")
    for index, day in enumerate(city.get("holidays", [])):
        _check_date(day, ("city", "holidays", index), fail)

    for path, texts, complete in _multilingual_fields(data):
        for lang in languages:
            if complete and lang not in texts:
                fail(path, f"language {lang!r} missing (city.languages offers it)")
        for lang in texts:
            if lang not in languages:
                fail((*path, lang), f"language {lang!r} is not in city.languages")

    extensions: dict[str, JsonPath] = {data["operator"]["extension"]: ("operator", "extension")}
    for kind in ("departments", "faq"):
        seen: set[str] = set()
        for index, entry in enumerate(data[kind]):
            if entry["id"] in seen:
                fail((kind, index, "id"), f"duplicate id {entry['id']!r}")
            seen.add(entry["id"])
    dtmf_seen: set[str] = set()
    department_ids = {d["id"] for d in data["departments"]}
    if "operator" in department_ids:
        index = [d["id"] for d in data["departments"]].index("operator")
        fail(("departments", index, "id"), "'operator' is reserved for the operator desk")
    for index, dept in enumerate(data["departments"]):
        ext = dept["extension"]
        if ext in extensions:
            other = field_name(extensions[ext])
            fail(("departments", index, "extension"), f"extension {ext} already used by {other}")
        extensions[ext] = ("departments", index, "extension")
        if "dtmf" in dept:
            if dept["dtmf"] in dtmf_seen:
                fail(("departments", index, "dtmf"), f"DTMF digit {dept['dtmf']} used twice")
            dtmf_seen.add(dept["dtmf"])
        _check_hours(dept["hours"], ("departments", index, "hours"), fail)
    if isinstance(data["operator"].get("hours"), dict):
        _check_hours(data["operator"]["hours"], ("operator", "hours"), fail)
    for index, entry in enumerate(data["faq"]):
        if "department" in entry and entry["department"] not in department_ids:
            fail(("faq", index, "department"), f"unknown department {entry['department']!r}")
    _check_menu(data, fail)
    _check_links(data, fail, catalogue)


def _check_menu(data: dict[str, Any], fail: Any) -> None:
    """Menu groups: own digits and ids, known departments, each reachable by one key only."""
    digits: dict[str, JsonPath] = {
        d["dtmf"]: ("departments", i, "dtmf")
        for i, d in enumerate(data["departments"])
        if "dtmf" in d
    }
    direct = {d["id"] for d in data["departments"] if "dtmf" in d}
    known = {d["id"] for d in data["departments"]}
    group_ids: set[str] = set()
    grouped: dict[str, JsonPath] = {}
    for index, group in enumerate(data.get("menu", [])):
        if group["id"] in group_ids:
            fail(("menu", index, "id"), f"duplicate id {group['id']!r}")
        group_ids.add(group["id"])
        if group["dtmf"] in digits:
            other = field_name(digits[group["dtmf"]])
            fail(("menu", index, "dtmf"), f"DTMF digit {group['dtmf']} already used by {other}")
        digits[group["dtmf"]] = ("menu", index, "dtmf")
        for d_index, department in enumerate(group["departments"]):
            path = ("menu", index, "departments", d_index)
            if department not in known:
                fail(path, _unknown_id("department", department, sorted(known)))
            if department in direct:
                fail(path, f"{department!r} has its own dtmf digit: list it in one place only")
            if department in grouped:
                fail(path, f"{department!r} is already in {field_name(grouped[department])}")
            grouped[department] = path


def _check_links(data: dict[str, Any], fail: Any, catalogue: Catalogue | None) -> None:
    """Declared catalogue services and FAQ intents must exist in the catalogue."""
    declared = any("services" in d for d in data["departments"]) or any(
        "intent" in f for f in data["faq"]
    )
    if not declared:
        return
    if catalogue is None:
        if not catalogue_available():
            fail((), "the KB links to catalogue services but no catalogue is installed")
        catalogue = load_catalogue()
    services, intents = catalogue.service_ids, catalogue.intent_ids
    # An intent with a service names a part of that service ("services: [id_card,
    # passport]" for an identity-documents department): routing/service_parts.py.
    parts = tuple(i.id for i in catalogue.faq_intents if i.service)
    for index, dept in enumerate(data["departments"]):
        for s_index, service in enumerate(dept.get("services", [])):
            if service not in services and service not in parts:
                problem = _unknown_id("catalogue service", service, services + parts)
                fail(("departments", index, "services", s_index), problem)
    for index, entry in enumerate(data["faq"]):
        if "intent" in entry and entry["intent"] not in intents:
            fail(
                ("faq", index, "intent"),
                _unknown_id("catalogue FAQ intent", entry["intent"], intents),
            )


def _unknown_id(kind: str, value: str, known: Sequence[str]) -> str:
    close = get_close_matches(value, known, n=1)
    return f"unknown {kind} {value!r}" + (f" (did you mean {close[0]!r}?)" if close else "")


def _multilingual_fields(
    data: dict[str, Any],
) -> Iterator[tuple[JsonPath, dict[str, Any], bool]]:
    """Each per-language field, and whether it must have every offered language.

    Example phrases may cover only some languages (or none): a department linked to
    catalogue services gets the other languages' phrases from the catalogue, and one
    without links still has its name and description.
    """
    yield ("city", "name"), data["city"]["name"], True
    yield ("operator", "name"), data["operator"]["name"], True
    yield ("operator", "examples"), data["operator"]["examples"], True
    for index, dept in enumerate(data["departments"]):
        yield ("departments", index, "name"), dept["name"], True
        yield ("departments", index, "description"), dept["description"], True
        if "examples" in dept:
            yield ("departments", index, "examples"), dept["examples"], False
    for index, entry in enumerate(data["faq"]):
        yield ("faq", index, "questions"), entry["questions"], True
        yield ("faq", index, "answer"), entry["answer"], True
        if "details" in entry:
            yield ("faq", index, "details"), entry["details"], True
    for index, group in enumerate(data.get("menu", [])):
        yield ("menu", index, "name"), group["name"], True


def _check_date(value: str, path: JsonPath, fail: Any) -> None:
    try:
        date.fromisoformat(value)
    except ValueError:
        fail(path, f"{value!r} is not a valid date (YYYY-MM-DD)")


def _check_hours(hours: Any, path: JsonPath, fail: Any) -> None:
    if not isinstance(hours, dict):
        return
    for day in WEEKDAYS:
        for index, text in enumerate(hours.get(day, [])):
            if _parse_range(text) is None:
                fail((*path, day, index), f"{text!r}: the opening must come before the closing")
    for index, exception in enumerate(hours.get("exceptions", [])):
        _check_date(exception["date"], (*path, "exceptions", index, "date"), fail)
        for r_index, text in enumerate(exception["hours"]):
            if _parse_range(text) is None:
                fail(
                    (*path, "exceptions", index, "hours", r_index),
                    f"{text!r}: the opening must come before the closing",
                )


def _parse_range(text: str) -> TimeRange | None:
    start_text, end_text = text.split("-")
    start = _parse_time(start_text)
    end = _parse_time(end_text)
    return TimeRange(start, end) if start < end else None


def _parse_time(text: str) -> time:
    hour, minute = (int(part) for part in text.split(":"))
    return time(23, 59, 59) if hour == 24 else time(hour, minute)


# --- Building the model -----------------------------------------------------------------


def _build(data: dict[str, Any], source: str) -> KnowledgeBase:
    city = data["city"]
    operator = data["operator"]
    return KnowledgeBase(
        city=City(
            name=dict(city["name"]),
            default_language=city["default_language"],
            languages=tuple(city["languages"]),
            timezone=city["timezone"],
            holidays=frozenset(date.fromisoformat(d) for d in city.get("holidays", [])),
        ),
        operator=Operator(
            extension=operator["extension"],
            name=dict(operator["name"]),
            hours=_build_hours(operator.get("hours", "always")),
            examples=_phrases(operator["examples"]),
        ),
        departments=tuple(
            Department(
                id=dept["id"],
                extension=dept["extension"],
                name=dict(dept["name"]),
                description=dict(dept["description"]),
                hours=_build_hours(dept["hours"]),
                examples=_phrases(dept.get("examples", {})),
                dtmf=dept.get("dtmf"),
                services=tuple(dept.get("services", ())),
            )
            for dept in data["departments"]
        ),
        faq=tuple(
            FaqEntry(
                id=entry["id"],
                questions=_phrases(entry["questions"]),
                answer=dict(entry["answer"]),
                department=entry.get("department"),
                intent=entry.get("intent"),
                details=dict(entry.get("details", {})),
            )
            for entry in data["faq"]
        ),
        menu=tuple(
            MenuGroup(
                id=group["id"],
                dtmf=group["dtmf"],
                name=dict(group["name"]),
                departments=tuple(group["departments"]),
            )
            for group in data.get("menu", [])
        ),
        source=source,
        content_hash=content_hash(data),
    )


def _phrases(raw: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
    return {lang: tuple(items) for lang, items in raw.items()}


def _build_hours(raw: Any) -> OpeningHours:
    if raw == "always":
        return OpeningHours(always_open=True)
    weekly = {day: _ranges(raw[day]) for day in WEEKDAYS if day in raw}
    exceptions = {
        date.fromisoformat(item["date"]): _ranges(item["hours"])
        for item in raw.get("exceptions", [])
    }
    return OpeningHours(weekly=weekly, exceptions=exceptions)


def _ranges(texts: list[str]) -> tuple[TimeRange, ...]:
    ranges = []
    for text in texts:
        parsed = _parse_range(text)
        if parsed is not None:
            ranges.append(parsed)
    return tuple(ranges)
