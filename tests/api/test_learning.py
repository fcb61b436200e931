"""The learning loop through the API: test a phrase, add it as an example, test again; new
FAQ entries; versions and revert; low-margin decisions; operators' corrections."""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import DAY1, MINIMAL_KB, Api, follow_with_router
from tests.calllog.factories import Turn, make_call
from tests.support import live_events
from voicebot.api.kb_history import KbHistory
from voicebot.api.kb_store import KnowledgeBaseStore
from voicebot.app import create_app
from voicebot.records import CallOutcome
from voicebot.routing.embedders import Embedder

SWIMMING = "je voudrais inscrire mon enfant au cours de natation"


@dataclass
class Learning:
    client: TestClient
    store: KnowledgeBaseStore
    api: Api


@pytest.fixture
def learning(
    api: Api, tmp_path: Path, use_embedder: Embedder, router_cache: Path
) -> Iterator[Learning]:
    """An app over its own copy of the KB, with versions, and a router rebuilt on each
    edit as serve does for calls."""
    path = tmp_path / "kb.yaml"
    shutil.copy(MINIMAL_KB, path)
    store = KnowledgeBaseStore(path, history=KbHistory(api.db.engine))
    services = follow_with_router(
        dataclasses.replace(api.services, kb_store=store), use_embedder, router_cache
    )
    try:
        with TestClient(create_app(services)) as client:
            yield Learning(client, store, api)
    finally:
        store.close()


