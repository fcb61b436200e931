"""Settings: defaults, then a YAML file, then ``VOICEBOT_*`` environment variables.

Validated once at start: a wrong value stops the program with a message naming the
setting and where it came from. The types are pydantic's (through pydantic-settings, whose
environment source reads the variables); the file goes through ``voicebot.safe_yaml``.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from voicebot import safe_yaml
from voicebot.knowledge.loader import sample_kb_path

DEFAULT_PSEUDONYM_KEY = "voicebot-development-key-change-me"
ENV_PREFIX = "VOICEBOT_"
PAIRS_EXPECTED = "expected lang=value pairs separated by commas"


class SettingsError(ValueError):
    """A setting is missing or wrong; the message names it and its source."""


class Settings(BaseSettings):
    """Everything the assistant needs to know at start.

    Built in code (``Settings(data_dir=...)``) it takes exactly the values given;
    :func:`load_settings` adds the settings file and the environment.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        frozen=True,
        extra="forbid",
        # YAML reads ``default_country_code: 32`` as a number; the setting is text.
        coerce_numbers_to_str=True,
        use_attribute_docstrings=True,
    )

    kb_path: Path = Field(default_factory=sample_kb_path)
    """The city's knowledge base (YAML)."""
    embedder: str = "use-v3"
    """Routing embedding backend: ``use-v3``, ``minilm`` or ``st:<model dir>``."""
    data_dir: Path = Path("var")
    """Caches (index, rendered audio), call-log spool, the embedded SQLite database."""
    models_dir: Path = Path("models")
    """Where ``voicebot models pull`` puts speech and embedding models."""
    vosk_models: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    """Language → Vosk model directory; missing languages are looked up in models_dir."""
    database_url: str = ""
    """SQLAlchemy URL of the call log; empty: SQLite file in data_dir."""
    tts_voices: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    """Language → espeak-ng voice (defaults: fr → fr-be, nl, en, de)."""
    tts_rate: int = 165
    """Speaking rate in words per minute."""
    endpoint_silence_ms: int = 300
    """Trailing silence that ends an utterance."""
    endpoint_from_voice: bool = True
    """Count that silence from the caller's last voiced frame (frame energy with the VAD);
    false: from the VAD's last speech chunk, which lags the voice by ~80 ms."""
    no_input_timeout_s: float = 6.0
    """Silence before the assistant prompts the caller again."""
    max_call_s: float = 300.0
    """Longest call the assistant handles before handing over or saying goodbye."""
    audiosocket_host: str = "0.0.0.0"
    audiosocket_port: int = 9092
    audiosocket_allow_from: str = ""
    """Addresses, networks or host names of the PBX (comma-separated) allowed to connect to
    the AudioSocket port; any other peer is closed at once. Empty (the default): the
    loopback addresses and ``ami_host``."""
    audiosocket_announce_window_s: float = 3.0
    """An AudioSocket call is taken only if Asterisk announced its UUID over AMI (the
    dialplan's ``UserEvent(VoicebotCall)``) at most this long before it connected, or
    announces it within this long after. While AMI is down, calls are taken on the address
    allow-list alone."""
    audiosocket_max_calls: int = 200
    """Concurrent AudioSocket sessions at most; beyond it a connection is closed at once
    and the dialplan puts the caller through to the operator."""
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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the values given: tests and tools must not pick up the shell's variables."""
        return (init_settings,)

    @field_validator("vosk_models", "tts_voices", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        """``fr=vosk-model-fr, nl=vosk-model-nl`` (the environment's form) as a mapping."""
        if not isinstance(value, str):
            return value
        pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError(PAIRS_EXPECTED)
        return {key.strip(): text.strip() for key, text in pairs}

    @field_validator("sounds_dir", "prompts_dir", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        """An empty directory setting (``VOICEBOT_SOUNDS_DIR=``) means none."""
        return None if value == "" else value

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, value: Any, info: ValidationInfo) -> Any:
        """``tts_rate: true`` is a mistake, not 1."""
        annotation = cls.model_fields[info.field_name or ""].annotation
        if isinstance(value, bool) and annotation in (int, float):
            raise ValueError("a yes/no value where a number is expected")
        return value

    @field_validator("simulated_time", mode="before")
    @classmethod
    def _timestamp_as_text(cls, value: Any) -> Any:
        """Unquoted in YAML, a timestamp arrives as a datetime; the setting is its text."""
        return value.isoformat() if isinstance(value, datetime) else value

    @property
    def cache_dir(self) -> Path:
        """Derived caches (embedding index, rendered prompts)."""
        return self.data_dir / "cache"

    @property
    def spool_dir(self) -> Path:
        """Where the call log writer spools records while the database is away (``0700``)."""
        return self.data_dir / "spool"

    @property
    def journal_dir(self) -> Path:
        """Where each process journals its calls in progress (``0700``), so that a crash
        leaves records with outcome ``interrupted``."""
        return self.data_dir / "journal"

    @property
    def resolved_database_url(self) -> str:
        """The call log URL, defaulting to an SQLite file in data_dir."""
        return self.database_url or f"sqlite:///{self.data_dir / 'voicebot.db'}"

    @property
    def simulated_moment(self) -> datetime | None:
        """``simulated_time`` parsed (None when empty); call :meth:`checked` first."""
        return datetime.fromisoformat(self.simulated_time) if self.simulated_time else None

    def checked(self) -> Settings:
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
        if not 0.1 <= self.audiosocket_announce_window_s <= 60:
            raise SettingsError("audiosocket_announce_window_s: must be between 0.1 and 60 s")
        if self.audiosocket_max_calls < 1:
            raise SettingsError("audiosocket_max_calls: must be at least 1")
        audiosocket_allow_list(self.audiosocket_allow_from, self.ami_host)
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


LOOPBACK_PEERS = ("127.0.0.0/8", "::1")
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}")


