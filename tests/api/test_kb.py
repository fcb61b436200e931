"""Knowledge base: store edits (validated, atomic, notified) and the /api/kb endpoints."""

from __future__ import annotations

import dataclasses
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import MINIMAL_KB, NEW_FAQ_PARKING, Api
from voicebot.api.kb_document import KbEntryNotFoundError, kb_to_data
from voicebot.api.kb_store import KbConflictError, KnowledgeBaseStore
from voicebot.app import create_app
from voicebot.knowledge.editing import dump, load, merge_patch
from voicebot.knowledge.loader import KnowledgeBaseError, build_kb, load_kb, sample_kb_path
from voicebot.knowledge.model import KnowledgeBase

DATA = Path(__file__).parent.parent / "data" / "kb"
NEW_FAQ = NEW_FAQ_PARKING


@pytest.fixture
def store(tmp_path: Path) -> Iterator[KnowledgeBaseStore]:
    path = tmp_path / "kb.yaml"
    shutil.copy(MINIMAL_KB, path)
    kb_store = KnowledgeBaseStore(path)
    yield kb_store
    kb_store.close()


def _comparable(kb: KnowledgeBase) -> KnowledgeBase:
    return dataclasses.replace(kb, source="", content_hash="")


@pytest.mark.parametrize(
    "path",
    [MINIMAL_KB, DATA / "saint-germain-en-laye.yaml", sample_kb_path()],
    ids=lambda p: p.name,
)
def test_kb_to_data_round_trips_through_the_loader(path: Path) -> None:
    kb = load_kb(path)
    assert _comparable(build_kb(kb_to_data(kb))) == _comparable(kb)


def test_merge_patch_follows_rfc_7396_and_keeps_the_comments_of_what_stays() -> None:
    target = load("a:\n  b: 1  # kept\n  c: 2\nd: [1, 2]\ne: x  # also kept\n")
    merged = merge_patch(target, {"a": {"b": 9, "c": None}, "d": [3], "f": {"g": 1}})
    assert merged == {"a": {"b": 9}, "d": [3], "e": "x", "f": {"g": 1}}
    assert dump(merged) == "a:\n  b: 9  # kept\nd:\n  - 3\ne: x  # also kept\nf:\n  g: 1\n"


def test_valid_edit_is_written_swapped_and_announced(store: KnowledgeBaseStore) -> None:
    seen: list[KnowledgeBase] = []
    done = threading.Event()

    def rebuild(kb: KnowledgeBase) -> None:
        seen.append(kb)
        done.set()

    store.subscribe(rebuild)
    before = store.current()
    kb = store.put_faq(NEW_FAQ)
    assert kb.faq_entry("parking").answer["en"] == "Parking is behind."
    assert store.current() is kb and kb.content_hash != before.content_hash
    assert load_kb(store.path).faq_entry("parking").questions["fr"] == ("où puis-je me garer",)
    assert done.wait(30.0)
    assert seen == [kb]
    assert store.wait_applied(timeout=30.0)
    assert store.status().applied_generation == store.status().generation == 1
    assert [p.name for p in store.path.parent.iterdir()] == ["kb.yaml"]  # no temp file left


def test_invalid_edit_changes_nothing(store: KnowledgeBaseStore) -> None:
    calls: list[KnowledgeBase] = []
    store.subscribe(calls.append)
    before_bytes = store.path.read_bytes()
    before = store.current()
    broken = {**NEW_FAQ, "answer": {"fr": "Seulement en français."}}
    with pytest.raises(KnowledgeBaseError) as info:
        store.put_faq(broken)
    assert info.value.field == "faq[1].answer"
    assert "language 'en' missing" in info.value.problem
    assert store.path.read_bytes() == before_bytes
    assert store.current() is before
    assert store.status().generation == 0 and calls == []


def test_file_mode_is_kept(store: KnowledgeBaseStore) -> None:
    os.chmod(store.path, 0o640)
    store.put_faq(NEW_FAQ)
    assert store.path.stat().st_mode & 0o777 == 0o640


