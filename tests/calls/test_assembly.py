"""voicebot.assembly builds one runtime: every part once, shared, with /health telling the
truth about the AMI."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi.testclient import TestClient

from voicebot.app import create_app

from .conftest import CallStack


async def test_every_part_is_built_once_and_shared(stack: CallStack) -> None:
    runtime = stack.runtime
    assert runtime.calls.kb is runtime.kb_store.current()  # the KB is loaded once
    assert runtime.api.kb_store is runtime.kb_store
    assert runtime.api.engine is runtime.engine
    assert runtime.api.writer is runtime.writer is runtime.calls.records
    assert runtime.api.embedder is runtime.calls.router.embedder
    assert runtime.api.ami is runtime.ami
    assert runtime.api.live_bus in runtime.calls.observers
    assert runtime.calls.dialog_config.max_call_duration == timedelta(
        seconds=runtime.settings.max_call_s
    )


async def test_health_is_503_with_the_ami_state_while_asterisk_is_away(stack: CallStack) -> None:
    client = TestClient(create_app(stack.runtime.api))  # no lifespan: nothing else runs
    response = client.get("/health")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["ami"]["connected"] is True and body["ami"]["logins"] == 1
    assert set(body["models"]) == {"recognition", "embedder", "speech_synthesis"}
    assert body["writer"]["schema_ready"] is True
    assert "voicebot_ami_connected 1.0" in client.get("/metrics").text

    await stack.simulator.stop_ami()
    async with asyncio.timeout(10):
        while stack.ami.connected:
            await asyncio.sleep(0.02)
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded" and body["database"]["reachable"] is True
    assert body["ami"]["connected"] is False and body["ami"]["state"] == "connecting"
    assert "voicebot_ami_connected 0.0" in client.get("/metrics").text

    await stack.simulator.start_ami()
    await stack.ami.wait_connected(10)
    assert client.get("/health").status_code == 200
