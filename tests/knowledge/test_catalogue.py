"""The catalogue loader: a valid catalogue loads; every broken one names file, line and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from voicebot.knowledge.catalogue_loader import CatalogueError, load_catalogue, style_problems
from voicebot.knowledge.catalogue_model import EntryKind

FIXTURE = Path(__file__).parent.parent / "data" / "catalogue"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(FIXTURE, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_fixture_catalogue_loads_entries_phrases_and_near_misses() -> None:
    catalogue = load_catalogue(FIXTURE)
    assert catalogue.service_ids == ("reception", "population", "waste", "roads")
    assert [e.id for e in catalogue.external] == ["federal_tax"]
    assert catalogue.entry("passport").kind is EntryKind.FAQ_INTENT
    assert catalogue.entry("passport").service == "population"
    assert catalogue.entry("waste").phrases["fr"][0] == "mes poubelles n ont pas été ramassées"
    assert catalogue.languages == ("en", "fr")
    assert catalogue.near_misses[0].goes == "none"
    assert len(catalogue.content_hash) == 64


def test_a_language_split_over_several_files_is_merged() -> None:
    catalogue = load_catalogue(FIXTURE)
    assert catalogue.entry("population").phrases["en"] == ("i need a new identity card",)
    assert catalogue.entry("roads").phrases["en"] == ("there is a pothole in my street",)
    assert catalogue.entry("passport").phrases["en"] == ("how much is a passport",)


def test_content_hash_follows_the_phrases(copy: Path) -> None:
    before = load_catalogue(copy).content_hash
    _edit(copy / "examples" / "fr.yaml", "passez moi le standard", "passez moi l accueil")
    assert load_catalogue(copy).content_hash != before


def test_unknown_service_in_phrases_names_file_line_and_suggests(copy: Path) -> None:
    path = copy / "examples" / "fr.yaml"
    _edit(path, "  waste:\n", "  wastes:\n")
    with pytest.raises(CatalogueError) as info:
        load_catalogue(copy)
    assert info.value.source == str(path)
    assert info.value.line == _line_of(path, "mes poubelles n ont pas")  # its phrases
    assert info.value.field == "services.wastes"
    assert "unknown service 'wastes' (did you mean 'waste'?)" in str(info.value)


def test_phrases_of_an_intent_under_services_are_refused(copy: Path) -> None:
    path = copy / "examples" / "fr.yaml"
    _edit(path, "  roads:\n", "  passport:\n    - un passeport\n  roads:\n")
    with pytest.raises(CatalogueError) as info:
        load_catalogue(copy)
    assert info.value.field == "services.passport"


def test_missing_language_in_a_name_is_reported(copy: Path) -> None:
    path = copy / "services.yaml"
    _edit(
        path,
        "{fr: Voirie, nl: Wegen, en: Roads, de: Straßen}",
        "{fr: Voirie, nl: Wegen, en: Roads}",
    )
    with pytest.raises(CatalogueError) as info:
        load_catalogue(copy)
    assert info.value.line == _line_of(path, "name: {fr: Voirie")
    assert info.value.field == "services[3].name.de"
    assert "required" in info.value.problem


def test_intent_of_an_unknown_service_is_reported(copy: Path) -> None:
    path = copy / "services.yaml"
    _edit(path, "service: population", "service: populaton")
    with pytest.raises(CatalogueError) as info:
        load_catalogue(copy)
    assert info.value.field == "faq_intents[1].service"
    assert "did you mean 'population'" in info.value.problem


def test_duplicate_id_across_lists_is_reported(copy: Path) -> None:
    _edit(copy / "services.yaml", "  - id: federal_tax", "  - id: waste")
    with pytest.raises(CatalogueError) as info:
        load_catalogue(copy)
    assert info.value.field == "external[0].id"
    assert "also services[2]" in info.value.problem


@pytest.mark.parametrize(
    ("old", "new", "field", "problem"),
    [
        ("not: roads, goes: none", "not: road, goes: none", "near_misses[0].not", "'roads'"),
        ("not: roads, goes: none", "not: roads, goes: nowhere", "near_misses[0].goes", "unknown"),
        ("not: roads, goes: none", "not: roads, goes: roads", "near_misses[0].goes", "elsewhere"),
        ("not: roads, goes: none", "not: roads", "near_misses[0].goes", "required"),
    ],
)
def test_broken_near_misses_are_reported(
    copy: Path, old: str, new: str, field: str, problem: str
) -> None:
    path = copy / "examples" / "fr.yaml"
    _edit(path, old, new)
    with pytest.raises(CatalogueError) as info:
        load_catalogue(copy)
    assert info.value.line == _line_of(path, "le trou dans la rue")
    assert info.value.field == field
    assert problem in info.value.problem


def test_bad_yaml_and_bad_file_names_are_clear(copy: Path) -> None:
    path = copy / "examples" / "fr.yaml"
    _edit(path, "  roads:\n", "  roads: [\n")
    with pytest.raises(CatalogueError) as info:
        load_catalogue(copy)
    assert str(info.value).startswith(f"{path}:")
    assert "invalid YAML" in str(info.value)
    path.write_text("services: {}\n", encoding="utf-8")
    (copy / "examples" / "french.yaml").write_text("services: {}\n", encoding="utf-8")
    with pytest.raises(CatalogueError) as info:
        load_catalogue(copy)
    assert "two-letter language code" in str(info.value)


def test_missing_services_file_is_clear(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError) as info:
        load_catalogue(tmp_path)
    assert str(info.value) == f"{tmp_path / 'services.yaml'}: (top level): file not found"


def test_the_fixture_follows_the_writing_style() -> None:
    assert style_problems(FIXTURE) == []


def test_style_problems_name_each_offending_phrase(copy: Path) -> None:
    path = copy / "examples" / "fr.yaml"
    _edit(path, "    - passez moi le standard", "    - Passez-moi le standard !")
    _edit(
        path,
        "    - le camion des déchets n est pas passé",
        "    - je dois refaire ma carte d identité",
    )
    _edit(path, "    - c est pour ma déclaration d impôts", "    - combien coûte un passeport")
    problems = style_problems(copy)
    assert len(problems) == 3, problems
    standard, twice, conflict = problems
    assert standard.startswith(f"{path}:{_line_of(path, 'Passez-moi')}: services.reception[1]: ")
    assert "write it as Vosk does" in standard
    assert "also a phrase of population" in twice
    assert "also a phrase of federal_tax" in conflict


def test_a_phrase_written_twice_for_one_service_is_reported(copy: Path) -> None:
    path = copy / "examples" / "fr.yaml"
    _edit(path, "    - passez moi le standard", "    - je voudrais parler à quelqu un")
    (problem,) = style_problems(copy)
    assert "services.reception[1]: 'je voudrais parler à quelqu un': written twice" in problem


def test_the_shipped_catalogue_loads_complete_and_follows_the_writing_style() -> None:
    """The writers' texts: every id of catalogue-format.md, phrases in four languages."""
    catalogue = load_catalogue()
    assert len(catalogue.services) >= 25
    assert len(catalogue.faq_intents) >= 20
    assert catalogue.languages == ("de", "en", "fr", "nl")
    for entry in catalogue.entries():
        assert set(entry.phrases) == {"de", "en", "fr", "nl"}, entry.id
    assert style_problems() == []


def test_a_validated_catalogue_is_read_back_from_the_cache_until_a_file_changes(
    copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import voicebot.knowledge.catalogue_loader as loader

    cache = tmp_path / "cache"
    first = load_catalogue(copy, cache_dir=cache)
    parsed: list[Path] = []
    real_load = loader._load
    monkeypatch.setattr(loader, "_load", lambda folder: parsed.append(folder) or real_load(folder))
    assert load_catalogue(copy, cache_dir=cache) == first
    assert parsed == [], "an unchanged catalogue must not be parsed and validated again"
    _edit(copy / "examples" / "fr.yaml", "passez moi le standard", "passez moi l accueil")
    assert load_catalogue(copy, cache_dir=cache).content_hash != first.content_hash
    assert parsed == [copy]


def test_a_broken_catalogue_is_refused_even_when_an_older_version_is_cached(
    copy: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    load_catalogue(copy, cache_dir=cache)
    _edit(copy / "examples" / "fr.yaml", "passez moi le standard", "passez moi LE standard:")
    with pytest.raises(CatalogueError):
        load_catalogue(copy, cache_dir=cache)