def test_patch_delete_and_missing_entries(store: KnowledgeBaseStore) -> None:
    kb = store.patch_department("population", {"dtmf": None, "name": {"en": "Civil Affairs"}})
    population = kb.department("population")
    assert population.dtmf is None
    assert population.name == {"fr": "Service Population", "en": "Civil Affairs"}
    with pytest.raises(KbEntryNotFoundError, match="no FAQ entry with id 'nope'"):
        store.patch_faq("nope", {"answer": {"fr": "x"}})
    with pytest.raises(ValueError, match="id: cannot be changed"):
        store.patch_faq("opening_hours", {"id": "other"})
    with pytest.raises(KnowledgeBaseError) as info:
        store.delete_department("population")  # the FAQ entry still refers to it
    assert info.value.field == "faq[0].department"
    assert [f.id for f in store.delete_faq("opening_hours").faq] == []


def test_stale_version_is_refused(store: KnowledgeBaseStore) -> None:
    version = store.current().content_hash
    store.put_faq(NEW_FAQ, expected_version=version)
    with pytest.raises(KbConflictError):
        store.delete_faq("parking", expected_version=version)


def test_notifications_coalesce_while_a_rebuild_runs(store: KnowledgeBaseStore) -> None:
    started = threading.Event()
    release = threading.Event()
    seen: list[KnowledgeBase] = []

    def slow_rebuild(kb: KnowledgeBase) -> None:
        seen.append(kb)
        started.set()
        assert release.wait(5.0)

    store.subscribe(slow_rebuild)
    store.put_faq(NEW_FAQ)
    assert started.wait(5.0)
    store.patch_faq("parking", {"answer": {"en": "Behind the town hall."}})
    latest = store.patch_faq("parking", {"answer": {"en": "Behind the town hall, free."}})
    release.set()
    assert store.wait_applied(timeout=30.0)
    assert len(seen) == 2 and seen[-1] is latest


def test_failing_subscriber_is_reported_and_others_still_run(store: KnowledgeBaseStore) -> None:
    def broken(kb: KnowledgeBase) -> None:
        raise RuntimeError("index build failed")

    seen: list[KnowledgeBase] = []
    store.subscribe(broken)
    unsubscribe = store.subscribe(seen.append)
    store.put_faq(NEW_FAQ)
    assert store.wait_applied(timeout=30.0)
    assert store.status().last_error == "RuntimeError: index build failed"
    assert len(seen) == 1
    unsubscribe()
    store.delete_faq("parking")
    assert store.wait_applied(timeout=30.0)
    assert len(seen) == 1


def test_edits_on_disk_are_picked_up(store: KnowledgeBaseStore, tmp_path: Path) -> None:
    assert not store.reload_if_changed()
    other = KnowledgeBaseStore(store.path)  # another worker process editing the same file
    try:
        other.put_faq(NEW_FAQ)
    finally:
        other.close()
    assert store.reload_if_changed()
    assert store.current().faq_entry("parking").department == "population"
    assert store.wait_applied(timeout=30.0)
    store.path.write_text("city: [", encoding="utf-8")  # broken by hand: ignored, logged
    assert not store.reload_if_changed()
    assert store.current().faq_entry("parking")


# --------------------------------------------------------------------------- endpoints


@pytest.fixture
def kb_client(api: Api, tmp_path: Path) -> Iterator[tuple[TestClient, KnowledgeBaseStore]]:
    path = tmp_path / "kb.yaml"
    shutil.copy(MINIMAL_KB, path)
    kb_store = KnowledgeBaseStore(path)
    services = dataclasses.replace(api.services, kb_store=kb_store)
    try:
        with TestClient(create_app(services), headers=api.as_role("admin")) as client:
            yield client, kb_store
    finally:
        kb_store.close()


def test_get_kb_returns_the_document_with_its_version(
    kb_client: tuple[TestClient, KnowledgeBaseStore],
) -> None:
    client, kb_store = kb_client
    response = client.get("/api/kb")
    assert response.status_code == 200
    body = response.json()
    assert [d["id"] for d in body["departments"]] == ["population", "waste"]
    assert body["city"]["languages"] == ["fr", "en"]
    assert response.headers["etag"] == f'"{kb_store.current().content_hash}"'


def test_put_faq_saves_and_notifies(kb_client: tuple[TestClient, KnowledgeBaseStore]) -> None:
    client, kb_store = kb_client
    notified = threading.Event()
    kb_store.subscribe(lambda kb: notified.set())
    entry = {k: v for k, v in NEW_FAQ.items() if k != "id"}
    response = client.put("/api/kb/faq/parking", json=entry)
    assert response.status_code == 200, response.text
    assert response.json() == NEW_FAQ
    assert notified.wait(5.0)
    assert load_kb(kb_store.path).faq_entry("parking").answer["fr"].startswith("Le parking")
    status = client.get("/api/kb/status").json()
    assert status["generation"] == 1 and status["version"] == kb_store.current().content_hash


