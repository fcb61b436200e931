"""Settings: defaults, then the YAML file, then ``VOICEBOT_*`` variables; one-line errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from voicebot.config import Settings, SettingsError, load_settings
from voicebot.knowledge.loader import sample_kb_path


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "voicebot.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_file_or_variables_the_defaults_hold() -> None:
    settings = load_settings(None, environ={})
    assert settings == Settings()
    assert settings.kb_path == sample_kb_path()
    assert settings.tts_rate == 165 and settings.sounds_dir is None


def test_the_environment_wins_over_the_file_which_wins_over_the_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "tts_rate: 150\nworkers: 2\n")
    settings = load_settings(path, environ={"VOICEBOT_TTS_RATE": "170"})
    assert settings.tts_rate == 170  # environment
    assert settings.workers == 2  # file
    assert settings.api_port == 8080  # default


def test_voicebot_config_names_the_file_when_no_path_is_given(tmp_path: Path) -> None:
    path = write(tmp_path, "api_port: 8181\n")
    assert load_settings(None, environ={"VOICEBOT_CONFIG": str(path)}).api_port == 8181


def test_unrelated_voicebot_variables_are_not_settings() -> None:
    environ = {"VOICEBOT_TEST_POSTGRES_URL": "postgresql://x", "VOICEBOT_CONFIG": ""}
    assert load_settings(None, environ=environ) == Settings()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[("1", True), ("true", True), ("Yes", True), ("on", True)],
        *[("0", False), ("false", False), ("no", False), ("OFF", False)],
    ],
)
def test_booleans_are_read_from_the_usual_words(raw: str, expected: bool) -> None:
    environ = {"VOICEBOT_ENDPOINT_FROM_VOICE": raw}
    assert load_settings(None, environ=environ).endpoint_from_voice is expected


def test_variables_are_converted_to_each_setting_s_type() -> None:
    settings = load_settings(
        None,
        environ={
            "VOICEBOT_WORKERS": "3",
            "VOICEBOT_NO_INPUT_TIMEOUT_S": "7.5",
            "VOICEBOT_DATA_DIR": "/srv/voicebot",
            "VOICEBOT_PROMPTS_DIR": "/srv/prompts",
            "VOICEBOT_SOUNDS_DIR": "",
            "VOICEBOT_VOSK_MODELS": "fr=models/fr, nl = models/nl",
        },
    )
    assert settings.workers == 3
    assert settings.no_input_timeout_s == 7.5
    assert settings.data_dir == Path("/srv/voicebot")
    assert settings.prompts_dir == Path("/srv/prompts")
    assert settings.sounds_dir is None
    assert settings.vosk_models == {"fr": "models/fr", "nl": "models/nl"}


def test_file_values_of_yaml_types_are_read_as_the_setting_s_type(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "default_country_code: 33\ntts_voices: {fr: fr-fr, de: de}\n"
        "data_dir: var/city\nsounds_dir: /var/lib/asterisk/sounds/voicebot\n",
    )
    settings = load_settings(path, environ={})
    assert settings.default_country_code == "33"
    assert settings.tts_voices == {"fr": "fr-fr", "de": "de"}
    assert settings.data_dir == Path("var/city")
    assert settings.sounds_dir == Path("/var/lib/asterisk/sounds/voicebot")


def test_a_bad_value_from_a_variable_names_the_setting_and_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "workers: 2\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(path, environ={"VOICEBOT_TTS_RATE": "fast"})
    assert str(caught.value) == "tts_rate: 'fast' is not a valid int (from VOICEBOT_TTS_RATE)"


def test_a_bad_value_from_the_file_names_the_setting_and_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "no_input_timeout_s: soon\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(path, environ={})
    assert str(caught.value) == f"no_input_timeout_s: 'soon' is not a valid float (from {path})"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tts_rate: true\n", "tts_rate: True is not a valid int"),
        ("production: maybe\n", "production: 'maybe' is not a valid bool"),
        ("vosk_models: [fr]\n", "vosk_models: ['fr'] is not a valid dict"),
    ],
)
def test_values_of_the_wrong_kind_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings(path, environ={})


def test_a_variable_that_is_not_lang_value_pairs_is_refused_naming_it() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(None, environ={"VOICEBOT_TTS_VOICES": "fr-be"})
    assert str(caught.value) == "VOICEBOT_TTS_VOICES: expected lang=value pairs separated by commas"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("tts_rate: 150\nvoice_speed: 2\nzone: x\n", "unknown setting(s): voice_speed, zone"),
        ("- tts_rate\n", "the settings file must be a mapping of names to values"),
        ("tts_rate: [150\n", "invalid YAML"),
        ("a: &x [1]\nb: *x\n", "alias *x refused"),
    ],
)
def test_a_bad_file_is_refused_in_one_line_naming_it(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as caught:
        load_settings(path, environ={})
    message = str(caught.value)
    assert message.startswith(str(path)) and problem in message
    assert "\n" not in message


def test_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(SettingsError, match=re.escape(f"{missing}: cannot read settings file")):
        load_settings(missing, environ={})


def test_settings_built_in_code_take_exactly_the_values_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOICEBOT_TTS_RATE", "99")
    assert Settings().tts_rate == 165
    assert Settings(tts_rate=120).tts_rate == 120


def test_settings_cannot_be_changed_once_built() -> None:
    settings = Settings()
    with pytest.raises((AttributeError, TypeError, ValueError)):
        settings.tts_rate = 1  # type: ignore[misc]


def test_cross_field_rules_are_checked_after_loading(tmp_path: Path) -> None:
    path = write(tmp_path, "endpoint_silence_ms: 50\n")
    with pytest.raises(SettingsError, match="endpoint_silence_ms: below 100 ms"):
        load_settings(path, environ={})