def audiosocket_allow_list(configured: str, ami_host: str) -> list[str]:
    """The PBX addresses of ``audiosocket_allow_from`` (comma-separated addresses, networks
    or host names), or by default the loopback addresses and the AMI host (the PBX the
    assistant already talks to); SettingsError naming an entry that is none of those."""
    entries = [item.strip() for item in configured.split(",") if item.strip()]
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            labels = entry.rstrip(".").split(".")
            if not all(_HOST_LABEL.fullmatch(label) for label in labels):
                raise SettingsError(
                    f"audiosocket_allow_from: {entry!r} is not an IP address, a network or "
                    "a host name (e.g. 10.0.0.5, 10.0.0.0/24 or asterisk)"
                ) from None
    return entries or [*LOOPBACK_PEERS, ami_host]


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
    path = path or environ.get("VOICEBOT_CONFIG")
    values: dict[str, tuple[Any, str]] = {}
    if path:
        values.update((name, (value, str(path))) for name, value in _read_file(Path(path)).items())
    values.update(_MappingEnvSource(environ).values())
    try:
        settings = Settings(**{name: value for name, (value, _) in values.items()})
    except ValidationError as exc:
        raise _one_line(exc, values) from None
    return settings.checked()


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading a given mapping (tests pass their own),
    as its ``.env`` source reads a file."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(Settings)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # Names match case-insensitively, as for the process environment.
        return {key.lower(): value for key, value in self._environ.items()}

    def values(self) -> dict[str, tuple[Any, str]]:
        """Each setting found, with the variable it came from."""
        found: dict[str, tuple[Any, str]] = {}
        for name, info in Settings.model_fields.items():
            value, _key, complex_value = self.get_field_value(info, name)
            if value is not None:
                value = self.prepare_field_value(name, info, value, complex_value)
                found[name] = (value, f"{ENV_PREFIX}{name.upper()}")
        return found


def _one_line(exc: ValidationError, values: Mapping[str, tuple[Any, str]]) -> SettingsError:
    """The first problem as ``name: value is not a valid kind (from source)``."""
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else ""
    raw, source = values.get(name, (error.get("input"), "code"))
    if error["type"] == "value_error" and PAIRS_EXPECTED in error["msg"]:
        return SettingsError(f"{source}: {PAIRS_EXPECTED}")
    return SettingsError(f"{name}: {raw!r} is not a valid {_kind(name)} (from {source})")


def _kind(name: str) -> str:
    """The setting's type as a reader knows it: ``int``, ``Path``, ``dict``..."""
    annotation = Settings.model_fields[name].annotation
    union = get_origin(annotation) in (Union, UnionType)
    kinds = (
        [arg for arg in get_args(annotation) if arg is not type(None)] if union else [annotation]
    )
    return " or ".join(getattr(get_origin(kind) or kind, "__name__", str(kind)) for kind in kinds)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = safe_yaml.safe_load(safe_yaml.read_text(path))
    except safe_yaml.YamlRefusedError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise SettingsError(f"{where}: {exc.problem}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read settings file: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        raise SettingsError(f"{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: the settings file must be a mapping of names to values")
    unknown = sorted(set(data) - set(Settings.model_fields))
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s): {', '.join(map(str, unknown))}")
    return {str(name): value for name, value in data.items()}
