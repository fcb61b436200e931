"""The ``simulated_time`` setting that lets demos and these tests choose the calls' clock."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from voicebot.config import Settings, SettingsError, load_settings


def test_simulated_time_is_parsed_with_its_utc_offset(tmp_path: Path) -> None:
    path = tmp_path / "voicebot.yaml"
    # Unquoted, YAML reads a timestamp: it must still be understood.
    path.write_text("simulated_time: 2026-11-23T10:00:00+01:00\n", encoding="utf-8")
    moment = load_settings(path, environ={}).simulated_moment
    assert moment == datetime(2026, 11, 23, 10, tzinfo=timezone(timedelta(hours=1)))
    assert Settings().checked().simulated_moment is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-11-23T10:00:00", "has no UTC offset"),
        ("next monday", "is not an ISO 8601 date and time"),
        ("2026-13-01T10:00:00+01:00", "is not an ISO 8601 date and time"),
    ],
)
def test_simulated_time_without_offset_or_unreadable_is_refused(value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(f"simulated_time: {value!r} {message}")):
        Settings(simulated_time=value).checked()


def test_simulated_time_is_refused_in_production_mode() -> None:
    settings = Settings(
        simulated_time="2026-11-23T10:00:00+01:00",
        production=True,
        pseudonym_key="a-long-random-production-secret",
        ami_secret="secret",
    )
    with pytest.raises(SettingsError, match="only for demos and tests"):
        settings.checked()


def test_serve_stops_at_once_naming_a_bad_simulated_time(tmp_path: Path) -> None:
    path = tmp_path / "voicebot.yaml"
    path.write_text('simulated_time: "2026-11-23 10:00"\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "voicebot.cli", "--config", str(path), "serve"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "simulated_time: '2026-11-23 10:00' has no UTC offset" in done.stderr
