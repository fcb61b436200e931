"""Model management: real downloads from a local HTTP server, real failures without network."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from voicebot.speech import models
from voicebot.speech.models import (
    MANIFEST_NAME,
    VOSK_CATALOG,
    ChecksumMismatchError,
    ModelDownloadError,
    ModelError,
    ModelNotFoundError,
    Verification,
    VoskModelSpec,
    find_model,
    pull_sentence_model,
    pull_vosk_model,
    read_manifest,
    run_pull,
)

FR = VOSK_CATALOG["fr"]


def unreachable_url() -> str:
    """A loopback port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def model_zip(name: str, marker: str = "v1", extra: dict[str, str] | None = None) -> bytes:
    """A small archive shaped like a Vosk model zip (one top directory)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr(f"{name}/am/final.mdl", f"acoustic model {marker}")
        bundle.writestr(f"{name}/conf/mfcc.conf", "--sample-frequency=16000\n")
        bundle.writestr(f"{name}/graph/HCLr.fst", "graph")
        for path, content in (extra or {}).items():
            bundle.writestr(path, content)
    return buffer.getvalue()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def model_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on 127.0.0.1 serving files from a directory."""
    root = tmp_path / "served"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/models/", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def serve(root: Path, name: str, data: bytes) -> None:
    (root / "models").mkdir(exist_ok=True)
    (root / "models" / f"{name}.zip").write_bytes(data)


def test_catalog_names_the_small_vosk_models() -> None:
    assert {lang: spec.name for lang, spec in VOSK_CATALOG.items()} == {
        "fr": "vosk-model-small-fr-0.22",
        "nl": "vosk-model-small-nl-0.22",
        "en": "vosk-model-small-en-us-0.15",
        "de": "vosk-model-small-de-0.15",
    }


def test_first_download_is_verified_unzipped_and_recorded(
    model_server: tuple[str, Path], tmp_path: Path
) -> None:
    base_url, root = model_server
    archive = model_zip(FR.name)
    serve(root, FR.name, archive)
    models_dir = tmp_path / "models"
    result = pull_vosk_model("fr", models_dir, base_url=base_url, progress=False)
    assert result.sha256 == hashlib.sha256(archive).hexdigest()
    assert result.verification is Verification.RECORDED
    assert "first download: SHA-256 recorded" in result.describe()
    assert (models_dir / FR.name / "am" / "final.mdl").read_text() == "acoustic model v1"
    assert find_model("fr", models_dir) == models_dir / FR.name
    assert read_manifest(models_dir)[FR.archive]["sha256"] == result.sha256
    assert read_manifest(models_dir)[FR.archive]["url"] == base_url + FR.archive
    leftovers = [p.name for p in models_dir.iterdir()]
    assert sorted(leftovers) == sorted([FR.name, MANIFEST_NAME])


def test_second_pull_skips_and_forced_pull_is_verified_against_the_manifest(
    model_server: tuple[str, Path], tmp_path: Path
) -> None:
    base_url, root = model_server
    serve(root, FR.name, model_zip(FR.name))
    models_dir = tmp_path / "models"
    pull_vosk_model("fr", models_dir, base_url=base_url, progress=False)
    again = pull_vosk_model("fr", models_dir, base_url=base_url, progress=False)
    assert again.already_present and "already present" in again.describe()
    forced = pull_vosk_model("fr", models_dir, base_url=base_url, force=True, progress=False)
    assert forced.verification is Verification.MANIFEST


def test_a_changed_archive_is_refused_and_the_installed_model_kept(
    model_server: tuple[str, Path], tmp_path: Path
) -> None:
    base_url, root = model_server
    models_dir = tmp_path / "models"
    serve(root, FR.name, model_zip(FR.name, marker="v1"))
    pull_vosk_model("fr", models_dir, base_url=base_url, progress=False)
    serve(root, FR.name, model_zip(FR.name, marker="tampered"))
    with pytest.raises(ChecksumMismatchError, match=r"recorded \w+ on first download"):
        pull_vosk_model("fr", models_dir, base_url=base_url, force=True, progress=False)
    assert (models_dir / FR.name / "am" / "final.mdl").read_text() == "acoustic model v1"


