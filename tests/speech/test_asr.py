"""Streaming recognition through the real Vosk decoder and the real Korean model.

The Korean model is the only Vosk model installable offline. Its recognition of espeak-ng's
Korean voice is poor (see the speech report), so these tests check what real audio must
produce whatever the accuracy: timing of words against where the speech really is, an
empty result for silence, grammar-restricted vocabulary, endpoints, partials, ordering
and the event loop staying free, all through 8 kHz frames of irregular sizes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.speech.conftest import KO_MODEL_DIR, espeak_telephone, odd_frames, silence
from voicebot.speech import asr
from voicebot.speech.asr import (
    AsyncRecognizer,
    FinalTranscript,
    LoadedModel,
    ModelLoadError,
    ModelRegistry,
    PartialTranscript,
    StreamingRecognizer,
    Transcript,
    grammar_json,
    model_sample_rate,
    parse_final_result,
)
from voicebot.speech.audio import duration_seconds, rms_dbfs, split_frames

KOREAN_SENTENCE = "오늘은 날씨가 아주 좋습니다. 우리는 학교에 갑니다."
LEAD_IN_S = 1.0
YES_NO = ("네", "아니요", "감사합니다", "안녕하세요")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def korean_speech() -> bytes:
    """About 4 s of espeak-ng Korean at 8 kHz, without padding."""
    return espeak_telephone(KOREAN_SENTENCE, "ko", speed=150)


@pytest.fixture(scope="module")
def korean_call_audio(korean_speech: bytes) -> bytes:
    """The sentence as a caller would say it: 1 s silence, speech, 1.5 s silence."""
    return silence(LEAD_IN_S) + korean_speech + silence(1.5)


def run_stream(
    model: LoadedModel, pcm: bytes, grammar: tuple[str, ...] | None = None
) -> tuple[list[PartialTranscript], list[FinalTranscript]]:
    recognizer = StreamingRecognizer(model, grammar=grammar)
    partials: list[PartialTranscript] = []
    finals: list[FinalTranscript] = []
    for frame in odd_frames(pcm):
        result = recognizer.accept(frame)
        if isinstance(result, PartialTranscript):
            partials.append(result)
        elif isinstance(result, FinalTranscript):
            finals.append(result)
    finals.append(recognizer.finish())
    return partials, finals


@pytest.fixture(scope="module")
def free_decoding(
    ko_model: LoadedModel, korean_call_audio: bytes
) -> tuple[list[PartialTranscript], list[FinalTranscript]]:
    return run_stream(ko_model, korean_call_audio)


def test_model_rate_is_read_from_mfcc_conf(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "mfcc.conf").write_text("--use-energy=false\n--sample-frequency=8000\n")
    assert model_sample_rate(tmp_path) == 8000
    (tmp_path / "conf" / "mfcc.conf").write_text("--use-energy=false\n")
    assert model_sample_rate(tmp_path) == 16000
    assert model_sample_rate(tmp_path / "nowhere") == 16000


def test_korean_model_wants_16khz_so_telephone_audio_is_upsampled(ko_model: LoadedModel) -> None:
    assert ko_model.sample_rate == 16000
    assert StreamingRecognizer(ko_model).input_rate == 8000


def voiced_span(pcm: bytes, threshold_dbfs: float = -45.0) -> tuple[float, float]:
    """First and last 20 ms frame above the threshold, in seconds."""
    voiced = [i for i, f in enumerate(split_frames(pcm)) if rms_dbfs(f) > threshold_dbfs]
    return voiced[0] * 0.02, (voiced[-1] + 1) * 0.02


def test_speech_gives_words_aligned_with_where_the_speech_is(
    free_decoding: tuple[list[PartialTranscript], list[FinalTranscript]],
    korean_call_audio: bytes,
) -> None:
    _, finals = free_decoding
    words = [w for final in finals for w in final.words]
    voiced_start, voiced_end = voiced_span(korean_call_audio)
    assert len(words) >= 3
    # 8 kHz audio reaching the 16 kHz model unconverted would halve every time.
    assert words[0].start == pytest.approx(voiced_start, abs=0.3)
    assert words[-1].end == pytest.approx(voiced_end, abs=0.3)
    assert all(w.start <= w.end for w in words)
    assert all(a.end <= b.start + 1e-6 for a, b in itertools.pairwise(words))
    assert all(0.0 <= w.confidence <= 1.0 for w in words)


def test_trailing_silence_produces_a_vosk_endpoint_before_finish(
    free_decoding: tuple[list[PartialTranscript], list[FinalTranscript]],
    korean_call_audio: bytes,
) -> None:
    _, finals = free_decoding
    assert len(finals) == 2, "one endpoint final from accept(), one (empty) from finish()"
    endpoint, rest = finals
    assert endpoint.text
    assert rest.text == ""
    total_ms = 1000 * duration_seconds(korean_call_audio)
    assert endpoint.audio_ms + rest.audio_ms == pytest.approx(total_ms)
    assert endpoint.decode_ms > 0
    words = endpoint.words
    assert endpoint.confidence == pytest.approx(sum(w.confidence for w in words) / len(words))
    assert endpoint.text == " ".join(w.word for w in words)


def test_partials_arrive_while_the_caller_is_still_speaking(
    free_decoding: tuple[list[PartialTranscript], list[FinalTranscript]],
) -> None:
    partials, _ = free_decoding
    texts = [p.text for p in partials if p.text]
    assert len(texts) >= 2
    assert len(set(texts)) == len(texts), "only changed partials are reported"


def test_silence_gives_an_empty_transcript(ko_model: LoadedModel) -> None:
    partials, finals = run_stream(ko_model, silence(2.0))
    assert [f.text for f in finals] == [""]
    assert finals[0].confidence == 0.0
    assert finals[0].audio_ms == pytest.approx(2000)
    assert all(p.text == "" for p in partials)


def test_grammar_restricts_recognition_to_its_phrases(
    ko_model: LoadedModel,
    korean_call_audio: bytes,
    free_decoding: tuple[list[PartialTranscript], list[FinalTranscript]],
) -> None:
    _, restricted = run_stream(ko_model, korean_call_audio, grammar=YES_NO)
    restricted_words = {w.word for f in restricted for w in f.words}
    free_words = {w.word for f in free_decoding[1] for w in f.words}
    assert restricted_words, "speech must match something in the grammar"
    assert restricted_words <= set(YES_NO)
    assert free_words - set(YES_NO), "without the grammar the model uses its full vocabulary"


def test_grammar_json_keeps_hangul_unescaped_and_rejects_bad_grammars() -> None:
    assert grammar_json(["네", " 아니요  "]) == '["네", "아니요"]'
    with pytest.raises(ValueError, match="non-empty"):
        grammar_json([])
    with pytest.raises(ValueError, match="non-empty"):
        grammar_json(["oui", "  "])
    with pytest.raises(TypeError, match="sequence of phrases"):
        grammar_json("oui")


def test_unknown_words_are_kept_in_words_but_left_out_of_the_text() -> None:
    raw = json.dumps(
        {
            "result": [
                {"word": "oui", "start": 0.1, "end": 0.4, "conf": 0.9},
                {"word": "[unk]", "start": 0.5, "end": 0.9, "conf": 0.5},
            ],
            "text": "oui [unk]",
        }
    )
    transcript = parse_final_result(raw, audio_ms=1000, decode_ms=5)
    assert transcript.text == "oui"
    assert transcript.has_unknown
    assert transcript.confidence == pytest.approx(0.7)
    only_unknown = parse_final_result('{"text": "[unk]"}', audio_ms=1, decode_ms=1)
    assert (only_unknown.text, only_unknown.confidence) == ("", 0.0)


def test_malformed_vosk_json_is_reported_with_the_payload() -> None:
    with pytest.raises(ValueError, match="malformed Vosk result"):
        parse_final_result('{"result": [{"start": 1}]}', audio_ms=0, decode_ms=0)


def test_registry_loads_a_language_once_for_concurrent_callers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    real_load = asr.load_model

    def counting_load(language: str, path: Path) -> LoadedModel:
        calls.append(language)
        return real_load(language, path)

    monkeypatch.setattr(asr, "load_model", counting_load)
    registry = ModelRegistry({"ko": KO_MODEL_DIR})
    with ThreadPoolExecutor(max_workers=4) as pool:
        loaded = list(pool.map(lambda _: registry.get("ko"), range(4)))
    assert calls == ["ko"]
    assert all(m is loaded[0] for m in loaded)


def test_registry_shares_one_load_between_languages_of_the_same_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    real_load = asr.load_model

    def counting_load(language: str, path: Path) -> LoadedModel:
        calls.append(language)
        return real_load(language, path)

    monkeypatch.setattr(asr, "load_model", counting_load)
    registry = ModelRegistry({"ko": KO_MODEL_DIR, "fr": KO_MODEL_DIR / "." / "am" / ".."})
    with ThreadPoolExecutor(max_workers=2) as pool:
        korean, french = pool.map(registry.get, ["ko", "fr"])
    assert len(calls) == 1
    assert french.model is korean.model
    assert (korean.language, french.language) == ("ko", "fr")


def test_registry_errors_name_the_language_and_the_path(tmp_path: Path) -> None:
    registry = ModelRegistry({"fr": tmp_path / "missing", "nl": tmp_path})
    with pytest.raises(ModelLoadError, match=r"'de'.*configured: fr, nl"):
        registry.get("de")
    with pytest.raises(ModelLoadError, match="'fr' not found"):
        registry.get("fr")
    with pytest.raises(ModelLoadError, match=f"cannot load Vosk model for 'nl' from {tmp_path}"):
        registry.get("nl")


async def test_decoding_runs_off_the_event_loop(
    ko_model: LoadedModel, korean_call_audio: bytes
) -> None:
    loop_thread = threading.get_ident()
    decode_threads: set[int] = set()
    recognizer = StreamingRecognizer(ko_model)
    real_accept = recognizer.accept

    def accept_recording_thread(pcm: bytes) -> Transcript | None:
        decode_threads.add(threading.get_ident())
        ticks_before = len(gaps)
        result = real_accept(pcm)
        if len(gaps) > ticks_before:
            overlapped.append(len(gaps) - ticks_before)
        return result

    recognizer.accept = accept_recording_thread  # type: ignore[method-assign]
    async_recognizer = AsyncRecognizer(recognizer)
    gaps: list[float] = []
    overlapped: list[int] = []
    """Ticks of the event loop while Vosk was decoding a chunk, per chunk that had any."""
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    # 1 s chunks: each takes Vosk ~100-300 ms, which would freeze a loop doing it inline.
    async with asyncio.timeout(60):
        for offset in range(0, len(korean_call_audio), 16000):
            await async_recognizer.accept(korean_call_audio[offset : offset + 16000])
        final = await async_recognizer.finish()
    stop.set()
    await asyncio.wait_for(ticking, timeout=5)
    assert loop_thread not in decode_threads
    # The loop kept running while Vosk decoded (how smoothly depends on the machine's load,
    # so no gap figure here: bench.asr_rtf measures decoding).
    assert overlapped, "the event loop never ran while a chunk was being decoded"
    assert final.audio_ms > 0


async def test_concurrently_submitted_chunks_reach_vosk_in_order(
    ko_model: LoadedModel, korean_call_audio: bytes
) -> None:
    frames = odd_frames(korean_call_audio)
    fed: list[bytes] = []
    recognizer = StreamingRecognizer(ko_model)
    real_accept = recognizer.accept

    def accept_recording_order(pcm: bytes) -> Transcript | None:
        fed.append(pcm)
        return real_accept(pcm)

    recognizer.accept = accept_recording_order  # type: ignore[method-assign]
    with ThreadPoolExecutor(max_workers=4) as pool:
        async_recognizer = AsyncRecognizer(recognizer, pool)
        async with asyncio.timeout(60):
            results = await asyncio.gather(*(async_recognizer.accept(f) for f in frames))
            last = await async_recognizer.finish()
    # Order is the property under test. The words are not compared with a second decode:
    # Vosk's output for the same audio varies slightly between runs.
    assert fed == frames
    assert len(results) == len(frames)
    assert isinstance(last, FinalTranscript)


async def test_a_cancelled_accept_finishes_before_the_next_chunk_enters_vosk(
    ko_model: LoadedModel, korean_call_audio: bytes
) -> None:
    recognizer = StreamingRecognizer(ko_model)
    real_accept = recognizer.accept
    inside = 0
    overlaps = 0
    entered: list[int] = []

    def accept_watching_overlap(pcm: bytes) -> Transcript | None:
        nonlocal inside, overlaps
        inside += 1
        overlaps += inside > 1
        entered.append(len(pcm))
        try:
            return real_accept(pcm)
        finally:
            inside -= 1

    recognizer.accept = accept_watching_overlap  # type: ignore[method-assign]
    big, small = korean_call_audio[:64000], korean_call_audio[64000:64320]
    with ThreadPoolExecutor(max_workers=4) as pool:
        async_recognizer = AsyncRecognizer(recognizer, pool)
        first = asyncio.create_task(async_recognizer.accept(big))
        await asyncio.sleep(0.05)
        first.cancel()
        async with asyncio.timeout(30):
            await async_recognizer.accept(small)
    assert first.cancelled()
    assert entered == [len(big), len(small)]
    assert overlaps == 0


def test_alternatives_come_best_first_with_posterior_weights(
    ko_model: LoadedModel, korean_call_audio: bytes
) -> None:
    recognizer = StreamingRecognizer(ko_model, max_alternatives=3)
    finals = [
        r
        for r in map(recognizer.accept, odd_frames(korean_call_audio))
        if isinstance(r, FinalTranscript)
    ]
    finals.append(recognizer.finish())
    final = next(f for f in finals if f.text)
    assert 1 <= len(final.alternatives) <= 3
    assert final.alternatives[0].text == final.text
    assert sum(a.weight for a in final.alternatives) == pytest.approx(1.0)
    weights = [a.weight for a in final.alternatives]
    assert weights == sorted(weights, reverse=True)
    assert final.confidence == pytest.approx(weights[0])


def test_an_n_best_result_is_parsed_as_vosk_writes_it() -> None:
    raw = (
        '{"alternatives": [{"confidence": 140.5, "result": [{"end": 0.5, "start": 0.1, '
        '"word": "bonjour"}], "text": "bonjour"}, {"confidence": 139.5, "result": [], '
        '"text": "bon jour [unk]"}]}'
    )
    final = parse_final_result(raw, audio_ms=600.0, decode_ms=5.0)
    assert final.text == "bonjour"
    assert [a.text for a in final.alternatives] == ["bonjour", "bon jour"]
    assert final.alternatives[0].weight == pytest.approx(1 / (1 + math.exp(-1.0)))
    assert final.words[0].confidence == pytest.approx(final.alternatives[0].weight)