@pytest.mark.parametrize(
    ("method", "path", "body", "field", "fragment"),
    [
        (
            "PUT",
            "/api/kb/faq/parking",
            {**NEW_FAQ, "answer": {"fr": "x"}},
            "faq[1].answer",
            "language 'en' missing",
        ),
        (
            "PUT",
            "/api/kb/faq/parking",
            {**NEW_FAQ, "department": "zoo"},
            "faq[1].department",
            "unknown department 'zoo'",
        ),
        (
            "PUT",
            "/api/kb/faq/Bad-Id",
            {k: v for k, v in NEW_FAQ.items() if k != "id"},
            "faq[1].id",
            "wrong format",
        ),
        (
            "PUT",
            "/api/kb/faq/parking",
            {**NEW_FAQ, "id": "other"},
            "id",
            "differs from the id in the path",
        ),
        ("PUT", "/api/kb/faq/parking", {**NEW_FAQ, "colour": "blue"}, "colour", "Extra inputs"),
        (
            "PATCH",
            "/api/kb/departments/population",
            {"hours": {"monday": ["18:00-09:00"]}},
            "departments[0].hours.monday[0]",
            "opening must come before",
        ),
        (
            "PATCH",
            "/api/kb/departments/waste",
            {"extension": "2001"},
            "departments[1].extension",
            "already used",
        ),
        (
            "DELETE",
            "/api/kb/departments/population",
            None,
            "faq[0].department",
            "unknown department",
        ),
    ],
)
def test_invalid_edits_are_422_naming_the_field(
    kb_client: tuple[TestClient, KnowledgeBaseStore],
    method: str,
    path: str,
    body: object,
    field: str,
    fragment: str,
) -> None:
    client, kb_store = kb_client
    before = kb_store.path.read_bytes()
    response = client.request(method, path, json=body)
    assert response.status_code == 422, response.text
    error = response.json()["detail"][0]
    assert error["loc"][-1] == field
    assert fragment in error["msg"]
    assert kb_store.path.read_bytes() == before


def test_patch_merges_and_delete_removes(kb_client: tuple[TestClient, KnowledgeBaseStore]) -> None:
    client, kb_store = kb_client
    response = client.patch("/api/kb/faq/opening_hours", json={"answer": {"en": "Open 8 to 5."}})
    assert response.status_code == 200
    assert response.json()["answer"] == {
        "fr": "La maison communale est ouverte du lundi au vendredi.",
        "en": "Open 8 to 5.",
    }
    department = client.patch("/api/kb/departments/population", json={"dtmf": None}).json()
    assert "dtmf" not in department
    assert client.delete("/api/kb/faq/opening_hours").status_code == 204
    assert kb_store.current().faq == ()
    put = client.put(
        "/api/kb/departments/library",
        json={
            "extension": "2010",
            "name": {"fr": "Bibliothèque", "en": "Library"},
            "description": {"fr": "Prêt de livres.", "en": "Books."},
            "hours": "always",
            "examples": {"fr": ["je veux emprunter un livre"], "en": ["borrow a book"]},
        },
    )
    assert put.status_code == 200, put.text
    assert kb_store.current().department("library").hours.always_open


def test_unknown_entries_are_404(kb_client: tuple[TestClient, KnowledgeBaseStore]) -> None:
    client, _ = kb_client
    assert client.patch("/api/kb/faq/nope", json={"answer": {"fr": "x"}}).status_code == 404
    assert client.delete("/api/kb/departments/nope").status_code == 404


def test_if_match_guards_against_lost_updates(
    kb_client: tuple[TestClient, KnowledgeBaseStore],
) -> None:
    client, _ = kb_client
    etag = client.get("/api/kb").headers["etag"]
    first = client.patch(
        "/api/kb/faq/opening_hours", json={"answer": {"en": "A."}}, headers={"If-Match": etag}
    )
    assert first.status_code == 200
    assert first.headers["etag"] != etag
    stale = client.patch(
        "/api/kb/faq/opening_hours", json={"answer": {"en": "B."}}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412