def test_catalog_digest_is_enforced_when_known(
    model_server: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base_url, root = model_server
    archive = model_zip(FR.name)
    serve(root, FR.name, archive)
    good = VoskModelSpec("fr", FR.name, 1, sha256=hashlib.sha256(archive).hexdigest())
    monkeypatch.setitem(models.VOSK_CATALOG, "fr", good)
    result = pull_vosk_model("fr", tmp_path / "ok", base_url=base_url, progress=False)
    assert result.verification is Verification.CATALOG
    assert not (tmp_path / "ok" / MANIFEST_NAME).exists()

    bad = VoskModelSpec("fr", FR.name, 1, sha256="0" * 64)
    monkeypatch.setitem(models.VOSK_CATALOG, "fr", bad)
    with pytest.raises(ChecksumMismatchError, match="catalog expects 0000"):
        pull_vosk_model("fr", tmp_path / "bad", base_url=base_url, progress=False)
    assert not (tmp_path / "bad" / FR.name).exists()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"this is not a zip", "not a valid zip archive"),
        (model_zip("something-else", extra={"readme.txt": "x"}), "does not contain a Vosk model"),
        (model_zip(FR.name, extra={"../escape.txt": "x"}), "unsafe path"),
    ],
)
def test_bad_archives_are_rejected_without_leaving_files(
    model_server: tuple[str, Path], tmp_path: Path, payload: bytes, message: str
) -> None:
    base_url, root = model_server
    serve(root, FR.name, payload)
    models_dir = tmp_path / "models"
    with pytest.raises(ModelError, match=message):
        pull_vosk_model("fr", models_dir, base_url=base_url, progress=False)
    assert not (models_dir / FR.name).exists()
    assert not (tmp_path / "escape.txt").exists()
    assert not [p for p in models_dir.iterdir() if p.name.startswith(".pull-")]


def test_http_404_is_reported_with_the_status(
    model_server: tuple[str, Path], tmp_path: Path
) -> None:
    base_url, _ = model_server
    with pytest.raises(ModelDownloadError, match="HTTP 404"):
        pull_vosk_model("fr", tmp_path, base_url=base_url, progress=False)


def test_no_network_gives_one_clear_line_and_exit_code_1(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = run_pull(
        "fr",
        tmp_path / "models",
        base_url=unreachable_url(),
        hub_endpoint=unreachable_url().rstrip("/"),
        progress=False,
        out=out,
        err=err,
    )
    assert code == 1
    lines = err.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: cannot download http://127.0.0.1:")
    assert "Connection refused" in lines[0] and "no network?" in lines[0]
    assert out.getvalue() == ""


def test_no_network_from_a_real_process_prints_no_traceback(tmp_path: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from voicebot.speech.models import run_pull; "
        f"sys.exit(run_pull('nl', Path({str(tmp_path)!r}), base_url={unreachable_url()!r}, "
        "progress=False))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert completed.stderr.count("\n") == 1
    assert "vosk-model-small-nl-0.22.zip" in completed.stderr


def test_sentence_model_without_network_fails_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(ModelDownloadError) as caught:
        pull_sentence_model(tmp_path, endpoint=unreachable_url().rstrip("/"), progress=False)
    message = str(caught.value)
    assert message.startswith("cannot fetch sentence-transformers/paraphrase-multilingual")
    assert "\n" not in message


def test_sentence_model_already_present_is_not_fetched(tmp_path: Path) -> None:
    target = tmp_path / "paraphrase-multilingual-MiniLM-L12-v2"
    target.mkdir()
    (target / "config.json").write_text(json.dumps({"model_type": "bert"}))
    result = pull_sentence_model(tmp_path, endpoint=unreachable_url(), progress=False)
    assert result.already_present and result.path == target


def test_find_model_explains_how_to_get_a_missing_model(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="run `voicebot models pull fr`"):
        find_model("fr", tmp_path)
    with pytest.raises(ModelNotFoundError, match="run `voicebot models pull de`"):
        find_model("de", tmp_path / "does-not-exist")


def test_find_model_accepts_another_model_of_the_language_unzipped_by_hand(
    tmp_path: Path,
) -> None:
    large = tmp_path / "vosk-model-fr-0.22"
    (large / "am").mkdir(parents=True)
    (tmp_path / "vosk-model-small-nl-0.22").mkdir()  # empty: not a model
    assert find_model("fr", tmp_path) == large
    with pytest.raises(ModelNotFoundError):
        find_model("nl", tmp_path)


def test_unknown_language_lists_the_catalog(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="known: de, en, fr, nl"):
        pull_vosk_model("it", tmp_path, progress=False)


def test_corrupt_manifest_is_reported_with_its_path(
    model_server: tuple[str, Path], tmp_path: Path
) -> None:
    base_url, root = model_server
    serve(root, FR.name, model_zip(FR.name))
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    (models_dir / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(ModelError, match=r"manifest\.json is unreadable"):
        pull_vosk_model("fr", models_dir, base_url=base_url, progress=False)
