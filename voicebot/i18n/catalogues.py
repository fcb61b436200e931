"""The gettext catalogues of the staff pages: Babel ``.po`` sources, compiled ``.mo`` files.

Messages are written in English in the code (the gettext source language); every other page
language has ``locale/<lang>/LC_MESSAGES/messages.po``. The ``.mo`` files are compiled by
``scripts/setup.sh`` (editable installs) and by the wheel build (``setup.py``), never
committed: see ``docs/decisions/i18n.md``.
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Callable
from pathlib import Path

from babel.support import Translations

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
"""The language the messages are written in: it needs no catalogue."""


class CatalogueError(RuntimeError):
    """A page language has no compiled catalogue."""


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated later, where it is shown."""
    return message


def catalogue_path(language: str, suffix: str = ".po") -> Path:
    """Where the catalogue of ``language`` lives (``.po`` source or ``.mo`` compiled)."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


@functools.cache
def available_languages() -> tuple[str, ...]:
    """Languages the pages can be shown in: the source language and every catalogue."""
    found = sorted(
        path.parent.parent.name for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
    )
    return (SOURCE_LANGUAGE, *found)


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``language`` (loaded once per process)."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    if language not in available_languages():
        raise CatalogueError(f"no catalogue for page language {language!r}")
    compiled = catalogue_path(language, ".mo")
    if not compiled.is_file():
        raise CatalogueError(
            f"{compiled}: the {language!r} catalogue is not compiled; run scripts/setup.sh "
            "(or: pybabel compile -d voicebot/i18n/locale)"
        )
    with compiled.open("rb") as stream:
        return Translations(stream, domain=DOMAIN)


class TranslatableError(ValueError):
    """An error whose message is a catalogue entry with named parameters.

    ``str(error)`` is the English text (logs, API); pages show ``error.translated(gettext)``.
    """

    def __init__(self, message: str, **params: object) -> None:
        self.message = message
        self.params = params
        super().__init__(message % params if params else message)

    def translated(self, gettext: Callable[[str], str]) -> str:
        """The message in the language of ``gettext``."""
        text = gettext(self.message)
        return text % self.params if self.params else text
