"""Build hook: compile the staff pages' translation catalogues (.po → .mo) into the wheel.

Everything else about the package is in pyproject.toml. Editable installs compile them in
place instead (scripts/setup.sh); see docs/decisions/i18n.md.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

LOCALE = Path("voicebot") / "i18n" / "locale"


class BuildWithCatalogues(build_py):
    """``build_py`` that also writes ``messages.mo`` beside each ``messages.po``."""

    def run(self) -> None:
        super().run()
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for source in sorted(LOCALE.glob("*/LC_MESSAGES/*.po")):
            target = Path(self.build_lib) / source.with_suffix(".mo")
            target.parent.mkdir(parents=True, exist_ok=True)
            with source.open("rb") as po:
                catalog = read_po(po)
            with target.open("wb") as mo:
                write_mo(mo, catalog)


setup(cmdclass={"build_py": BuildWithCatalogues})
