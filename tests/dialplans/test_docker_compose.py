"""docker-compose.yml, Dockerfile, .env.example and .dockerignore hold together."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.asterisk_conf import ConfFile, Dialplan, load_conf
from voicebot.telephony import contract

from .conftest import DIALPLANS, REPO

COMPOSE = REPO / "docker-compose.yml"
SECRETS = ("VOICEBOT_AMI_SECRET", "VOICEBOT_PSEUDONYM_KEY", "POSTGRES_PASSWORD")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    service = compose["services"][name]
    assert isinstance(service, dict)
    return service


def _bind_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    mounts = []
    for volume in service.get("volumes", []):
        source, target, *_ = str(volume).split(":")
        mounts.append((source, target))
    return mounts


def _compose_config(env_file: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (scripts/setup.sh installs it)")
    # A clean environment: values must come from the env file alone.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(env_file.parent)}
    return subprocess.run(
        [binary, "-f", str(COMPOSE), "--env-file", str(env_file), "config", "-q"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_compose_file_is_valid_with_the_example_environment() -> None:
    result = _compose_config(REPO / ".env.example")
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_run_without_the_secrets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = _compose_config(empty)
    assert result.returncode != 0
    assert re.search(
        r"set (VOICEBOT_AMI_SECRET|VOICEBOT_PSEUDONYM_KEY|POSTGRES_PASSWORD)", result.stderr
    )


def test_secrets_are_required_everywhere_and_the_example_defines_them() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([A-Z_]+)", text))
    assert used == set(SECRETS)
    for name in SECRETS:
        uses = re.findall(r"\$\{" + name + r"(.)", text)
        assert uses and all(u == ":" for u in uses), f"{name} must be written ${{{name}:?...}}"
        assert f"${{{name}:?" in text
    example = dict(
        line.split("=", 1)
        for line in (REPO / ".env.example").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert set(example) == set(SECRETS)
    assert all(value.startswith("change-me") for value in example.values())
    assert len(example["VOICEBOT_PSEUDONYM_KEY"]) >= 16  # Settings.checked() minimum


def test_every_file_the_compose_file_mounts_exists(compose: dict[str, Any]) -> None:
    mounted: set[Path] = set()
    for service in compose["services"].values():
        for source, _ in _bind_mounts(service):
            if source.startswith("."):
                path = (REPO / source).resolve()
                assert path.is_file(), f"{source} is mounted but does not exist"
                mounted.add(path)
    shipped = {p.resolve() for p in DIALPLANS.glob("*.conf")}
    assert shipped <= mounted, f"not mounted: {sorted(p.name for p in shipped - mounted)}"
    build = _service(compose, "voicebot")["build"]
    assert (REPO / build["context"] / build["dockerfile"]).is_file()


def test_services_health_checks_and_start_order(compose: dict[str, Any]) -> None:
    postgres = _service(compose, "postgres")
    assert str(postgres["image"]).startswith("postgres:16")
    assert "pg_isready" in postgres["healthcheck"]["test"]
    voicebot = _service(compose, "voicebot")
    assert voicebot["depends_on"]["postgres"]["condition"] == "service_healthy"
    port = voicebot["environment"]["VOICEBOT_API_PORT"]
    assert f"127.0.0.1:{port}/health" in " ".join(voicebot["healthcheck"]["test"])
    asterisk = _service(compose, "asterisk")
    assert re.fullmatch(r"andrius/asterisk:2[02]\.\d+\.\d+_debian-\w+", asterisk["image"])
    assert asterisk["healthcheck"]["test"]
    assert {"models", "whispers"} <= set(compose["volumes"])


def test_shared_names_agree_across_compose_and_dialplan(
    compose: dict[str, Any], dialplan: Dialplan, manager_conf: ConfFile
) -> None:
    voicebot = _service(compose, "voicebot")
    env = voicebot["environment"]
    audiosocket = dialplan.globals[contract.GlobalVar.AUDIOSOCKET]
    assert audiosocket == f"voicebot:{env['VOICEBOT_AUDIOSOCKET_PORT']}"
    assert env["VOICEBOT_AMI_HOST"] == "asterisk"
    assert env["VOICEBOT_AMI_USERNAME"] == contract.AMI_USERNAME
    targets = {source: target for source, target in _bind_mounts(voicebot)}
    assert targets["whispers"] == f"{env['VOICEBOT_SOUNDS_DIR']}/{contract.WHISPER_SOUND_DIR}"
    assert targets["models"] == env["VOICEBOT_MODELS_DIR"]
    asterisk = _service(compose, "asterisk")
    mounts = dict(_bind_mounts(asterisk))
    assert mounts["whispers"] == f"/var/lib/asterisk/sounds/{contract.WHISPER_SOUND_DIR}"
    # The secret file the container writes is the one manager.conf includes.
    (included,) = manager_conf.missing
    assert f"/etc/asterisk/{included}" in asterisk["command"][0]
    assert "[voicebot](+)" in asterisk["command"][0]


def test_published_rtp_ports_match_rtp_conf(compose: dict[str, Any]) -> None:
    rtp = load_conf(DIALPLANS / "rtp.conf").section("general")
    wanted = f"{rtp.get('rtpstart')}-{rtp.get('rtpend')}"
    ports = [str(p) for p in _service(compose, "asterisk")["ports"]]
    assert f"127.0.0.1:{wanted}:{wanted}/udp" in ports
    assert all(p.startswith("127.0.0.1:") for p in ports), "the demo publishes on loopback only"


def test_dockerfile_installs_the_pinned_cpu_torch_then_the_project() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.MULTILINE)
    assert "espeak-ng" in dockerfile
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    (torch_pin,) = [d for d in pyproject["project"]["dependencies"] if d.startswith("torch")]
    install = re.search(r"pip install (torch==\S+) --index-url (\S+)", dockerfile)
    assert install is not None
    assert install.group(1) == torch_pin.replace(" ", "")
    assert install.group(2) == "https://download.pytorch.org/whl/cpu"
    assert dockerfile.index("pip install torch") < dockerfile.index("pip install .")
    assert 'CMD ["voicebot", "serve"]' in dockerfile
    # The image's files: what COPY names must exist and must not be docker-ignored.
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for copied in re.findall(r"^COPY (.+) \S+$", dockerfile, re.MULTILINE):
        for name in copied.split():
            assert (REPO / name).exists(), name
            assert name not in ignored, f"{name} is copied but docker-ignored"


def test_dockerignore_keeps_secrets_and_bulk_out_of_the_build_context() -> None:
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", ".env", "models", "var"} <= ignored
