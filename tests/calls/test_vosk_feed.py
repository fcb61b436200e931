"""The call session's Vosk recogniser: audio accepted at once, decoded in order behind it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.speech.conftest import KO_MODEL_DIR, espeak_telephone, silence
from voicebot.calls.recognition import FEED_BYTES, VoskRecognizerFactory
from voicebot.speech.asr import ModelRegistry, StreamingRecognizer, Transcript
from voicebot.speech.audio import split_frames

SENTENCES = ["오늘은 날씨가 아주 좋습니다.", "우리는 학교에 갑니다. 감사합니다."]


@pytest.fixture(scope="module")
def registry() -> ModelRegistry:
    registry = ModelRegistry({"ko": KO_MODEL_DIR})
    registry.get("ko")
    return registry


@pytest.fixture(scope="module")
def utterance() -> bytes:
    # Two sentences with a pause: Vosk ends a segment inside our one utterance.
    return b"".join(
        silence(0.3) + espeak_telephone(text, "ko", speed=160) for text in SENTENCES
    ) + silence(0.5)


@pytest.fixture
def single_worker() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=1) as executor:
        yield executor


async def test_accepting_audio_never_waits_for_the_decoder(
    registry: ModelRegistry, single_worker: ThreadPoolExecutor, utterance: bytes
) -> None:
    # The only decoding thread is held: a session waiting on Vosk would hang here.
    gate = threading.Event()
    single_worker.submit(gate.wait, 30)
    recognizer = VoskRecognizerFactory(registry, single_worker).create("call-1", "ko", None)
    async with asyncio.timeout(20):
        for frame in split_frames(utterance):
            await recognizer.accept(frame)
    gate.set()
    async with asyncio.timeout(60):
        transcript = await recognizer.finish()
    assert transcript.text
    assert transcript.audio_ms == pytest.approx(len(utterance) / 16, abs=25)


async def test_vosk_gets_every_byte_in_order_in_100ms_pieces(
    registry: ModelRegistry,
    single_worker: ThreadPoolExecutor,
    utterance: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    received: list[bytes] = []
    real_accept = StreamingRecognizer.accept

    def recording_accept(self: StreamingRecognizer, pcm: bytes) -> Transcript | None:
        received.append(pcm)
        return real_accept(self, pcm)

    monkeypatch.setattr(StreamingRecognizer, "accept", recording_accept)
    recognizer = VoskRecognizerFactory(registry, single_worker).create("call-2", "ko", None)
    frames = split_frames(utterance)
    async with asyncio.timeout(60):
        for frame in frames:
            await recognizer.accept(frame)
        first = await recognizer.finish()
        fed_first = len(received)
        # The recogniser is reused for the caller's next utterance.
        for frame in frames:
            await recognizer.accept(frame)
        second = await recognizer.finish()
    assert b"".join(received) == b"".join(frames) * 2
    assert all(len(piece) <= FEED_BYTES for piece in received)
    assert fed_first == -(-len(b"".join(frames)) // FEED_BYTES)
    assert first.text and second.text
    assert first.audio_ms == pytest.approx(second.audio_ms, abs=1)
