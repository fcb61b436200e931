"""Production mode refuses to start with the development pseudonymisation key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from voicebot.config import DEFAULT_PSEUDONYM_KEY, SettingsError, load_settings

REFUSAL = "pseudonym_key: production mode refuses the default key"


def test_production_serve_with_the_default_key_exits_2_before_touching_anything(
    tmp_path: Path,
) -> None:
    config = tmp_path / "voicebot.yaml"
    config.write_text(
        yaml.safe_dump({"production": True, "ami_secret": "s", "data_dir": str(tmp_path / "var")}),
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "voicebot.cli", "--config", str(config), "serve"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert f"voicebot: {REFUSAL}" in done.stderr
    assert "VOICEBOT_PSEUDONYM_KEY" in done.stderr
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize(
    ("values", "env"),
    [
        ({"production": True, "ami_secret": "s"}, {}),
        ({"production": True, "ami_secret": "s", "pseudonym_key": DEFAULT_PSEUDONYM_KEY}, {}),
        ({"ami_secret": "s"}, {"VOICEBOT_PRODUCTION": "yes"}),
        (
            {"production": True, "ami_secret": "s", "pseudonym_key": "a-real-long-secret-key"},
            {"VOICEBOT_PSEUDONYM_KEY": DEFAULT_PSEUDONYM_KEY},
        ),
    ],
    ids=["key-unset", "key-in-file", "production-from-env", "default-key-from-env"],
)
def test_every_way_to_the_default_key_is_refused_in_production(
    tmp_path: Path, values: dict[str, object], env: dict[str, str]
) -> None:
    config = tmp_path / "voicebot.yaml"
    config.write_text(yaml.safe_dump(values), encoding="utf-8")
    with pytest.raises(SettingsError, match=REFUSAL):
        load_settings(config, environ=env)


def test_production_settings_with_a_real_key_are_accepted(tmp_path: Path) -> None:
    config = tmp_path / "voicebot.yaml"
    config.write_text(
        yaml.safe_dump({"production": True, "ami_secret": "s", "pseudonym_key": "k" * 32}),
        encoding="utf-8",
    )
    settings = load_settings(config, environ={})
    assert settings.production and settings.pseudonym_key == "k" * 32
