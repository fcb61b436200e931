"""`voicebot demo` — the README's first command — plays a call and reads it back via the API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def test_demo_plays_a_call_and_shows_its_record_from_the_api(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VOICEBOT_DATA_DIR": str(tmp_path / "var")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "voicebot.cli",
            "demo",
            "--say",
            "bonjour je voudrais parler à quelqu un de l accueil",
            "--out",
            str(tmp_path / "wav"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "words come from the script" in output  # honest about the missing French model
    assert re.search(r"assistant  : operator \(score [0-9.]+\) → operator", output), output
    assert "transfer   : extension 1000 (operator)" in output, output
    assert re.search(r"GET /api/calls/[0-9a-f-]{36} → 200: outcome operator", output), output
    wav = tmp_path / "wav" / "call-1-assistant.wav"
    assert wav.stat().st_size > 8000 * 2  # more than a second of the assistant's voice
