"""Shared fixtures: real models are loaded once per test session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def use_embedder() -> Iterator[object]:
    """The real multilingual USE v3 backend (numpy, ~0.2 s to load)."""
    from voicebot.routing.embedders import UseEmbedder

    yield UseEmbedder()


@pytest.fixture(scope="session")
def router_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index cache directory for the whole session."""
    return tmp_path_factory.mktemp("router-cache")


@pytest.fixture(scope="session")
def command_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``data_dir`` shared by the CLI tests that build routers (``kb check``, ``kb
    suggest``): the catalogue is embedded once per session, not once per test; each
    command still fits its own KB."""
    return tmp_path_factory.mktemp("command-data")
