"""The KB as documents: the model written back as data, and the edits the API and the
learning loop make to a document (in place, so a round-trip document keeps its comments)."""

from __future__ import annotations

import copy
import re
import unicodedata
from typing import Any

from voicebot.knowledge.editing import merge_patch as merge_in_place
from voicebot.knowledge.editing import to_yaml
from voicebot.knowledge.model import (
    WEEKDAYS,
    Department,
    FaqEntry,
    KnowledgeBase,
    MenuGroup,
    OpeningHours,
    TimeRange,
)

MAX_PHRASE_LENGTH = 300
"""A spoken request is short; anything longer is not an example worth teaching."""
OPERATOR_TARGET = "operator"


class KbEntryNotFoundError(LookupError):
    """No FAQ entry or department has the given id."""


# --- model → document ---------------------------------------------------------------------


def _range_text(item: TimeRange) -> str:
    end = "24:00" if (item.end.hour, item.end.minute, item.end.second) == (23, 59, 59) else None
    return f"{item.start:%H:%M}-{end or format(item.end, '%H:%M')}"


def _hours_data(hours: OpeningHours) -> Any:
    if hours.always_open:
        return "always"
    data: dict[str, Any] = {
        day: [_range_text(r) for r in hours.weekly[day]] for day in WEEKDAYS if day in hours.weekly
    }
    if hours.exceptions:
        data["exceptions"] = [
            {"date": day.isoformat(), "hours": [_range_text(r) for r in ranges]}
            for day, ranges in sorted(hours.exceptions.items())
        ]
    return data


