"""Load the municipal service catalogue and validate it like a KB: ``file:line: field: problem``.

Layout (``voicebot/knowledge/catalogue/``; /work/coord/catalogue-format.md)::

    services.yaml              ids, names and descriptions (catalogue-services.schema.json)
    examples/<lang>.yaml       caller phrases of one language (catalogue-examples.schema.json)
    examples/<lang>/*.yaml     the same, split over several files (merged in name order)

Both forms of ``examples`` are accepted: writers split long languages by theme. Shape is
checked by the JSON Schemas, then references (ids known, in the right section, an FAQ
intent's service a real service, a near miss going to a known id or ``none``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from voicebot.knowledge.catalogue_model import (
    NOWHERE,
    Catalogue,
    CatalogueEntry,
    EntryKind,
    NearMiss,
)
from voicebot.knowledge.yaml_source import (
    JsonPath,
    KnowledgeBaseError,
    check_against_schema,
    field_name,
    line_of,
    read_yaml,
)
from voicebot.pickle_cache import load_pickle, save_pickle

_LANGUAGE = re.compile(r"[a-z]{2}")


class CatalogueError(KnowledgeBaseError):
    """A catalogue file is unusable; one line: ``file:line: field: problem``."""


@dataclass(frozen=True, slots=True)
class _Document:
    data: Any
    lines: dict[JsonPath, int]
    source: str
    language: str = ""


def default_catalogue_dir() -> Path:
    """The catalogue shipped with the package."""
    return Path(str(resources.files("voicebot.knowledge").joinpath("catalogue")))


@cache
def _schema(name: str) -> dict[str, Any]:
    text = resources.files("voicebot.knowledge").joinpath(name).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _shipped() -> Catalogue:
    return _load(default_catalogue_dir())


LOADER_FORMAT = 1
"""Bump when loading or validation changes: it keys the cached catalogue."""


def load_catalogue(directory: str | Path | None = None, cache_dir: Path | None = None) -> Catalogue:
    """Read and validate the catalogue in ``directory``; the shipped one is read once.

    With ``cache_dir``, a catalogue already validated with the same file contents is read
    from a pickle there: parsing and validating its ten thousand phrases takes seconds,
    which a router's cached build (a restart, a KB reload) must not spend.
    """
    if directory is None and (cache_dir is None or _shipped.cache_info().currsize):
        return _shipped()
    folder = Path(directory) if directory is not None else default_catalogue_dir()
    if cache_dir is None:
        return _load(folder)
    path = cache_dir / f"catalogue-{_files_key(folder)}.pkl"
    cached = load_pickle(path)
    if isinstance(cached, Catalogue):
        return cached
    catalogue = _load(folder)
    save_pickle(path, catalogue)
    return catalogue


def _files_key(directory: Path) -> str:
    digest = hashlib.sha256(f"{LOADER_FORMAT}\0".encode())
    for schema in ("catalogue-services.schema.json", "catalogue-examples.schema.json"):
        digest.update(json.dumps(_schema(schema), sort_keys=True).encode())
    for path in [directory / "services.yaml", *(p for _, p in _example_files(directory))]:
        for file in sorted(path.rglob("*.yaml")) if path.is_dir() else [path]:
            digest.update(f"{file.relative_to(directory)}\0".encode())
            digest.update(file.read_bytes() if file.is_file() else b"")
    return digest.hexdigest()[:32]


def catalogue_available(directory: str | Path | None = None) -> bool:
    """Whether ``directory`` (default: the shipped one) holds a ``services.yaml``."""
    return (Path(directory or default_catalogue_dir()) / "services.yaml").is_file()


def _load(directory: Path) -> Catalogue:
    services_doc, example_docs = _documents(directory)
    _check_references(services_doc, example_docs)
    return _build(services_doc, example_docs, directory)


def _documents(directory: Path) -> tuple[_Document, list[_Document]]:
    services_doc = _read(directory / "services.yaml")
    _check_shape(services_doc, "catalogue-services.schema.json")
    example_docs = [_read(path, language) for language, path in _example_files(directory)]
    for doc in example_docs:
        _check_shape(doc, "catalogue-examples.schema.json")
    return services_doc, example_docs


def _check_shape(doc: _Document, schema: str) -> None:
    try:
        check_against_schema(doc.data, _schema(schema), doc.source, doc.lines)
    except KnowledgeBaseError as exc:
        raise CatalogueError(exc.source, exc.line, exc.field, exc.problem) from None


def _example_files(directory: Path) -> list[tuple[str, Path]]:
    folder = directory / "examples"
    if not folder.is_dir():
        return []
    found: list[tuple[str, Path]] = []
    for path in sorted(folder.iterdir()):
        language = path.stem if path.is_file() else path.name
        if path.is_file() and path.suffix not in (".yaml", ".yml"):
            continue
        if not _LANGUAGE.fullmatch(language):
            raise CatalogueError(
                str(path), None, "", "name it after a two-letter language code (fr.yaml, nl/)"
            )
        if path.is_dir():
            found.extend(
                (language, p) for p in sorted(path.iterdir()) if p.suffix in (".yaml", ".yml")
            )
        else:
            found.append((language, path))
    return found


def _read(path: Path, language: str = "") -> _Document:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogueError(source, None, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(source, None, "", f"cannot read file: {exc}") from None
    try:
        data, lines = read_yaml(text, source)
    except KnowledgeBaseError as exc:
        raise CatalogueError(exc.source, exc.line, exc.field, exc.problem) from None
    return _Document(data, lines, source, language)


def _fail(doc: _Document, path: Sequence[str | int], problem: str) -> None:
    raise CatalogueError(doc.source, line_of(doc.lines, path), field_name(path), problem)


def _unknown(kind: str, value: str, known: Sequence[str]) -> str:
    close = get_close_matches(value, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {kind} {value!r}{hint}"


def _check_references(services_doc: _Document, example_docs: Sequence[_Document]) -> None:
    data: Mapping[str, Any] = services_doc.data
    ids: dict[str, tuple[str, int]] = {}
    for kind in EntryKind:
        for index, entry in enumerate(data.get(kind.value, [])):
            if entry["id"] in ids:
                other_kind, other_index = ids[entry["id"]]
                _fail(
                    services_doc,
                    (kind.value, index, "id"),
                    f"duplicate id {entry['id']!r} (also {other_kind}[{other_index}])",
                )
            ids[entry["id"]] = (kind.value, index)
    services = [s["id"] for s in data["services"]]
    for index, intent in enumerate(data.get("faq_intents", [])):
        if intent["service"] not in services:
            _fail(
                services_doc,
                ("faq_intents", index, "service"),
                _unknown("service", intent["service"], services),
            )
    per_kind = {kind.value: [e["id"] for e in data.get(kind.value, [])] for kind in EntryKind}
    destinations = [*services, *per_kind[EntryKind.EXTERNAL.value], NOWHERE]
    for doc in example_docs:
        for section, known in per_kind.items():
            for entry_id in doc.data.get(section, {}) or {}:
                if entry_id not in known:
                    name = {"services": "service", "external": "external id"}.get(
                        section, "FAQ intent"
                    )
                    _fail(doc, (section, entry_id), _unknown(name, entry_id, known))
        for index, miss in enumerate(doc.data.get("near_misses", []) or []):
            if miss["not"] not in services:
                _fail(
                    doc, ("near_misses", index, "not"), _unknown("service", miss["not"], services)
                )
            if miss["goes"] not in destinations:
                _fail(
                    doc,
                    ("near_misses", index, "goes"),
                    _unknown("service or external id", miss["goes"], destinations),
                )
            if miss["goes"] == miss["not"]:
                _fail(doc, ("near_misses", index, "goes"), "a near miss goes elsewhere than 'not'")


def _build(
    services_doc: _Document, example_docs: Sequence[_Document], directory: Path
) -> Catalogue:
    phrases: dict[str, dict[str, list[str]]] = {}
    near_misses: list[NearMiss] = []
    digest = hashlib.sha256()
    digest.update(json.dumps(services_doc.data, sort_keys=True, ensure_ascii=False).encode())
    for doc in example_docs:
        digest.update(f"\0{doc.language}\0".encode())
        digest.update(json.dumps(doc.data, sort_keys=True, ensure_ascii=False).encode())
        for kind in EntryKind:
            for entry_id, texts in (doc.data.get(kind.value, {}) or {}).items():
                phrases.setdefault(entry_id, {}).setdefault(doc.language, []).extend(texts)
        near_misses.extend(
            NearMiss(m["text"], doc.language, m["not"], m["goes"])
            for m in doc.data.get("near_misses", []) or []
        )

    def entries(kind: EntryKind) -> tuple[CatalogueEntry, ...]:
        return tuple(
            CatalogueEntry(
                id=raw["id"],
                kind=kind,
                name=dict(raw["name"]),
                description=dict(raw["description"]),
                phrases={
                    lang: tuple(texts) for lang, texts in sorted(phrases.get(raw["id"], {}).items())
                },
                service=raw.get("service"),
                answer_hint=dict(raw.get("answer_hint", {})),
            )
            for raw in services_doc.data.get(kind.value, [])
        )

    return Catalogue(
        services=entries(EntryKind.SERVICE),
        external=entries(EntryKind.EXTERNAL),
        faq_intents=entries(EntryKind.FAQ_INTENT),
        near_misses=tuple(near_misses),
        source=str(directory),
        content_hash=digest.hexdigest(),
    )


# --- Writing style ------------------------------------------------------------------------

_NOT_VOSK = re.compile(r"[^a-zà-öø-ÿœæß ]")


def style_problems(directory: str | Path | None = None) -> list[str]:
    """Phrases that break the catalogue's writing rules, as ``file:line: field: problem``.

    The rules (catalogue-format.md): what Vosk writes, so lower case, no digits, no
    punctuation, single spaces; no phrase twice in one language, and never the same phrase
    under two different ids (a router cannot learn from a contradiction).
    """
    _, example_docs = _documents(Path(directory or default_catalogue_dir()))
    problems: list[str] = []
    owners: dict[tuple[str, str], str] = {}

    def report(doc: _Document, path: JsonPath, problem: str) -> None:
        problems.append(f"{doc.source}:{line_of(doc.lines, path)}: {field_name(path)}: {problem}")

    for doc in example_docs:
        items: list[tuple[JsonPath, str, str]] = [
            ((kind.value, entry_id, index), text, entry_id)
            for kind in EntryKind
            for entry_id, texts in (doc.data.get(kind.value, {}) or {}).items()
            for index, text in enumerate(texts)
        ]
        items += [
            (("near_misses", index, "text"), miss["text"], f"a near miss going to {miss['goes']}")
            for index, miss in enumerate(doc.data.get("near_misses", []) or [])
        ]
        for path, text, owner in items:
            bad = sorted(set(_NOT_VOSK.findall(text)))
            if bad:
                report(doc, path, f"{text!r}: write it as Vosk does (found {''.join(bad)!r})")
            elif text != text.strip() or "  " in text:
                report(doc, path, f"{text!r}: extra spaces")
            first = owners.setdefault((doc.language, text.strip()), owner)
            if first != owner:
                report(doc, path, f"{text!r}: also a phrase of {first}")
    for language in sorted({doc.language for doc in example_docs}):
        counts: dict[tuple[str, str], int] = {}
        for doc in example_docs:
            if doc.language != language:
                continue
            for kind in EntryKind:
                for entry_id, texts in (doc.data.get(kind.value, {}) or {}).items():
                    for index, text in enumerate(texts):
                        key = (entry_id, text.strip())
                        counts[key] = counts.get(key, 0) + 1
                        if counts[key] == 2:
                            report(doc, (kind.value, entry_id, index), f"{text!r}: written twice")
    return problems
