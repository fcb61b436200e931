"""Fixtures of the end-to-end tests: ``voicebot serve`` as a subprocess, the simulator, a caller.

The caller voice and the render reader are per module, on the module's event loop, like
the serve process each module starts (``loop_scope="module"`` in every test module).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.e2e.conversation import AssistantRenders
from tests.support.caller import CallerVoice
from voicebot.dialog.prompts import PromptBook
from voicebot.knowledge.loader import load_kb, sample_kb_path
from voicebot.speech.tts import SpeechSynthesizer


@pytest.fixture(scope="session")
def serve_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Embedding index and rendered prompts shared by every serve process of the session."""
    return tmp_path_factory.mktemp("serve-cache")


@pytest.fixture(scope="session")
def prompts() -> PromptBook:
    """What the assistant says, from the sample knowledge base that ``voicebot serve`` loads."""
    return PromptBook(load_kb(sample_kb_path()))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def voice() -> AsyncIterator[CallerVoice]:
    """The French caller voice (espeak-ng)."""
    caller = CallerVoice()
    await caller.start()
    yield caller
    await caller.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def renders(serve_cache: Path) -> AsyncIterator[AssistantRenders]:
    """The served assistant's own renders of its sentences (default voices and rate)."""
    synthesizer = SpeechSynthesizer()
    await synthesizer.start()
    yield AssistantRenders(serve_cache, synthesizer)
    await synthesizer.close()
