"""Where the KB that serve edits lives: never the sample inside the installed package.

Without a ``kb_path`` of its own, a city would otherwise edit the package's sample file:
edits would be lost at the next upgrade and, in a shared installation, change every
instance. So on a first start serve copies the sample into its data directory and works on
that copy; a ``kb_path`` that points inside the package is used read-only.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import voicebot

_LOGGER = logging.getLogger(__name__)

PACKAGE_DIR = Path(voicebot.__file__).resolve().parent
WORKSPACE_DIR = "kb"
"""Sub-directory of the data directory holding the editable copy."""


def is_packaged(path: Path) -> bool:
    """Whether ``path`` is a file shipped inside the installed voicebot package."""
    return path.resolve().is_relative_to(PACKAGE_DIR)


def editable_kb_path(kb_path: Path, data_dir: Path) -> tuple[Path, str | None]:
    """The KB file serve should edit, and a note when it is a copy made for it.

    A path inside the package is replaced by ``<data_dir>/kb/<name>`` (copied there the
    first time; an existing copy, with its edits, is kept). Other paths are used as given.
    """
    if not is_packaged(kb_path):
        return kb_path, None
    target = data_dir / WORKSPACE_DIR / kb_path.name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        # Worker processes start together: each copies to its own temporary file and the
        # rename is atomic, so the copy is whole whichever wins.
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        os.close(fd)
        shutil.copyfile(kb_path, temporary)
        os.replace(temporary, target)
        note = (
            f"knowledge base: copied the packaged sample to {target} (edits go there; "
            "set kb_path to your city's own file)"
        )
    else:
        note = f"knowledge base: {target} (the copy of the packaged sample made on a first start)"
    _LOGGER.info("%s", note)
    return target, note
