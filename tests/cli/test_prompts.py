"""``prompts export``, ``prompts check`` and the spoken durations of ``kb validate``, with
the real espeak-ng voices (the texts are rendered and timed as a caller hears them)."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.dialog.driver import CITY_YAML
from voicebot.cli import kb as kb_commands
from voicebot.cli import prompts as prompt_commands
from voicebot.config import Settings


def run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="voicebot")
    commands = parser.add_subparsers()
    prompt_commands.register(commands)
    kb_commands.register(commands)
    args = parser.parse_args(argv)
    code: int = args.handler(args, settings)
    return code


@pytest.fixture
def city(tmp_path: Path) -> Path:
    path = tmp_path / "city.yaml"
    path.write_text(CITY_YAML, encoding="utf-8")
    return path


@pytest.fixture
def settings(tmp_path: Path, city: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", kb_path=city)


@pytest.mark.slow
def test_export_lists_every_prompt_with_its_file_text_and_duration(
    settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "prompts.csv"
    assert run(settings, "prompts", "export", "--out", str(out)) == 0
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["id", "language", "file", "text", "seconds", "recorded"]
    by_id = {(r["language"], r["id"]): r for r in rows}
    greeting = by_id[("fr", "greeting")]
    assert greeting["file"] == "fr/greeting.wav"
    assert greeting["text"].startswith("Bonjour, commune de Woluwe-Test.")
    assert 3.0 < float(greeting["seconds"]) < 7.0
    assert by_id[("de", "faq_details:bulky_waste")]["file"] == "de/faq_details.bulky_waste.wav"
    assert {r["recorded"] for r in rows} == {"no"}
    assert all(float(r["seconds"]) > 0.3 for r in rows)


@pytest.mark.slow
def test_a_recording_dropped_in_is_used_and_exported_as_recorded(
    tmp_path: Path, city: Path
) -> None:
    prompts = tmp_path / "prompts"
    (prompts / "fr").mkdir(parents=True)
    t = np.arange(2 * 16000) / 16000
    voice = 0.1 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    soundfile.write(str(prompts / "fr" / "greeting.flac"), voice, 16000)
    settings = Settings(data_dir=tmp_path / "var", kb_path=city, prompts_dir=prompts)
    out = tmp_path / "prompts.csv"
    assert run(settings, "prompts", "export", "--out", str(out)) == 0
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = {(r["language"], r["id"]): r for r in csv.DictReader(handle)}
    assert rows[("fr", "greeting")]["recorded"] == "yes"
    assert 1.9 < float(rows[("fr", "greeting")]["seconds"]) < 2.4
    assert run(settings, "prompts", "check") == 0


def test_check_lists_each_refused_recording_and_fails(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "prompts"
    (prompts / "fr").mkdir(parents=True)
    soundfile.write(str(prompts / "fr" / "goodbye.wav"), np.zeros(8000), 8000)
    assert run(settings, "prompts", "check", "--dir", str(prompts)) == 2
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{prompts / 'fr' / 'goodbye.wav'}: silent (nothing above -45 dBFS)",
        f"{prompts}: 0 recordings usable, 1 refused",
    ]


@pytest.mark.slow
def test_kb_check_times_every_answer_and_flags_the_long_ones(
    command_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long = " ".join(["Les encombrants sont collectés le premier lundi du mois."] * 10)
    text = CITY_YAML.replace(
        "fr: Les encombrants sont collectés le premier lundi du mois.", f"fr: {long}"
    )
    path = tmp_path / "long.yaml"
    path.write_text(text, encoding="utf-8")
    run(
        Settings(data_dir=command_data_dir, kb_path=path),
        "kb",
        "check",
        "--backend",
        "minilm",
        str(path),
    )
    out = capsys.readouterr().out
    # The report speaks the KB's default language (French).
    section = out[out.index("Durées parlées") :]
    assert "Synthèse à 165 mots par minute ; 0 texte(s) enregistré(s) par la commune." in section
    assert "Accueil et choix de la langue (fr) : " in section
    assert "faq:id_card : fr " in section
    assert "faq_details:bulky_waste : fr " in section
    assert " ! faq:bulky_waste (fr) dure " in section
    assert "faq:bulky_waste (nl) dure" not in section


def test_kb_check_without_speech_has_no_spoken_section(
    command_data_dir: Path, city: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=command_data_dir, kb_path=city)
    run(settings, "kb", "check", "--no-speech", "--backend", "minilm", str(city))
    assert "Durées parlées" not in capsys.readouterr().out
