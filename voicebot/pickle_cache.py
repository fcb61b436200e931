"""Pickled build results (the validated catalogue, link evidence, the fitted router) in the
router's own cache directory, keyed by what they depend on.

Written by this program only, into its own cache directory, which is why unpickling them
is acceptable; a file that cannot be read is ignored (and rebuilt), never fatal.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from pathlib import Path

_LOGGER = logging.getLogger(__name__)


def load_pickle(path: Path | None) -> object | None:
    """The object stored at ``path``, or None (no cache, no file, or unreadable)."""
    if path is None or not path.exists():
        return None
    try:
        with path.open("rb") as handle:
            value: object = pickle.load(handle)
            return value
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError) as exc:
        _LOGGER.warning("ignoring unreadable router cache %s: %s", path, exc)
        return None


def save_pickle(path: Path | None, value: object) -> None:
    """Store ``value`` at ``path`` (write then rename: a concurrent reader sees all or none)."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, path)
    except OSError as exc:
        _LOGGER.warning("cannot write router cache %s: %s", path, exc)
