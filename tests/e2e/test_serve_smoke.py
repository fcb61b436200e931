"""`voicebot serve` as a subprocess against the Asterisk simulator: one answered call."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicebot.testing.caller import CallerVoice, say, wait_quiet
from voicebot.testing.serve_process import start_serve


@pytest.fixture(scope="session")
def serve_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve-cache")


async def test_serve_answers_a_faq_call_and_exits_cleanly_on_sigterm(
    tmp_path: Path, serve_cache: Path
) -> None:
    served = await start_serve(tmp_path / "serve", cache_dir=serve_cache)
    voice = CallerVoice()
    await voice.start()
    try:
        call = await served.simulator.place_call("0470000001")
        served.script(str(call.call_id), ["combien coûte un passeport", "non merci au revoir"])
        await wait_quiet(call)
        await say(call, await voice.speech("combien coûte un passeport"))
        await wait_quiet(call)
        await say(call, await voice.speech("non merci au revoir"))
        await call.wait_socket_closed(30)
    finally:
        await voice.close()
        code = await served.stop()
    assert code == 0, served.log()
    assert "voicebot ready" in served.log()
