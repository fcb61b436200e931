"""The example index: every KB phrase embedded once, cached on disk by KB content and model."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voicebot.knowledge.model import KnowledgeBase
from voicebot.routing.decision import FAQ_PREFIX, NONE, OPERATOR
from voicebot.routing.embedders import Embedder, Matrix
from voicebot.routing.text import fold_accents, normalize

_LOGGER = logging.getLogger(__name__)

_CITY_PREFIXES = (
    "commune de ",
    "ville de ",
    "mairie de ",
    "gemeente ",
    "stad ",
    "municipality of ",
    "city of ",
    "town of ",
)

# Bump when the way examples are collected or normalised changes: it keys the cache.
INDEX_FORMAT = 3


class Origin(StrEnum):
    """Who wrote a phrase: the city (its KB), the catalogue, or the generic negatives."""

    CITY = "city"
    CATALOGUE = "catalogue"
    NEGATIVE = "negative"


@dataclass(frozen=True, slots=True)
class Example:
    """One phrase that stands for a routing target."""

    label: str
    language: str
    text: str
    origin: Origin = Origin.CITY

    def __reduce__(self) -> tuple[type[Example], tuple[str, str, str, Origin]]:
        # A cached index holds thousands: the dataclass default state restore looks the
        # fields up for every one of them (0.6 s of a 1 s cached build).
        return (Example, (self.label, self.language, self.text, self.origin))


def kb_examples(kb: KnowledgeBase) -> list[Example]:
    """All phrases of the KB, normalised, labelled with their target."""
    examples: list[Example] = []

    def add(label: str, phrases: dict[str, tuple[str, ...]] | dict[str, str]) -> None:
        for language, items in phrases.items():
            for text in (items,) if isinstance(items, str) else items:
                examples.append(Example(label, language, normalize(text)))

    add(OPERATOR, kb.operator.examples)
    for dept in kb.departments:
        add(dept.id, dept.examples)
        add(dept.id, dept.name)
        add(dept.id, dept.description)
    for entry in kb.faq:
        add(FAQ_PREFIX + entry.id, entry.questions)
    return examples


def negative_examples(kb: KnowledgeBase) -> list[Example]:
    """Generic out-of-scope phrases shipped with the package, for the KB's languages.

    The lists name other cities ("the population office of Jette"): for the city whose
    own name appears in a phrase, that phrase is a real request, so it is left out.
    """
    folder = resources.files("voicebot.routing").joinpath("negatives")
    own_names = {fold_accents(normalize(name)) for name in kb.city.name.values()}
    own_names |= {name.removeprefix(prefix) for name in own_names for prefix in _CITY_PREFIXES}
    examples: list[Example] = []
    for language in kb.city.languages:
        ref = folder.joinpath(f"{language}.txt")
        if not ref.is_file():
            _LOGGER.warning("no out-of-scope phrases for language %s", language)
            continue
        for line in ref.read_text("utf-8").splitlines():
            text = normalize(line)
            if not text or line.lstrip().startswith("#"):
                continue
            if any(name and name in fold_accents(text) for name in own_names):
                continue
            examples.append(Example(NONE, language, text, Origin.NEGATIVE))
    return examples


def negatives_fingerprint(languages: Sequence[str]) -> str:
    """A digest of the shipped out-of-scope phrases of ``languages`` (keys cached builds)."""
    folder = resources.files("voicebot.routing").joinpath("negatives")
    digest = hashlib.sha256()
    for language in languages:
        ref = folder.joinpath(f"{language}.txt")
        digest.update(f"{language}\0".encode())
        if ref.is_file():
            digest.update(ref.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class ExampleIndex:
    """KB examples and generic negatives with their embeddings, sorted by label."""

    examples: tuple[Example, ...]
    vectors: Matrix
    labels: tuple[str, ...]
    """Distinct labels in example order (``none`` included when negatives exist)."""
    starts: npt.NDArray[np.intp]
    """Index of each label's first example (examples are grouped by label)."""
    label_of: npt.NDArray[np.intp]
    """Label index of each example."""
    model_id: str
    key: str

    @classmethod
    def build(
        cls,
        kb: KnowledgeBase,
        embedder: Embedder,
        cache_dir: Path | None = None,
    ) -> ExampleIndex:
        """Embed the KB (or load it from ``cache_dir`` when KB and model are unchanged)."""
        examples = sorted(kb_examples(kb) + negative_examples(kb), key=lambda e: e.label)
        key = _cache_key(kb, embedder.model_id, examples)
        vectors = _load_cached(cache_dir, key, len(examples)) if cache_dir else None
        if vectors is None:
            vectors = embedder.embed([e.text for e in examples])
            if cache_dir:
                _save_cached(cache_dir, key, vectors)
        return cls.from_examples(examples, vectors, embedder.model_id, key)

    @classmethod
    def from_examples(
        cls, examples: Sequence[Example], vectors: Matrix, model_id: str, key: str
    ) -> ExampleIndex:
        """Group already-embedded examples by label (a stable sort keeps their order)."""
        order = sorted(range(len(examples)), key=lambda i: examples[i].label)
        examples = [examples[i] for i in order]
        vectors = np.ascontiguousarray(vectors[order], dtype=np.float32)
        labels: list[str] = []
        starts: list[int] = []
        label_of = np.empty(len(examples), dtype=np.intp)
        for position, example in enumerate(examples):
            if not labels or labels[-1] != example.label:
                labels.append(example.label)
                starts.append(position)
            label_of[position] = len(labels) - 1
        return cls(
            examples=tuple(examples),
            vectors=vectors,
            labels=tuple(labels),
            starts=np.asarray(starts, dtype=np.intp),
            label_of=label_of,
            model_id=model_id,
            key=key,
        )


