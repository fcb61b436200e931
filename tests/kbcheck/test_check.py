"""``voicebot kb check`` and ``kb suggest`` on good, broken and weak KBs (real model and catalogue)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from voicebot.cli.main import main

MINIMAL = Path(__file__).parent.parent / "data" / "kb" / "minimal.yaml"


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory, command_data_dir: Path) -> Path:
    """Settings whose cache is shared with the session's other commands."""
    path = tmp_path_factory.mktemp("kbcheck") / "settings.yaml"
    path.write_text(f"data_dir: {command_data_dir}\n", encoding="utf-8")
    return path


def _kb(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    text = MINIMAL.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "kb.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(config: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["--config", str(config), *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_phrase_under_two_targets_fails_the_check_in_the_kbs_language(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _kb(
        tmp_path,
        (
            "fr: [mes poubelles n'ont pas été ramassées]",
            "fr: [je dois renouveler ma carte d'identité]",
        ),
    )
    code, out = _run(config, capsys, "kb", "check", str(path))
    assert code == 1
    assert "Exemples contradictoires" in out  # the KB's default language is French
    assert "« je dois renouveler ma carte d identité » est un exemple de population, waste" in out
    assert out.rstrip().splitlines()[-1].startswith("Verdict : à retravailler : 1 problème(s)")


def test_a_weak_department_and_inferred_links_are_reported(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _kb(
        tmp_path,
        ("  - id: waste\n", "  - id: zeta\n"),
        ("name: {fr: Propreté, en: Cleanliness}", "name: {fr: Cellule Zeta, en: Zeta Unit}"),
        (
            "description: {fr: Collectes des déchets., en: Waste collection.}",
            "description: {fr: Divers., en: Various.}",
        ),
        (
            "      fr: [mes poubelles n'ont pas été ramassées]\n      en: [my bins were not collected]\n",
            "      fr: [dossier zeta]\n",
        ),
    )
    code, out = _run(config, capsys, "kb", "check", str(path))
    assert code == 0, out
    assert "zeta n'a aucun lien avec le catalogue et 1 exemples" in out
    assert "population : déduit de ses textes, à confirmer : population" in out
    assert "Exactitude en validation croisée" in out
    assert "Verdict : prête ;" in out


def test_suggest_prints_yaml_that_pasted_into_the_kb_declares_the_links(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _run(config, capsys, "kb", "suggest", str(MINIMAL))
    assert code == 0, out
    proposal = yaml.safe_load(out)
    services = {d["id"]: d.get("services") for d in proposal["departments"]}
    assert "population" in services["population"]
    assert "waste" in services["waste"]
    edits = [
        (f"  - id: {dept}\n", f"  - id: {dept}\n    services: [{', '.join(ids)}]\n")
        for dept, ids in services.items()
        if ids
    ]
    pasted = _kb(tmp_path, *edits)
    code, out = _run(config, capsys, "kb", "check", str(pasted))
    assert "population : déclaré population" in out
    assert "waste : déclaré waste" in out


def test_a_broken_kb_is_one_clear_line(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _kb(
        tmp_path,
        ("    hours: always\n", "    hours: always\n    services: [wastes]\n"),
    )
    code, out = _run(config, capsys, "kb", "check", str(path))
    assert code == 2
    assert out.strip() == (
        f"voicebot: {path}:{_line(path, 'services: [wastes]')}: departments[1].services[0]: "
        "unknown catalogue service 'wastes' (did you mean 'waste'?)"
    )


def _line(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if needle in line)
