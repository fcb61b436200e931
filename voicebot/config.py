"""Settings: defaults, then a YAML file, then ``VOICEBOT_*`` environment variables.

Validated once at start: a wrong value stops the program with a message naming the
setting and where it came from.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from voicebot import safe_yaml
from voicebot.knowledge.loader import sample_kb_path

DEFAULT_PSEUDONYM_KEY = "voicebot-development-key-change-me"


class SettingsError(ValueError):
    """A setting is missing or wrong; the message names it and its source."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the assistant needs to know at start."""

    kb_path: Path = field(default_factory=sample_kb_path)
    """The city's knowledge base (YAML)."""
    embedder: str = "use-v3"
    """Routing embedding backend: ``use-v3``, ``minilm`` or ``st:<model dir>``."""
    data_dir: Path = Path("var")
    """Caches (index, rendered audio), call-log spool, the embedded SQLite database."""
    models_dir: Path = Path("models")
    """Where ``voicebot models pull`` puts speech and embedding models."""
    vosk_models: dict[str, str] = field(default_factory=dict)
    """Language → Vosk model directory; missing languages are looked up in models_dir."""
    database_url: str = ""
    """SQLAlchemy URL of the call log; empty: SQLite file in data_dir."""
    tts_voices: dict[str, str] = field(default_factory=dict)
    """Language → espeak-ng voice (defaults: fr → fr-be, nl, en, de)."""
    tts_rate: int = 165
    """Speaking rate in words per minute."""
    endpoint_silence_ms: int = 300
    endpoint_from_voice: bool = True
    """Count that silence from the caller's last voiced frame (frame energy with the VAD);
    false: from the VAD's last speech chunk, which lags the voice by ~80 ms."""
    """Trailing silence that ends an utterance."""
    no_input_timeout_s: float = 6.0
    """Silence before the assistant prompts the caller again."""
    max_call_s: float = 300.0
    """Longest call the assistant handles before handing over or saying goodbye."""
    audiosocket_host: str = "0.0.0.0"
    audiosocket_port: int = 9092
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_username: str = "voicebot"
    ami_secret: str = ""
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    forwarded_allow_ips: str = ""
    """Reverse proxies (comma-separated addresses or networks, e.g. ``10.0.0.5`` or
    ``10.0.0.0/24``) whose ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed.
    Empty (the default): the headers are ignored, so no client can pick the address the
    sign-in limits and the audit trail see. Set it only to the proxy in front of the API."""
    workers: int = 1
    pseudonym_key: str = DEFAULT_PSEUDONYM_KEY
    """Key of the caller-number pseudonymisation hash."""
    production: bool = False
    """Production mode refuses default secrets."""
    transcript_retention_days: int = 90
    call_grace_s: float = 60.0
    """On SIGTERM, how long calls in progress may go on before they are cut (and recorded)."""
    calllog_spool_max_bytes: int = 256 * 2**20
    """Disk the call log may use for records waiting while the database is down; beyond
    it records wait in memory (bounded), then are dropped with an error."""
    default_country_code: str = "32"
    """Country code assumed for national caller numbers when pseudonymising them."""
    sounds_dir: Path | None = None
    """Directory shared with Asterisk's sounds (whispers for agents); None: no whisper."""
    prompts_dir: Path | None = None
    """The city's recordings of fixed prompts (``<lang>/<prompt id>.wav|flac|mp3``, list
    from ``voicebot prompts export``), played instead of synthesis; None: synthesis only."""
    redis_url: str = ""
    """Redis for live events across worker processes; empty: PostgreSQL NOTIFY or in-process."""
    simulated_time: str = ""
    """For demos and tests only: ISO 8601 date and time with its UTC offset (e.g.
    ``2026-11-23T10:00:00+01:00``); calls then see the clock start at that moment and run
    at real speed, so opening hours do not depend on the day it runs. Empty: the real clock."""

    @property
    def cache_dir(self) -> Path:
        """Derived caches (embedding index, rendered prompts)."""
        return self.data_dir / "cache"

    @property
    def spool_dir(self) -> Path:
        """Where the call log writer spools records while the database is away (``0700``)."""
        return self.data_dir / "spool"

    @property
    def resolved_database_url(self) -> str:
        """The call log URL, defaulting to an SQLite file in data_dir."""
        return self.database_url or f"sqlite:///{self.data_dir / 'voicebot.db'}"

    @property
    def simulated_moment(self) -> datetime | None:
        """``simulated_time`` parsed (None when empty); call :meth:`validate` first."""
        return datetime.fromisoformat(self.simulated_time) if self.simulated_time else None

    def validate(self) -> Settings:
        """Check cross-field rules; returns self for chaining."""
        if self.production:
            if self.pseudonym_key == DEFAULT_PSEUDONYM_KEY:
                raise SettingsError(
                    "pseudonym_key: production mode refuses the default key "
                    "(set VOICEBOT_PSEUDONYM_KEY to a long random secret)"
                )
            if not self.ami_secret:
                raise SettingsError("ami_secret: production mode needs the AMI user's secret")
        if len(self.pseudonym_key) < 16:
            raise SettingsError("pseudonym_key: use at least 16 characters")
        for name in ("audiosocket_port", "ami_port", "api_port"):
            port = getattr(self, name)
            if not 0 <= port <= 65535:
                raise SettingsError(f"{name}: {port} is not a TCP port")
        if not self.default_country_code.isdigit():
            raise SettingsError("default_country_code: digits only, e.g. 32 for Belgium")
        if not 0 <= self.call_grace_s <= 3600:
            raise SettingsError("call_grace_s: must be between 0 and 3600 seconds")
        if self.calllog_spool_max_bytes < 4096:
            raise SettingsError("calllog_spool_max_bytes: use at least 4096 bytes")
        if self.workers < 1:
            raise SettingsError("workers: must be at least 1")
        if self.endpoint_silence_ms < 100:
            raise SettingsError("endpoint_silence_ms: below 100 ms callers get cut off")
        if self.simulated_time:
            self._check_simulated_time()
        forwarded_allow_list(self.forwarded_allow_ips)
        return self

    def _check_simulated_time(self) -> None:
        try:
            moment = datetime.fromisoformat(self.simulated_time)
        except ValueError:
            raise SettingsError(
                f"simulated_time: {self.simulated_time!r} is not an ISO 8601 date and time "
                "(e.g. 2026-11-23T10:00:00+01:00)"
            ) from None
        if moment.tzinfo is None:
            raise SettingsError(
                f"simulated_time: {self.simulated_time!r} has no UTC offset "
                "(add one, e.g. +01:00 for Brussels in winter)"
            )
        if self.production:
            raise SettingsError("simulated_time: only for demos and tests, not in production mode")


