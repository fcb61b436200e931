"""The API services from settings (voicebot.assembly.open_api), and the app picking up KB
edits made elsewhere."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import MINIMAL_KB, NEW_FAQ_PARKING
from voicebot.accounts.keys import create_key
from voicebot.api.kb_store import KnowledgeBaseStore
from voicebot.api.live import InProcessLiveEventBus, RedisLiveEventBus
from voicebot.app import create_app
from voicebot.assembly import open_api
from voicebot.config import Settings


def test_open_api_migrates_and_serves(tmp_path: Path) -> None:
    kb_path = tmp_path / "kb.yaml"
    shutil.copy(MINIMAL_KB, kb_path)
    settings = Settings(data_dir=tmp_path / "var", kb_path=kb_path)
    with open_api(settings) as services:
        assert isinstance(services.live_bus, InProcessLiveEventBus)
        assert services.stats.timezone.key == "Europe/Brussels"  # the city's zone, from the KB
        assert (tmp_path / "var" / "voicebot.db").exists()
        key = create_key(services.engine, "admin", "admin")
        with TestClient(create_app(services)) as client:
            assert client.get("/health").json()["status"] == "ok"
            calls = client.get("/api/calls", headers={"X-API-Key": key})
            assert calls.json() == {"data": [], "count": 0, "limit": 50, "offset": 0}
            assert client.get("/api/kb", headers={"X-API-Key": key}).json()["faq"][0]["id"] == (
                "opening_hours"
            )


def test_open_api_uses_redis_when_configured(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, kb_path=MINIMAL_KB, redis_url="redis://127.0.0.1:6379/0")
    with open_api(settings) as services:
        assert isinstance(services.live_bus, RedisLiveEventBus)


def test_app_reloads_a_kb_edited_by_another_worker(tmp_path: Path) -> None:
    kb_path = tmp_path / "kb.yaml"
    shutil.copy(MINIMAL_KB, kb_path)
    with open_api(Settings(data_dir=tmp_path / "var", kb_path=kb_path)) as services:
        services.kb_poll_interval_s = 0.05
        with TestClient(create_app(services)):
            other = KnowledgeBaseStore(kb_path)
            try:
                other.put_faq(NEW_FAQ_PARKING)
            finally:
                other.close()
            deadline = time.monotonic() + 30.0
            while "parking" not in [f.id for f in services.kb_store.current().faq]:
                assert time.monotonic() < deadline, "the edit was not picked up"
                time.sleep(0.02)
        assert services.kb_store.status().generation == 1
