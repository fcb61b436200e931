"""The catalogues: complete, in step with the sources, and compiled from the current .po."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from voicebot.i18n.catalogues import (
    SOURCE_LANGUAGE,
    available_languages,
    catalogue_path,
    translations,
)

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = [lang for lang in available_languages() if lang != SOURCE_LANGUAGE]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _catalog(language: str) -> Catalog:
    with catalogue_path(language).open("rb") as stream:
        return read_po(stream, locale=language)


def _source_messages() -> set[str]:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: set[str] = set()
    for _, _, message, _, _ in extract_from_dir(ROOT, method_map, options_map):
        found.add(message if isinstance(message, str) else message[0])
    found.discard("")
    return found


def _ids(catalog: Catalog) -> set[str]:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


def test_french_and_dutch_catalogues_exist() -> None:
    assert {"fr", "nl"} <= set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_has_every_text_of_the_sources_and_no_stale_one(language: str) -> None:
    sources, catalogue = _source_messages(), _ids(_catalog(language))
    assert sources - catalogue == set(), "new texts: run `make i18n` and translate them"
    assert catalogue - sources == set(), "texts no longer used: run `make i18n`"


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_fully_translated_with_the_same_placeholders(language: str) -> None:
    for message in _catalog(language):
        if not message.id:
            continue
        assert not message.fuzzy, f"{language}: fuzzy entry {message.id!r}"
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        texts = [message.string] if isinstance(message.string, str) else list(message.string)
        assert all(texts), f"{language}: {message.id!r} is not translated"
        expected = set(PLACEHOLDER.findall(ids[-1]))
        for text in texts:
            assert set(PLACEHOLDER.findall(text)) == expected, f"{language}: {text!r}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches_its_source(language: str) -> None:
    compiled = translations(language)
    for message in _catalog(language):
        if message.id and isinstance(message.id, str):
            assert compiled.gettext(message.id) == message.string, "run scripts/setup.sh"
