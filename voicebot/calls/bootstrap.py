"""Build what a process shares between calls, from the settings, before the first call.

Models load once here, fixed prompts are rendered here: the audio path never waits for
a model load or a first synthesis.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from voicebot.calllog.db import create_calllog_engine, migrate
from voicebot.calllog.pseudonymize import Pseudonymizer
from voicebot.calllog.repository import CallLogRepository
from voicebot.calllog.writer import CallLogWriter
from voicebot.calls.control import CallControl
from voicebot.calls.recognition import (
    RecognizerFactory,
    ScriptedRecognizerFactory,
    TranscriptScript,
    VoskRecognizerFactory,
)
from voicebot.calls.services import CallObserver, CallServices
from voicebot.config import Settings
from voicebot.dialog import prompt_texts
from voicebot.knowledge.loader import load_kb
from voicebot.knowledge.model import KnowledgeBase
from voicebot.routing.embedders import create_embedder
from voicebot.routing.router import Router
from voicebot.speech.asr import ModelRegistry
from voicebot.speech.endpointing import EndpointerConfig
from voicebot.speech.models import ModelNotFoundError, find_model
from voicebot.speech.tts import DEFAULT_VOICES, SpeechSynthesizer
from voicebot.speech.tts_cache import TtsCache
from voicebot.speech.vad import SileroVad

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
    settings: Settings, kb: KnowledgeBase, script: TranscriptScript | None
) -> RecognizerFactory:
    """Vosk for every offered language, or the transcript script when one is given."""
    if script is not None:
        return ScriptedRecognizerFactory(script, kb.city.languages)
    dirs = vosk_model_dirs(settings, kb.city.languages)
    missing = [lang for lang in kb.city.languages if lang not in dirs]
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
    cache = TtsCache(settings.cache_dir / "tts", synthesizer, memory_items=4096)
    started = time.perf_counter()
    texts = {lang: list(prompts.values()) for lang, prompts in prompt_texts(kb).items()}
    rendered = await cache.prerender(texts)
    report.timed("prerender_prompts", started)
    report.notes.append(f"prompts: {rendered}")
    return cache


def build_writer(settings: Settings) -> CallLogWriter:
    """Migrate the call log database and start the batch writer."""
    url = settings.resolved_database_url
    migrate(url)
    engine = create_calllog_engine(url)
    repository = CallLogRepository(
        engine, Pseudonymizer(settings.pseudonym_key.encode("utf-8"), settings.default_country_code)
    )
    return CallLogWriter(
        repository, settings.data_dir / "spool", max_spool_bytes=settings.calllog_spool_max_bytes
    )


async def build_call_services(
    settings: Settings,
    *,
    script: TranscriptScript | None = None,
    control: CallControl | None = None,
    writer: CallLogWriter | None = None,
    observers: list[CallObserver] | None = None,
) -> tuple[CallServices, CallLogWriter, StartupReport]:
    """Everything calls share; the writer is returned so the caller can close it."""
    report = StartupReport()
    started = time.perf_counter()
    kb = load_kb(settings.kb_path)
    report.timed("load_kb", started)
    started = time.perf_counter()
    recognizers = build_recognizers(settings, kb, script)
    report.timed("load_speech_models", started)
    report.notes.append(f"recognition: {recognizers.description}")
    started = time.perf_counter()
    router = build_router(settings, kb)
    report.timed("load_router", started)
    tts = await build_tts(settings, kb, report)
    started = time.perf_counter()
    writer = writer or build_writer(settings)
    report.timed("open_call_log", started)
    vad_factory: Callable[[], SileroVad] = SileroVad
    services = CallServices.create(
        router,
        recognizers=recognizers,
        tts=tts,
        vad_factory=vad_factory,
        records=writer,
        control=control,
        endpointing=EndpointerConfig(
            trailing_silence=settings.endpoint_silence_ms / 1000,
            no_input_timeout=settings.no_input_timeout_s,
        ),
        observers=list(observers or []),
    )
    return services, writer, report
