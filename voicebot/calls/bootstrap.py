"""The call path's heavy parts, built from the settings before the first call (by
:mod:`voicebot.assembly`).

Models load once here, fixed prompts are rendered here: the audio path never waits for
a model load or a first synthesis.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from voicebot.calls.recognition import (
    RecognizerFactory,
    ScriptedRecognizerFactory,
    TranscriptScript,
    VoskRecognizerFactory,
)
from voicebot.config import Settings
from voicebot.dialog import prompt_texts
from voicebot.dialog.spoken import RECORDING_LIMITS_S
from voicebot.knowledge.model import KnowledgeBase
from voicebot.routing.embedders import create_embedder
from voicebot.routing.router import Router
from voicebot.speech.asr import ModelRegistry
from voicebot.speech.models import ModelNotFoundError, find_model
from voicebot.speech.recordings import RecordedPrompts
from voicebot.speech.tts import DEFAULT_VOICES, SpeechSynthesizer
from voicebot.speech.tts_cache import TtsCache

_LOGGER = logging.getLogger(__name__)


class MissingSpeechModelError(RuntimeError):
    """No speech recognition model for a language the city offers."""


@dataclass(slots=True)
class StartupReport:
    """What start-up did and how long each step took (printed by serve and demo)."""

    steps: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def timed(self, name: str, started: float) -> None:
        """Record a step that began at ``started`` (perf_counter)."""
        self.steps[name] = round(time.perf_counter() - started, 3)


def vosk_model_dirs(settings: Settings, languages: tuple[str, ...]) -> dict[str, Path]:
    """Configured or pulled Vosk model directories of the languages that have one."""
    found: dict[str, Path] = {}
    for language in languages:
        configured = settings.vosk_models.get(language)
        if configured:
            found[language] = Path(configured)
            continue
        try:
            found[language] = find_model(language, settings.models_dir)
        except ModelNotFoundError:
            continue
    return found


def build_recognizers(
    settings: Settings,
    kb: KnowledgeBase,
    script: TranscriptScript | None,
    *,
    fallback: TranscriptScript | None = None,
) -> RecognizerFactory:
    """Vosk for every offered language, or the transcript script when one is given; with
    ``fallback``, the script also stands in when a language has no Vosk model."""
    if script is not None:
        return ScriptedRecognizerFactory(script, kb.city.languages)
    dirs = vosk_model_dirs(settings, kb.city.languages)
    missing = [lang for lang in kb.city.languages if lang not in dirs]
    if missing and fallback is not None:
        return ScriptedRecognizerFactory(fallback, kb.city.languages)
    if missing:
        raise MissingSpeechModelError(
            "no Vosk model for "
            + ", ".join(missing)
            + f" in {settings.models_dir}: run "
            + " and ".join(f"`voicebot models pull {lang}`" for lang in missing)
            + " (or set vosk_models in the settings)"
        )
    registry = ModelRegistry(dirs)
    for language in dirs:
        registry.get(language)  # load now, not during the first call
    return VoskRecognizerFactory(registry)


def build_router(settings: Settings, kb: KnowledgeBase) -> Router:
    """Embedding backend + cached index + classifier for this KB."""
    return Router.build(kb, create_embedder(settings.embedder), settings.cache_dir / "index")


async def build_tts(settings: Settings, kb: KnowledgeBase, report: StartupReport) -> TtsCache:
    """Start the synthesis worker and render every fixed prompt of the KB."""
    voices = {
        lang: settings.tts_voices.get(lang, DEFAULT_VOICES[lang]) for lang in kb.city.languages
    }
    synthesizer = SpeechSynthesizer(voices=voices, rate_wpm=settings.tts_rate)
    await synthesizer.start()
    all_texts = prompt_texts(kb)
    recordings = load_recordings(settings, all_texts, report)
    cache = TtsCache(settings.cache_dir / "tts", synthesizer, 4096, recordings)
    started = time.perf_counter()
    texts = {
        lang: [text for key, text in prompts.items() if (lang, key) not in recordings]
        for lang, prompts in all_texts.items()
    }
    rendered = await cache.prerender(texts)
    report.timed("prerender_prompts", started)
    report.notes.append(f"prompts: {rendered}")
    return cache


def load_recordings(
    settings: Settings, texts: dict[str, dict[str, str]], report: StartupReport
) -> RecordedPrompts:
    """The city's recorded prompts (none without ``prompts_dir``); refused files are logged
    and synthesised instead, so a bad recording never stops the switchboard."""
    if settings.prompts_dir is None:
        return RecordedPrompts({})
    started = time.perf_counter()
    recordings, problems = RecordedPrompts.load(
        settings.prompts_dir, texts, settings.cache_dir / "recordings", RECORDING_LIMITS_S
    )
    report.timed("load_recordings", started)
    report.notes.append(f"recorded prompts: {len(recordings)} used, {len(problems)} refused")
    return recordings
