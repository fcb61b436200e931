"""Fixtures of the reliability tests; the long variants run only with ``-m reliability``.

``pytest`` alone runs the fast part (the CI suite); ``pytest -m reliability
tests/reliability`` runs the long part (``make reliability``). The long tests are skipped,
not deselected, in the fast run so the report says they exist.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.harness import QUESTION, Bot, start_bot
from tests.support.caller import CallerVoice

LONG_MARK = "reliability"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{LONG_MARK}: long reliability runs (make reliability; -m {LONG_MARK})"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if LONG_MARK in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason=f"long reliability run: use -m {LONG_MARK} (make reliability)")
    for item in items:
        if item.get_closest_marker(LONG_MARK) is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def serve_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Index and rendered prompts shared by every serve process of the session."""
    return tmp_path_factory.mktemp("reliability-cache")


@pytest.fixture(scope="session")
def question_speech() -> bytes:
    """The caller asking the FAQ question: real espeak-ng speech at 8 kHz, made once."""

    async def synthesize() -> bytes:
        voice = CallerVoice()
        await voice.start()
        try:
            async with asyncio.timeout(60):
                return await voice.speech(QUESTION)
        finally:
            await voice.close()

    return asyncio.run(synthesize())


BotFactory = Callable[..., Coroutine[Any, Any, Bot]]


@pytest.fixture
async def bots(tmp_path: Path, serve_cache: Path) -> AsyncIterator[BotFactory]:
    """Starts ``voicebot serve`` processes for a test and stops every one afterwards."""
    started: list[Bot] = []

    async def start(name: str = "serve", **options: Any) -> Bot:
        bot = await start_bot(tmp_path / name, serve_cache, **options)
        started.append(bot)
        return bot

    yield start
    for bot in started:
        await bot.close()
