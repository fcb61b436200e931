"""Model management behind ``voicebot models pull <lang>``: catalog, download, verify, unzip.

Vosk models come as zip archives from alphacephei.com; their SHA-256 is not published, so
the first download's digest is recorded in ``<models>/manifest.json`` (trust on first use)
and later downloads are verified against it. A catalog entry with a known digest is
verified against the catalog instead. The output always says which of the two was used.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

VOSK_BASE_URL = "https://alphacephei.com/vosk/models/"
"""Where alphacephei publishes the Vosk model archives."""
SENTENCE_MODEL_ID = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"
"""Multilingual sentence-embedding model used by the router."""
MANIFEST_NAME = "manifest.json"
"""Digests recorded on first download, in the models directory."""


@dataclass(frozen=True, slots=True)
class VoskModelSpec:
    """A Vosk model archive of the catalog."""

    language: str
    """Language code served (fr, nl, en, de...)."""
    name: str
    """Archive and directory name, e.g. ``vosk-model-small-fr-0.22``."""
    size_mb: int
    """Approximate archive size, for the user."""
    sha256: str | None = None
    """Known digest of the archive; None when it is not published."""

    @property
    def archive(self) -> str:
        """File name of the zip archive."""
        return f"{self.name}.zip"


VOSK_CATALOG: Mapping[str, VoskModelSpec] = {
    "fr": VoskModelSpec("fr", "vosk-model-small-fr-0.22", 41),
    "nl": VoskModelSpec("nl", "vosk-model-small-nl-0.22", 39),
    "en": VoskModelSpec("en", "vosk-model-small-en-us-0.15", 40),
    "de": VoskModelSpec("de", "vosk-model-small-de-0.15", 45),
}
"""Small (telephone-friendly, ~40 MB) Vosk model per supported language."""


class ModelError(Exception):
    """A model problem with a one-line explanation meant for the user (no traceback)."""


class ModelNotFoundError(ModelError):
    """The model for a language is not in the models directory."""


class ModelDownloadError(ModelError):
    """A model could not be downloaded."""


class ChecksumMismatchError(ModelError):
    """A downloaded archive does not have the expected SHA-256."""


class Verification(StrEnum):
    """How a downloaded archive's integrity was established."""

    CATALOG = "verified against the catalog SHA-256"
    MANIFEST = "verified against the SHA-256 recorded in manifest.json"
    RECORDED = "first download: SHA-256 recorded in manifest.json (nothing to verify against)"


@dataclass(frozen=True, slots=True)
class PullResult:
    """Outcome of pulling one model."""

    name: str
    """Model name."""
    path: Path
    """Directory the model now lives in."""
    sha256: str | None
    """Digest of the downloaded archive (None when nothing was downloaded)."""
    verification: Verification | None
    """How the archive was checked (None when nothing was downloaded)."""
    already_present: bool = False
    """True when the model was already installed and nothing was downloaded."""

    def describe(self) -> str:
        """One line for the user."""
        if self.already_present:
            return f"{self.name}: already present in {self.path}"
        digest = f" sha256={self.sha256}" if self.sha256 else ""
        how = f" ({self.verification})" if self.verification else ""
        return f"{self.name}: installed in {self.path}{digest}{how}"


def vosk_spec(language: str) -> VoskModelSpec:
    """Return the catalog entry for ``language``."""
    try:
        return VOSK_CATALOG[language]
    except KeyError:
        known = ", ".join(sorted(VOSK_CATALOG))
        raise ModelNotFoundError(
            f"no Vosk model in the catalog for language {language!r} (known: {known})"
        ) from None


def find_model(language: str, models_dir: Path) -> Path:
    """Return the Vosk model directory for ``language``, or explain how to get it."""
    spec = VOSK_CATALOG.get(language)
    if spec is not None and _is_vosk_model(models_dir / spec.name):
        return models_dir / spec.name
    # Accept another Vosk model of that language unzipped by hand (e.g. a large one).
    if models_dir.is_dir():
        for candidate in sorted(models_dir.glob(f"vosk-model*-{language}-*")):
            if _is_vosk_model(candidate):
                return candidate
    raise ModelNotFoundError(
        f"missing Vosk model for {language!r} in {models_dir}: "
        f"run `voicebot models pull {language}`"
    )


def download(url: str, destination: Path, timeout_s: float = 30.0, progress: bool = True) -> str:
    """Download ``url`` to ``destination`` with a progress bar; return its SHA-256."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with (
                destination.open("wb") as out,
                tqdm(
                    total=total,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=Path(url).name,
                    disable=not progress,
                    file=sys.stderr,
                ) as bar,
            ):
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as exc:
        raise ModelDownloadError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelDownloadError(
            f"cannot download {url}: {reason} (no network? models can also be unzipped "
            f"into the models directory by hand)"
        ) from None
    except OSError as exc:
        raise ModelDownloadError(f"cannot download {url}: {exc}") from None
    return digest.hexdigest()


def pull_vosk_model(
    language: str,
    models_dir: Path,
    base_url: str = VOSK_BASE_URL,
    force: bool = False,
    progress: bool = True,
    timeout_s: float = 30.0,
) -> PullResult:
    """Download, verify and unzip the catalog's Vosk model for ``language``."""
    spec = vosk_spec(language)
    target = models_dir / spec.name
    if _is_vosk_model(target) and not force:
        return PullResult(spec.name, target, None, None, already_present=True)
    models_dir.mkdir(parents=True, exist_ok=True)
    url = base_url.rstrip("/") + "/" + spec.archive
    with tempfile.TemporaryDirectory(prefix=".pull-", dir=models_dir) as scratch:
        archive = Path(scratch) / spec.archive
        sha256 = download(url, archive, timeout_s=timeout_s, progress=progress)
        verification = _verify(spec, sha256, models_dir, url)
        _install_zip(archive, spec.name, Path(scratch), target)
    return PullResult(spec.name, target, sha256, verification)