def forwarded_allow_list(value: str) -> list[str]:
    """The proxies of ``forwarded_allow_ips`` (empty: trust none); SettingsError if one is not
    an address or network."""
    entries = [item.strip() for item in value.split(",") if item.strip()]
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise SettingsError(
                f"forwarded_allow_ips: {entry!r} is not an IP address or network "
                "(e.g. 10.0.0.5 or 10.0.0.0/24)"
            ) from None
    return entries


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Defaults ← YAML file (``path`` or ``$VOICEBOT_CONFIG``) ← ``VOICEBOT_<NAME>`` variables."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = path or environ.get("VOICEBOT_CONFIG")
    if path:
        values.update(_read_file(Path(path)))
    for spec in fields(Settings):
        env_name = f"VOICEBOT_{spec.name.upper()}"
        if env_name in environ:
            values[spec.name] = _from_env(spec.name, environ[env_name], env_name)
    return _build(values, str(path) if path else "environment").validate()


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = safe_yaml.safe_load(safe_yaml.read_text(path))
    except safe_yaml.YamlRefusedError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise SettingsError(f"{where}: {exc.problem}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read settings file: {exc}") from None
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: invalid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: the settings file must be a mapping of names to values")
    known = {spec.name for spec in fields(Settings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s): {', '.join(unknown)}")
    return dict(data)


def _from_env(name: str, raw: str, env_name: str) -> Any:
    kind = _field_type(name)
    if kind == "dict":
        pairs = [item.split("=", 1) for item in raw.split(",") if item.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise SettingsError(f"{env_name}: expected lang=value pairs separated by commas")
        return {key.strip(): value.strip() for key, value in pairs}
    return raw


def _field_type(name: str) -> str:
    spec = next(spec for spec in fields(Settings) if spec.name == name)
    return str(spec.type).split("[")[0]


def _build(values: dict[str, Any], source: str) -> Settings:
    converted: dict[str, Any] = {}
    for spec in fields(Settings):
        if spec.name not in values:
            continue
        raw = values[spec.name]
        kind = _field_type(spec.name)
        try:
            converted[spec.name] = _convert(kind, raw)
        except (TypeError, ValueError):
            raise SettingsError(
                f"{spec.name}: {raw!r} is not a valid {kind} (from {source})"
            ) from None
    return dataclasses.replace(Settings(), **converted)


def _convert(kind: str, raw: Any) -> Any:
    if kind == "Path":
        return Path(str(raw))
    if kind == "Path | None":
        return Path(str(raw)) if raw not in (None, "") else None
    if kind == "int":
        if isinstance(raw, bool):
            raise ValueError(raw)
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off"}:
            return False
        raise ValueError(raw)
    if kind == "dict":
        if not isinstance(raw, dict):
            raise TypeError(raw)
        return {str(k): str(v) for k, v in raw.items()}
    if kind == "str":
        return str(raw)
    raise TypeError(kind)