def _phrases(phrases: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    return {lang: list(items) for lang, items in phrases.items()}


def department_data(dept: Department) -> dict[str, Any]:
    """A department as it is written in the KB file."""
    data: dict[str, Any] = {"id": dept.id, "extension": dept.extension}
    if dept.dtmf is not None:
        data["dtmf"] = dept.dtmf
    data.update(
        name=dict(dept.name),
        description=dict(dept.description),
        hours=_hours_data(dept.hours),
    )
    if dept.services:
        data["services"] = list(dept.services)
    if dept.examples:
        data["examples"] = _phrases(dept.examples)
    return data


def faq_data(entry: FaqEntry) -> dict[str, Any]:
    """An FAQ entry as it is written in the KB file."""
    data: dict[str, Any] = {"id": entry.id}
    if entry.department is not None:
        data["department"] = entry.department
    if entry.intent is not None:
        data["intent"] = entry.intent
    data.update(questions=_phrases(entry.questions), answer=dict(entry.answer))
    if entry.details:
        data["details"] = dict(entry.details)
    return data


def menu_data(group: MenuGroup) -> dict[str, Any]:
    """A keypad menu group as it is written in the KB file."""
    return {
        "id": group.id,
        "dtmf": group.dtmf,
        "name": dict(group.name),
        "departments": list(group.departments),
    }


def kb_to_data(kb: KnowledgeBase) -> dict[str, Any]:
    """The KB as a document the loader accepts (``build_kb(kb_to_data(kb))`` equals ``kb``)."""
    city: dict[str, Any] = {
        "name": dict(kb.city.name),
        "default_language": kb.city.default_language,
        "languages": list(kb.city.languages),
        "timezone": kb.city.timezone,
    }
    if kb.city.holidays:
        city["holidays"] = sorted(day.isoformat() for day in kb.city.holidays)
    data: dict[str, Any] = {
        "city": city,
        "operator": {
            "extension": kb.operator.extension,
            "name": dict(kb.operator.name),
            "hours": _hours_data(kb.operator.hours),
            "examples": _phrases(kb.operator.examples),
        },
        "departments": [department_data(d) for d in kb.departments],
        "faq": [faq_data(f) for f in kb.faq],
    }
    if kb.menu:
        data["menu"] = [menu_data(group) for group in kb.menu]
    return data


# --- edits of a document (in place) -------------------------------------------------------


def _index(items: list[Any], kind: str, item_id: str) -> int:
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get("id") == item_id:
            return index
    raise KbEntryNotFoundError(f"no {kind} with id {item_id!r}")


def _section(document: dict[str, Any], name: str) -> list[Any]:
    items = document.get(name)
    if items is None:
        items = document[name] = to_yaml([])
    if not isinstance(items, list):
        raise ValueError(f"{name}: must be a list")
    return items


def put_entry(document: dict[str, Any], section: str, entry: dict[str, Any]) -> None:
    """Create or replace the entry ``entry["id"]`` of ``section`` (faq or departments)."""
    items = _section(document, section)
    node = to_yaml(copy.deepcopy(entry))
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get("id") == entry.get("id"):
            items[index] = node
            return
    items.append(node)


def patch_entry(
    document: dict[str, Any], section: str, kind: str, item_id: str, patch: dict[str, Any]
) -> None:
    """Merge-patch (RFC 7396) one entry in place: what the patch does not touch keeps its
    comments and layout."""
    if "id" in patch and patch["id"] != item_id:
        raise ValueError(f"id: cannot be changed by a patch (is {item_id!r})")
    items = _section(document, section)
    index = _index(items, kind, item_id)
    items[index] = merge_in_place(items[index], patch)


def delete_entry(document: dict[str, Any], section: str, kind: str, item_id: str) -> None:
    """Remove one entry."""
    items = _section(document, section)
    del items[_index(items, kind, item_id)]


_SPACES = re.compile(r"\s+")


def clean_phrase(phrase: str) -> str:
    """A phrase as the KB keeps it: one line, single spaces, trimmed; ValueError if empty,
    too long or holding control characters."""
    text = _SPACES.sub(" ", phrase).strip()
    if not text:
        raise ValueError("phrase: must not be empty")
    if len(text) > MAX_PHRASE_LENGTH:
        raise ValueError(f"phrase: at most {MAX_PHRASE_LENGTH} characters")
    if any(not ch.isprintable() for ch in text):
        raise ValueError("phrase: must not contain control characters")
    return text


def _phrase_lists(document: dict[str, Any]) -> list[tuple[str, str, list[Any]]]:
    """Every (target, language, phrases) of the document: examples and FAQ questions."""
    found: list[tuple[str, str, list[Any]]] = []
    operator = document.get("operator")
    if isinstance(operator, dict) and isinstance(operator.get("examples"), dict):
        for lang, items in operator["examples"].items():
            found.append((OPERATOR_TARGET, str(lang), items))
    for dept in document.get("departments") or []:
        if isinstance(dept, dict) and isinstance(dept.get("examples"), dict):
            for lang, items in dept["examples"].items():
                found.append((str(dept.get("id")), str(lang), items))
    for entry in document.get("faq") or []:
        if isinstance(entry, dict) and isinstance(entry.get("questions"), dict):
            for lang, items in entry["questions"].items():
                found.append((f"faq:{entry.get('id')}", str(lang), items))
    return found


def _holder(document: dict[str, Any], target: str) -> tuple[dict[str, Any], str]:
    """The mapping that holds ``target``'s phrases, and the key of its phrase lists."""
    if target == OPERATOR_TARGET:
        operator = document.get("operator")
        if not isinstance(operator, dict):
            raise KbEntryNotFoundError("the KB has no operator section")
        return operator, "examples"
    if target.startswith("faq:"):
        entries = _section(document, "faq")
        return entries[_index(entries, "FAQ entry", target[4:])], "questions"
    departments = _section(document, "departments")
    return departments[_index(departments, "department", target)], "examples"


def add_phrase(document: dict[str, Any], target: str, language: str, phrase: str) -> str:
    """Teach the KB that callers say ``phrase`` for ``target`` (a department id,
    ``faq:<id>`` or ``operator``); returns the phrase as stored.

    Refused (ValueError) when the phrase is already an example, of this target or another
    one: the same words for two targets would only blur both.
    """
    text = clean_phrase(phrase)
    folded = text.casefold()
    for other, _lang, items in _phrase_lists(document):
        if any(isinstance(item, str) and item.strip().casefold() == folded for item in items):
            where = "this target" if other == target else other
            raise ValueError(f"phrase: {text!r} is already an example of {where}")
    holder, key = _holder(document, target)
    phrases = holder.get(key)
    if not isinstance(phrases, dict):
        phrases = holder[key] = to_yaml({})
    listed = phrases.get(language)
    if not isinstance(listed, list):
        listed = phrases[language] = to_yaml([])
    listed.append(to_yaml(text))
    return text


def new_faq(
    document: dict[str, Any],
    faq_id: str,
    questions: dict[str, list[str]],
    answer: dict[str, str],
    department: str | None = None,
) -> None:
    """Add an FAQ entry (its questions cleaned like examples); the loader then checks that
    every offered language has an answer and the id is free."""
    items = _section(document, "faq")
    if any(isinstance(item, dict) and item.get("id") == faq_id for item in items):
        raise ValueError(f"id: an FAQ entry {faq_id!r} already exists")
    entry: dict[str, Any] = {"id": faq_id}
    if department is not None:
        entry["department"] = department
    entry["questions"] = {
        lang: [clean_phrase(q) for q in phrases] for lang, phrases in questions.items()
    }
    entry["answer"] = {lang: text.strip() for lang, text in answer.items()}
    items.append(to_yaml(entry))


def target_name(kb: KnowledgeBase, label: str, language: str | None = None) -> str:
    """A target's name for people: department and operator names, an FAQ entry's first
    question (in ``language``, else the city's default language); the label if unknown."""
    langs = [lang for lang in (language, kb.city.default_language) if lang]

    def pick(texts: dict[str, str]) -> str | None:
        for lang in langs:
            if texts.get(lang):
                return texts[lang]
        return next(iter(texts.values()), None)

    if label == OPERATOR_TARGET:
        return pick(dict(kb.operator.name)) or label
    if label.startswith("faq:"):
        for entry in kb.faq:
            if entry.id == label[4:]:
                return pick({k: v[0] for k, v in entry.questions.items() if v}) or label
        return label
    for dept in kb.departments:
        if dept.id == label:
            return pick(dict(dept.name)) or label
    return label


_SLUG = re.compile(r"[^a-z0-9]+")


def faq_id_from(question: str, taken: set[str]) -> str:
    """An FAQ id made from a question (``ou_puis_je_me_garer``), not one of ``taken``."""
    folded = unicodedata.normalize("NFKD", question.casefold())
    ascii_only = "".join(ch for ch in folded if not unicodedata.combining(ch))
    base = _SLUG.sub("_", ascii_only).strip("_")[:40].strip("_") or "question"
    if not base[0].isalpha():
        base = f"q_{base}"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    return candidate
