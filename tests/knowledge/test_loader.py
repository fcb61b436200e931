"""The KB loader: valid files load; every kind of broken file gives one line naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicebot.knowledge.loader import KnowledgeBaseError, load_kb, parse_kb, sample_kb_path

MINIMAL = Path(__file__).parent.parent / "data" / "kb" / "minimal.yaml"


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = MINIMAL.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in minimal.yaml"
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "written.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_minimal_kb_loads_with_its_content() -> None:
    kb = load_kb(MINIMAL)
    assert [d.id for d in kb.departments] == ["population", "waste"]
    assert kb.faq_entry("opening_hours").department == "population"
    assert kb.operator.extension == "1000"
    assert kb.department("waste").hours.always_open
    assert len(kb.content_hash) == 64


def test_sample_kb_shipped_with_the_package_loads() -> None:
    kb = load_kb(sample_kb_path())
    assert kb.city.default_language == "fr"
    assert len(kb.departments) >= 12
    assert len(kb.faq) >= 15


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = _broken(tmp_path, "  default_language: fr", "  default_language: [fr")
    with pytest.raises(KnowledgeBaseError) as info:
        load_kb(path)
    message = str(info.value)
    assert message.startswith(f"{path}:")
    assert "invalid YAML" in message
    assert info.value.line is not None and info.value.line >= _line_of(path, "default_language")
    assert "\n" not in message


def test_unknown_field_is_named_with_its_line(tmp_path: Path) -> None:
    path = _broken(tmp_path, '    extension: "2002"', '    extension: "2002"\n    colour: blue')
    with pytest.raises(KnowledgeBaseError) as info:
        load_kb(path)
    assert info.value.field == "departments[1].colour"
    assert info.value.line == _line_of(path, "colour: blue")
    assert "unknown field" in str(info.value)


def test_duplicate_id_is_reported(tmp_path: Path) -> None:
    path = _broken(tmp_path, "  - id: waste", "  - id: population")
    with pytest.raises(KnowledgeBaseError) as info:
        load_kb(path)
    assert info.value.field == "departments[1].id"
    lines = [
        n for n, text in enumerate(path.read_text().splitlines(), 1) if "- id: population" in text
    ]
    assert info.value.line == lines[1]
    assert "duplicate id 'population'" in str(info.value)


def test_duplicate_yaml_key_is_reported(tmp_path: Path) -> None:
    path = _broken(tmp_path, '    dtmf: "1"', '    dtmf: "1"\n    dtmf: "2"')
    with pytest.raises(KnowledgeBaseError) as info:
        load_kb(path)
    assert info.value.field == "departments[0].dtmf"
    assert "duplicate key" in str(info.value)


def test_missing_extension_is_reported_on_its_department(tmp_path: Path) -> None:
    path = _broken(tmp_path, '    extension: "2002"\n', "")
    with pytest.raises(KnowledgeBaseError) as info:
        load_kb(path)
    assert info.value.field == "departments[1].extension"
    assert info.value.problem == "required field missing"
    assert info.value.line == _line_of(path, "  - id: waste")


def test_missing_language_is_reported(tmp_path: Path) -> None:
    path = _broken(
        tmp_path,
        "    name: {fr: Propreté, en: Cleanliness}",
        "    name: {fr: Propreté}",
    )
    with pytest.raises(KnowledgeBaseError) as info:
        load_kb(path)
    assert info.value.field == "departments[1].name"
    assert "language 'en' missing" in str(info.value)
    assert info.value.line == _line_of(path, "name: {fr: Propreté}")


def test_examples_may_cover_some_languages_or_none(tmp_path: Path) -> None:
    """The catalogue (or the name and description) stands in for what a city did not write."""
    path = _broken(
        tmp_path,
        "      fr: [mes poubelles n'ont pas été ramassées]\n      en: [my bins were not collected]",
        "      fr: [mes poubelles n'ont pas été ramassées]",
    )
    assert set(load_kb(path).department("waste").examples) == {"fr"}
    text = path.read_text(encoding="utf-8").replace(
        "    examples:\n      fr: [mes poubelles n'ont pas été ramassées]\n", ""
    )
    assert load_kb(_write(tmp_path, text)).department("waste").examples == {}


def test_examples_in_a_language_the_city_does_not_offer_are_refused(tmp_path: Path) -> None:
    path = _broken(
        tmp_path,
        "      en: [my bins were not collected]",
        "      en: [my bins were not collected]\n      de: [mein Müll wurde nicht abgeholt]",
    )
    with pytest.raises(KnowledgeBaseError) as info:
        load_kb(path)
    assert info.value.field == "departments[1].examples.de"
    assert "not in city.languages" in info.value.problem


def test_unquoted_extension_asks_for_quotes(tmp_path: Path) -> None:
    path = _broken(tmp_path, '    extension: "2002"', "    extension: 2002")
    with pytest.raises(KnowledgeBaseError) as info:
        load_kb(path)
    assert info.value.field == "departments[1].extension"
    assert "quotes" in str(info.value)


def test_duplicate_extension_names_the_other_user(tmp_path: Path) -> None:
    path = _broken(tmp_path, '    extension: "2002"', '    extension: "2001"')
    with pytest.raises(KnowledgeBaseError) as info:
        load_kb(path)
    assert info.value.field == "departments[1].extension"
    assert "departments[0].extension" in str(info.value)


def test_faq_pointing_to_unknown_department_is_reported(tmp_path: Path) -> None:
    path = _broken(tmp_path, "    department: population", "    department: parks")
    with pytest.raises(KnowledgeBaseError) as info:
        load_kb(path)
    assert info.value.field == "faq[0].department"
    assert "unknown department 'parks'" in str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('["08:30-12:00", "13:30-16:00"]', '["12:00-08:30"]', "departments[0].hours.monday[0]"),
        ('["08:30-12:00", "13:30-16:00"]', '["8h30-12h"]', "departments[0].hours.monday[0]"),
        ("timezone: Europe/Brussels", "timezone: Europe/Bruxelles", "city.timezone"),
        ('holidays: ["2026-07-21"]', 'holidays: ["2026-02-30"]', "city.holidays[0]"),
        ("default_language: fr", "default_language: de", "city.default_language"),
    ],
)
def test_invalid_values_name_their_field(tmp_path: Path, old: str, new: str, field: str) -> None:
    with pytest.raises(KnowledgeBaseError) as info:
        load_kb(_broken(tmp_path, old, new))
    assert info.value.field == field
    assert info.value.line is not None


def test_missing_file_and_empty_file_are_clear(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="file not found"):
        load_kb(tmp_path / "nope.yaml")
    with pytest.raises(KnowledgeBaseError, match="empty"):
        parse_kb("", "empty.yaml")


def test_content_hash_ignores_formatting_but_not_content() -> None:
    text = MINIMAL.read_text(encoding="utf-8")
    reformatted = "# another comment\n" + text
    changed = text.replace("Monday to Friday", "Monday to Saturday")
    assert parse_kb(text).content_hash == parse_kb(reformatted).content_hash
    assert parse_kb(text).content_hash != parse_kb(changed).content_hash


MENU = """menu:
  - id: streets
    dtmf: "{digit}"
    name: {{fr: la rue, en: the street}}
    departments: [{departments}]