def pull_sentence_model(
    models_dir: Path,
    repo_id: str = SENTENCE_MODEL_ID,
    endpoint: str | None = None,
    progress: bool = True,
) -> PullResult:
    """Fetch the sentence-transformers model with ``huggingface_hub.snapshot_download``."""
    target = models_dir / repo_id.rsplit("/", 1)[-1]
    if (target / "config.json").is_file():
        return PullResult(repo_id, target, None, None, already_present=True)
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ModelDownloadError(
            f"cannot fetch {repo_id}: huggingface_hub is not installed"
        ) from None
    models_dir.mkdir(parents=True, exist_ok=True)
    try:
        snapshot_download(
            repo_id,
            local_dir=target,
            endpoint=endpoint,
            etag_timeout=10,
            tqdm_class=None if progress else _SilentTqdm,
        )
    except Exception as exc:  # the hub raises many error types; the user needs one line
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        hint = " (HF_HUB_OFFLINE is set)" if os.environ.get("HF_HUB_OFFLINE") else ""
        raise ModelDownloadError(f"cannot fetch {repo_id}{hint}: {first_line}") from None
    return PullResult(repo_id, target, None, None)


def run_pull(
    language: str,
    models_dir: Path,
    include_sentence_model: bool = True,
    base_url: str = VOSK_BASE_URL,
    hub_endpoint: str | None = None,
    progress: bool = True,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """``voicebot models pull <lang>``: pull, print one line per model; return an exit code."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    try:
        results = [pull_vosk_model(language, models_dir, base_url=base_url, progress=progress)]
        if include_sentence_model:
            results.append(
                pull_sentence_model(models_dir, endpoint=hub_endpoint, progress=progress)
            )
    except ModelError as exc:
        print(f"error: {exc}", file=err)
        return 1
    for result in results:
        print(result.describe(), file=out)
    return 0


def read_manifest(models_dir: Path) -> dict[str, Any]:
    """Return the recorded digests (empty when there is no manifest yet)."""
    path = models_dir / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path} is unreadable ({exc}); fix or delete it") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path} must hold a JSON object, found {type(data).__name__}")
    return data


def _verify(spec: VoskModelSpec, sha256: str, models_dir: Path, url: str) -> Verification:
    if spec.sha256 is not None:
        if sha256 != spec.sha256:
            raise ChecksumMismatchError(
                f"{spec.archive} from {url} has SHA-256 {sha256}, "
                f"the catalog expects {spec.sha256}: download refused"
            )
        return Verification.CATALOG
    manifest = read_manifest(models_dir)
    recorded = manifest.get(spec.archive)
    if isinstance(recorded, dict) and recorded.get("sha256"):
        if recorded["sha256"] != sha256:
            raise ChecksumMismatchError(
                f"{spec.archive} from {url} has SHA-256 {sha256}, but {MANIFEST_NAME} recorded "
                f"{recorded['sha256']} on first download: download refused (delete its "
                f"entry from {models_dir / MANIFEST_NAME} to accept a new archive)"
            )
        return Verification.MANIFEST
    manifest[spec.archive] = {
        "sha256": sha256,
        "url": url,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _write_json_atomically(models_dir / MANIFEST_NAME, manifest)
    return Verification.RECORDED


def _install_zip(archive: Path, name: str, scratch: Path, target: Path) -> None:
    extracted = scratch / "extracted"
    try:
        with zipfile.ZipFile(archive) as bundle:
            for member in bundle.namelist():
                if member.startswith("/") or ".." in Path(member).parts:
                    raise ModelError(f"{archive.name}: unsafe path {member!r} in archive")
            bundle.extractall(extracted)
    except zipfile.BadZipFile as exc:
        raise ModelDownloadError(f"{archive.name} is not a valid zip archive ({exc})") from None
    entries = list(extracted.iterdir())
    root = entries[0] if len(entries) == 1 and entries[0].is_dir() else extracted
    if not _is_vosk_model(root):
        raise ModelError(f"{archive.name} does not contain a Vosk model (no am/ or final.mdl)")
    # Swap into place with renames inside the models directory: never a half-written model.
    previous = scratch / "previous"
    if target.exists():
        os.replace(target, previous)
    os.replace(root, target)
    if previous.exists():
        shutil.rmtree(previous)


def _is_vosk_model(path: Path) -> bool:
    return path.is_dir() and ((path / "am").is_dir() or (path / "final.mdl").is_file())


def _write_json_atomically(path: Path, data: Mapping[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".manifest-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _SilentTqdm(tqdm):  # type: ignore[misc]
    """tqdm that never draws (``progress=False``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["disable"] = True
        super().__init__(*args, **kwargs)
