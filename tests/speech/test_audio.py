"""Telephone PCM helpers: conversions, resampling quality, framing, WAV, level."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicebot.speech.audio import (
    FRAME_BYTES,
    StreamingResampler,
    duration_seconds,
    int16_to_pcm,
    pcm_to_int16,
    read_wav,
    resample,
    rms_dbfs,
    split_frames,
    to_telephone_pcm,
    write_wav,
)


def tone(freq: float, rate: int, seconds: float, amplitude: float = 8000.0) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[int(np.argmax(spectrum))])


def test_frame_constants_describe_20ms_of_8khz_slin16() -> None:
    assert FRAME_BYTES == 320


def test_pcm_roundtrip_is_little_endian_int16() -> None:
    pcm = b"\x01\x00\xff\x7f\x00\x80"
    samples = pcm_to_int16(pcm)
    assert samples.tolist() == [1, 32767, -32768]
    assert int16_to_pcm(samples) == pcm


def test_odd_byte_count_is_rejected_with_its_length() -> None:
    with pytest.raises(ValueError, match="107 bytes"):
        pcm_to_int16(bytes(107))


def test_float_samples_are_rounded_and_clipped() -> None:
    pcm = int16_to_pcm(np.array([1.6, -40000.0, 40000.0]))
    assert pcm_to_int16(pcm).tolist() == [2, -32768, 32767]


def test_resample_8k_to_16k_keeps_tone_frequency_and_level() -> None:
    out = resample(tone(440, 8000, 1.0), 8000, 16000)
    assert out.size == 16000
    assert dominant_frequency(out[1000:-1000], 16000) == pytest.approx(440, abs=2)
    assert float(np.max(np.abs(out[1000:-1000]))) == pytest.approx(8000, rel=0.02)


def test_resample_to_telephone_removes_content_above_4khz() -> None:
    # 5 kHz would alias to 3 kHz without the anti-aliasing filter.
    mixed = tone(1000, 22050, 1.0) + tone(5000, 22050, 1.0)
    pcm = to_telephone_pcm(mixed, 22050)
    samples = pcm_to_int16(pcm).astype(np.float64)[800:-800]
    spectrum = np.abs(np.fft.rfft(samples))
    freqs = np.fft.rfftfreq(samples.size, 1 / 8000)
    at_1k = spectrum[np.argmin(np.abs(freqs - 1000))]
    at_3k = spectrum[np.argmin(np.abs(freqs - 3000))]
    assert duration_seconds(pcm) == pytest.approx(1.0, abs=0.001)
    assert at_3k < at_1k / 300  # > 50 dB alias rejection


def test_split_frames_zero_pads_the_last_frame() -> None:
    frames = split_frames(b"\x01\x02" * 170)
    assert [len(f) for f in frames] == [320, 320]
    assert frames[1][:20] == b"\x01\x02" * 10 and frames[1][20:] == bytes(300)


def test_split_frames_of_empty_audio_is_empty() -> None:
    assert split_frames(b"") == []


def test_wav_roundtrip_and_stereo_is_mixed_to_mono(tmp_path: Path) -> None:
    mono = tmp_path / "mono.wav"
    write_wav(mono, int16_to_pcm(np.array([1, 2, 3])), rate=8000)
    samples, rate = read_wav(mono)
    assert (samples.tolist(), rate) == ([1, 2, 3], 8000)

    import wave

    stereo = tmp_path / "stereo.wav"
    with wave.open(str(stereo), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(int16_to_pcm(np.array([100, 300, -100, -300])))
    samples, rate = read_wav(stereo)
    assert (samples.tolist(), rate) == ([200, -200], 16000)


def test_read_wav_names_the_file_when_it_is_not_a_wav(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.wav"
    bogus.write_bytes(b"not a wav at all")
    with pytest.raises(ValueError, match=r"bogus\.wav"):
        read_wav(bogus)


def test_rms_of_full_scale_square_is_0_dbfs_and_silence_is_minus_inf() -> None:
    assert rms_dbfs(int16_to_pcm(np.array([32767, -32767] * 80))) == pytest.approx(0.0, abs=0.01)
    assert rms_dbfs(bytes(320)) == -math.inf
    assert rms_dbfs(b"") == -math.inf


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=40))
def test_streaming_resampler_output_does_not_depend_on_chunk_sizes(sizes: list[int]) -> None:
    rng = np.random.default_rng(7)
    pcm = int16_to_pcm(rng.normal(0, 3000, 4000))
    whole = StreamingResampler(8000, 16000).process(pcm)
    streamed = StreamingResampler(8000, 16000)
    out = b""
    offset = index = 0
    while offset < len(pcm):
        size = sizes[index % len(sizes)]
        out += streamed.process(pcm[offset : offset + size])
        offset += size
        index += 1
    assert out == whole
    assert len(whole) == 2 * len(pcm)


def test_streaming_resampler_matches_ideal_upsampled_tone() -> None:
    resampler = StreamingResampler(8000, 16000)
    out = pcm_to_int16(resampler.process(int16_to_pcm(tone(440, 8000, 1.0)))).astype(np.float64)
    t = np.arange(16000) / 16000 - resampler.delay_seconds
    ideal = 8000 * np.sin(2 * np.pi * 440 * t)
    error = out[200:-200] - ideal[200:-200]
    snr_db = 10 * np.log10(np.mean(ideal[200:-200] ** 2) / np.mean(error**2))
    assert snr_db > 60
    assert resampler.delay_seconds < 0.005


def test_streaming_resampler_downsamples_and_passes_through() -> None:
    assert len(StreamingResampler(16000, 8000).process(bytes(640))) == 320
    assert StreamingResampler(8000, 8000).process(b"\x01\x02\x03") == b"\x01\x02"
