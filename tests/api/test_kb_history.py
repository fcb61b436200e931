"""KB edits keep the file's comments and layout, are versioned with who and when, can be
reverted, and never touch the sample shipped in the package."""

from __future__ import annotations

import difflib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.calllog.conftest import BACKENDS, Database, open_database
from voicebot.api.kb_document import add_phrase
from voicebot.api.kb_history import KbHistory, KbVersionNotFoundError
from voicebot.api.kb_store import KbEdit, KbReadOnlyError, KnowledgeBaseStore
from voicebot.knowledge.loader import KnowledgeBaseError, load_kb, sample_kb_path
from voicebot.knowledge.workspace import editable_kb_path, is_packaged

DATA = Path(__file__).parent.parent / "data" / "kb"


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with open_database(request.param, tmp_path) as db:
        yield db


def _store(tmp_path: Path, source: Path, history: KbHistory | None = None) -> KnowledgeBaseStore:
    path = tmp_path / source.name
    shutil.copy(source, path)
    return KnowledgeBaseStore(path, history=history)


def _changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


@pytest.mark.parametrize(
    "source",
    [sample_kb_path(), DATA / "saint-germain-en-laye.yaml", DATA / "etterbeek.yaml"],
    ids=lambda p: p.name,
)
def test_adding_an_example_changes_that_one_line_only(tmp_path: Path, source: Path) -> None:
    store = _store(tmp_path, source)
    try:
        before = store.path.read_text(encoding="utf-8")
        target = store.current().departments[0].id
        store.update(
            lambda doc: add_phrase(doc, target, "fr", "une toute nouvelle façon de demander")
        )
        after = store.path.read_text(encoding="utf-8")
    finally:
        store.close()
    # Every comment, blank line, quote and wrapped list stays; one line is added.
    added = after.splitlines()[_line_of(after, "une toute nouvelle façon de demander")]
    assert _changed_lines(before, after) == ["+" + added]
    assert (
        "une toute nouvelle façon de demander"
        in load_kb(store.path).department(target).examples["fr"]
    )
    assert before.count("#") == after.count("#")


def _line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines()) if fragment in line)


def test_a_patch_keeps_the_comments_next_to_what_it_changes(tmp_path: Path) -> None:
    store = _store(tmp_path, sample_kb_path())
    try:
        before = store.path.read_text(encoding="utf-8")
        faq = store.current().faq[0]
        store.patch_faq(faq.id, {"answer": {"en": "A new answer in English."}})
        after = store.path.read_text(encoding="utf-8")
    finally:
        store.close()
    changed = _changed_lines(before, after)
    assert len(changed) == 2 and "A new answer in English." in changed[1]
    assert [line for line in before.splitlines() if "#" in line] == [
        line for line in after.splitlines() if "#" in line
    ]


def test_an_invalid_edit_names_the_line_and_changes_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path, DATA / "minimal.yaml")
    try:
        before = store.path.read_bytes()
        with pytest.raises(KnowledgeBaseError) as info:
            store.patch_department("waste", {"extension": "2001"})
    finally:
        store.close()
    error = info.value
    assert error.field == "departments[1].extension" and "already used" in error.problem
    assert error.line is not None and str(error).startswith(f"{store.path}:{error.line}: ")
    assert store.path.read_bytes() == before


def test_edits_are_versioned_with_who_and_can_be_reverted(
    tmp_path: Path, database: Database
) -> None:
    history = KbHistory(database.engine)
    store = _store(tmp_path, sample_kb_path(), history)
    try:
        original = store.path.read_text(encoding="utf-8")
        [initial], _ = history.versions()
        assert (initial.action, initial.author) == ("initial", "file")
        parking = {
            "id": "parking",
            "questions": {"fr": ["où se garer"], "nl": ["waar parkeren"], "en": ["where to park"]},
            "answer": {"fr": "Derrière la maison communale.", "nl": "Achter.", "en": "Behind."},
        }
        store.put_faq(parking, edit=KbEdit("Marie Dupont", "FAQ entry parking: written"))
        edited = store.path.read_text(encoding="utf-8")
        versions, total = history.versions()
        assert total == 2 and (versions[0].author, versions[0].action) == ("Marie Dupont", "edit")
        assert history.text_of(versions[0].id) == edited
        kb, reverted = store.revert(initial.id, edit=KbEdit("Jean Martin"))
        assert store.path.read_text(encoding="utf-8") == original  # byte for byte
        assert reverted is not None and reverted.reverts_version == initial.id
        assert reverted.summary == f"back to version {initial.id}"
        assert "parking" not in [entry.id for entry in kb.faq]
        with pytest.raises(KbVersionNotFoundError):
            store.revert(10**6)
    finally:
        store.close()


def test_a_change_made_by_hand_is_recorded_as_a_file_version(
    tmp_path: Path, database: Database
) -> None:
    history = KbHistory(database.engine)
    store = _store(tmp_path, DATA / "minimal.yaml", history)
    try:
        text = store.path.read_text(encoding="utf-8")
        store.path.write_text(text.replace("# ", "# (edited by hand) ", 1), encoding="utf-8")
        store.reload_if_changed()
        versions, total = history.versions()
        assert total == 2 and versions[0].action == "file"
        # The same file seen by another worker is not recorded twice.
        KnowledgeBaseStore(store.path, history=history).close()
        assert history.versions()[1] == 2
    finally:
        store.close()


def test_the_packaged_sample_is_never_edited(tmp_path: Path) -> None:
    sample = sample_kb_path()
    assert is_packaged(sample)
    before = sample.read_bytes()
    store = KnowledgeBaseStore(sample)
    try:
        assert store.read_only
        with pytest.raises(KbReadOnlyError, match="sample shipped with voicebot"):
            store.patch_faq(store.current().faq[0].id, {"answer": {"en": "x"}})
    finally:
        store.close()
    assert sample.read_bytes() == before


def test_serve_works_on_a_copy_of_the_sample_in_its_data_directory(tmp_path: Path) -> None:
    path, note = editable_kb_path(sample_kb_path(), tmp_path / "var")
    assert path == tmp_path / "var" / "kb" / sample_kb_path().name
    assert path.read_bytes() == sample_kb_path().read_bytes()
    assert note is not None and "copied the packaged sample" in note
    path.write_text(path.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    again, note = editable_kb_path(sample_kb_path(), tmp_path / "var")
    assert again == path and path.read_text(encoding="utf-8").endswith("# edited\n")  # kept
    own = tmp_path / "city.yaml"
    assert editable_kb_path(own, tmp_path / "var") == (own, None)