"""


def test_a_menu_group_and_details_load(tmp_path: Path) -> None:
    text = MINIMAL.read_text(encoding="utf-8")
    text = text.replace(
        "      en: The town hall is open Monday to Friday.\n",
        "      en: The town hall is open Monday to Friday.\n"
        "    details: {fr: Le jeudi jusqu'à 19 heures., en: On Thursdays until 7 pm.}\n",
    )
    kb = load_kb(_write(tmp_path, text + MENU.format(digit="5", departments="waste")))
    assert kb.faq_entry("opening_hours").details["en"] == "On Thursdays until 7 pm."
    assert [(g.id, g.dtmf, g.departments) for g in kb.menu] == [("streets", "5", ("waste",))]


@pytest.mark.parametrize(
    ("digit", "departments", "problem"),
    [
        ("1", "waste", r"menu\[0\]\.dtmf: DTMF digit 1 already used by departments\[0\]\.dtmf"),
        (
            "5",
            "wastes",
            r"menu\[0\]\.departments\[0\]: unknown department 'wastes' \(did you mean 'waste'\?\)",
        ),
        ("5", "population", r"menu\[0\]\.departments\[0\]: 'population' has its own dtmf digit"),
    ],
)
def test_menu_group_mistakes_name_their_field(
    tmp_path: Path, digit: str, departments: str, problem: str
) -> None:
    path = _write(
        tmp_path,
        MINIMAL.read_text(encoding="utf-8") + MENU.format(digit=digit, departments=departments),
    )
    with pytest.raises(KnowledgeBaseError, match=rf"{path}:\d+: {problem}"):
        load_kb(path)


def test_details_must_cover_every_offered_language(tmp_path: Path) -> None:
    path = _broken(
        tmp_path,
        "      en: The town hall is open Monday to Friday.\n",
        "      en: The town hall is open Monday to Friday.\n    details: {fr: Le jeudi aussi.}\n",
    )
    with pytest.raises(KnowledgeBaseError, match=r"faq\[0\]\.details: language 'en' missing"):
        load_kb(path)