def _test(learning: Learning, text: str, role: str = "manager") -> dict[str, object]:
    response = learning.client.post(
        "/api/learning/test", json={"text": text}, headers=learning.api.as_role(role)
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def _wait_rebuilt(learning: Learning) -> None:
    assert learning.store.wait_applied(timeout=300.0), "the router was not rebuilt"


def test_add_a_phrase_then_the_router_decides_differently(learning: Learning) -> None:
    before = _test(learning, SWIMMING)
    assert before["label"] != "waste"
    assert before["kb_version"] == learning.store.current().content_hash
    added = learning.client.post(
        "/api/kb/phrases",
        json={"target": "waste", "language": "fr", "phrase": f"  {SWIMMING}  "},
        headers=learning.api.as_role("kb_editor"),
    )
    assert added.status_code == 200, added.text
    body = added.json()
    assert body["detail"] == "added as an example of Propreté"
    assert body["kb_version_id"] is not None
    assert SWIMMING in learning.store.current().department("waste").examples["fr"]
    _wait_rebuilt(learning)
    after = _test(learning, SWIMMING)
    assert (after["label"], after["name"]) == ("waste", "Propreté")
    assert after["kb_version"] == body["version"]
    # The same phrase twice would only blur the KB: refused, with the reason.
    again = learning.client.post(
        "/api/kb/phrases",
        json={"target": "population", "language": "fr", "phrase": SWIMMING.upper()},
        headers=learning.api.as_role("kb_editor"),
    )
    assert again.status_code == 422
    assert again.json()["detail"][0]["msg"].endswith("is already an example of waste")


def test_managers_test_phrases_but_only_kb_editors_teach(learning: Learning) -> None:
    operator = learning.api.as_role("operator")
    assert (
        learning.client.post(
            "/api/learning/test", json={"text": "bonjour"}, headers=operator
        ).status_code
        == 403
    )
    refused = learning.client.post(
        "/api/kb/phrases",
        json={"target": "waste", "language": "fr", "phrase": "bonjour"},
        headers=learning.api.as_role("manager"),
    )
    assert refused.status_code == 403 and "kb_editor" in refused.json()["detail"]
    unknown = learning.client.post(
        "/api/kb/phrases",
        json={"target": "zoo", "language": "fr", "phrase": "bonjour"},
        headers=learning.api.as_role("kb_editor"),
    )
    assert unknown.status_code == 404
    language = learning.client.post(
        "/api/kb/phrases",
        json={"target": "waste", "language": "de", "phrase": "hallo"},
        headers=learning.api.as_role("kb_editor"),
    )
    assert language.status_code == 422 and language.json()["detail"][0]["line"] is not None


def test_a_new_faq_entry_from_a_question_and_its_revert(learning: Learning) -> None:
    editor = learning.api.as_role("kb_editor")
    created = learning.client.post(
        "/api/kb/faq",
        json={
            "questions": {"fr": ["Où puis-je me garer ?"], "en": ["where can i park"]},
            "answer": {"fr": "Derrière la maison communale.", "en": "Behind the town hall."},
        },
        headers=editor,
    )
    assert created.status_code == 201, created.text
    assert [e.id for e in learning.store.current().faq][-1] == "ou_puis_je_me_garer"
    missing = learning.client.post(
        "/api/kb/faq",
        json={"questions": {"fr": ["horaires du parc"]}, "answer": {"fr": "De 8 h à 20 h."}},
        headers=editor,
    )
    assert (
        missing.status_code == 422 and "language 'en' missing" in missing.json()["detail"][0]["msg"]
    )
    versions = learning.client.get("/api/kb/versions", headers=editor).json()["data"]
    assert versions[0]["author"] == "test kb_editor" and versions[0]["action"] == "edit"
    assert versions[0]["summary"] == "new FAQ entry ou_puis_je_me_garer"
    first = versions[-1]["id"]
    text = learning.client.get(f"/api/kb/versions/{first}/file", headers=editor)
    assert text.status_code == 200 and text.text.startswith("# A tiny but complete")
    back = learning.client.post(f"/api/kb/versions/{first}/revert", headers=editor)
    assert back.status_code == 200, back.text
    assert learning.store.path.read_text(encoding="utf-8") == MINIMAL_KB.read_text(encoding="utf-8")
    audit = learning.api.services.staff.audit.entries(limit=5)[0]
    assert [e.kind.value for e in audit[:2]] == ["kb_reverted", "kb_edited"]
    assert audit[0].actor is not None and audit[0].actor.startswith("key:")
    assert learning.client.post("/api/kb/versions/999999/revert", headers=editor).status_code == 404


def test_low_margin_decisions_are_listed_for_managers(learning: Learning) -> None:
    learning.api.db.repository().save_calls(
        [
            make_call(
                "lm-1",
                DAY1 + timedelta(hours=2),
                turns=[
                    Turn("population", "carte ou passeport je ne sais pas", 0.9, "transfer"),
                ],
                outcome=CallOutcome.TRANSFERRED,
            )
        ]
    )
    from sqlalchemy import update

    from voicebot.calllog.models import Turn as TurnRow

    with learning.api.db.engine.begin() as connection:
        connection.execute(
            update(TurnRow)
            .where(TurnRow.transcript == "carte ou passeport je ne sais pas")
            .values(margin=0.01)
        )
    listed = learning.client.get(
        "/api/learning/low-margin",
        params={"start": "2024-03-01", "end": "2024-03-10"},
        headers=learning.api.as_role("manager"),
    ).json()
    assert [t["transcript"] for t in listed["data"]] == ["carte ou passeport je ne sais pas"]
    assert listed["data"][0]["intent"] == "population" and listed["max_margin"] == 0.03


def test_an_operator_correction_waits_for_a_kb_editor(learning: Learning) -> None:
    bus = learning.api.services.live_bus
    bus.publish(
        live_events.transfer(
            "corr-1",
            summary="carte",
            utterances=("mes sacs poubelle sont restés sur le trottoir",),
        )
    )
    board = learning.api.services.board
    deadline = time.monotonic() + 30.0
    while not any(t.call_id == "corr-1" for t in board.transfers()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    card = next(t for t in board.transfers() if t.call_id == "corr-1")
    operator = learning.api.as_role("operator")
    reported = learning.client.post(
        "/api/learning/corrections",
        json={"card_key": card.card_key, "should_be": "waste"},
        headers=operator,
    )
    assert reported.status_code == 201, reported.text
    correction = reported.json()
    assert correction["phrases"] == ["mes sacs poubelle sont restés sur le trottoir"]
    assert correction["routed_to"] == "population" and correction["status"] == "open"
    bad = learning.client.post(
        "/api/learning/corrections",
        json={"card_key": "c_nope", "should_be": "waste"},
        headers=operator,
    )
    assert bad.status_code == 404
    listed = learning.client.get(
        "/api/learning/corrections", headers=learning.api.as_role("manager")
    ).json()
    assert correction["id"] in [c["id"] for c in listed["data"]]
    applied = learning.client.post(
        "/api/kb/phrases",
        json={
            "target": "waste",
            "language": "fr",
            "phrase": correction["phrases"][0],
            "correction_id": correction["id"],
        },
        headers=learning.api.as_role("kb_editor"),
    )
    assert applied.status_code == 200, applied.text
    done = learning.client.get(
        "/api/learning/corrections",
        params={"status": "applied"},
        headers=learning.api.as_role("manager"),
    ).json()
    assert [c["handled_by"] for c in done["data"] if c["id"] == correction["id"]] == [
        "test kb_editor"
    ]