def _cache_key(kb: KnowledgeBase, model_id: str, examples: list[Example]) -> str:
    digest = hashlib.sha256()
    digest.update(f"{INDEX_FORMAT}\0{model_id}\0{kb.content_hash}\0".encode())
    for example in examples:
        digest.update(f"{example.label}\0{example.language}\0{example.text}\n".encode())
    return digest.hexdigest()[:32]


def _cache_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"index-{key}.npy"


def _load_cached(cache_dir: Path, key: str, count: int) -> Matrix | None:
    path = _cache_path(cache_dir, key)
    try:
        vectors = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        _LOGGER.warning("ignoring unreadable index cache %s: %s", path, exc)
        return None
    if vectors.ndim != 2 or vectors.shape[0] != count or vectors.dtype != np.float32:
        _LOGGER.warning("ignoring index cache %s: shape %s does not match", path, vectors.shape)
        return None
    _LOGGER.debug("loaded index cache %s", path)
    return np.asarray(vectors, dtype=np.float32)


def _save_cached(cache_dir: Path, key: str, vectors: Matrix) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a concurrent reader never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, vectors, allow_pickle=False)
        os.replace(tmp, _cache_path(cache_dir, key))
    except OSError as exc:
        _LOGGER.warning("cannot write index cache in %s: %s", cache_dir, exc)
        Path(tmp).unlink(missing_ok=True)


def embed_cached(
    texts: Sequence[str], embedder: Embedder, cache_dir: Path | None, namespace: str
) -> Matrix:
    """Embed ``texts``, or load their vectors from ``cache_dir`` when embedded before.

    Keyed by model and the exact texts: the catalogue's few thousand phrases are embedded
    once for every KB, and a KB edit re-embeds only the KB's own phrases.
    """
    digest = hashlib.sha256(f"{INDEX_FORMAT}\0{embedder.model_id}\0".encode())
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\n")
    key = f"{namespace}-{digest.hexdigest()[:32]}"
    vectors = _load_cached(cache_dir, key, len(texts)) if cache_dir else None
    if vectors is None:
        vectors = embedder.embed(list(texts))
        if cache_dir:
            _save_cached(cache_dir, key, vectors)
    return vectors
