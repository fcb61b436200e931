"""``voicebot accounts``: create, list, password, disable, role, end-sessions; audited."""

from __future__ import annotations

import argparse
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from voicebot.accounts.audit import AuditLog
from voicebot.accounts.service import StaffAuth
from voicebot.calllog.db import create_calllog_engine
from voicebot.cli import CommandError
from voicebot.cli.accounts import read_password, register
from voicebot.config import Settings

PASSWORD = "le beffroi de la ville"


def run(settings: Settings, *argv: str, stdin: str = "") -> int:
    parser = argparse.ArgumentParser(prog="voicebot")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.StringIO(stdin))
        code: int = args.handler(args, settings)
    return code


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    yield Settings(data_dir=tmp_path / "var")


def test_accounts_lifecycle_from_the_command_line(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(
            settings,
            "accounts",
            "create",
            "marie.dupont",
            "--role",
            "admin",
            "--display-name",
            "Marie Dupont",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        == 0
    )
    assert "marie.dupont (admin, active" in capsys.readouterr().out
    engine = create_calllog_engine(settings.resolved_database_url)
    try:
        staff = StaffAuth(engine)
        assert staff.sign_in("marie.dupont", PASSWORD, "127.0.0.1").principal is not None
        run(settings, "accounts", "list")
        listing = capsys.readouterr().out
        assert "marie.dupont" in listing and "Marie Dupont" in listing and PASSWORD not in listing
        run(settings, "accounts", "role", "marie.dupont", "kb_editor")
        run(
            settings,
            "accounts",
            "password",
            "marie.dupont",
            "--password-stdin",
            stdin="un autre mot de passe\n",
        )
        assert "its sessions ended" in capsys.readouterr().out.splitlines()[-1]
        run(settings, "accounts", "disable", "marie.dupont")
        assert staff.sign_in("marie.dupont", "un autre mot de passe", "127.0.0.1").principal is None
        run(settings, "accounts", "enable", "marie.dupont")
        assert staff.sign_in("marie.dupont", "un autre mot de passe", "127.0.0.1").principal
        run(settings, "accounts", "end-sessions", "marie.dupont")
        assert "1 session(s) of marie.dupont ended" in capsys.readouterr().out
        entries, _ = AuditLog(engine).entries()
        cli_kinds = [e.kind.value for e in reversed(entries) if (e.actor or "").startswith("cli:")]
        assert cli_kinds == [
            "account_created",
            "role_changed",
            "password_changed",
            "account_disabled",
            "account_enabled",
            "session_ended",
        ]
    finally:
        engine.dispose()


def test_errors_say_what_is_wrong(settings: Settings) -> None:
    with pytest.raises(CommandError, match="password: use at least 12"):
        run(
            settings,
            "accounts",
            "create",
            "jean",
            "--role",
            "operator",
            "--password-stdin",
            stdin="court\n",
        )
    with pytest.raises(CommandError, match="no account named 'nobody'"):
        run(settings, "accounts", "disable", "nobody")


def test_a_typed_password_must_be_typed_twice_the_same() -> None:
    args = argparse.Namespace(password_stdin=False)
    answers = iter([PASSWORD, PASSWORD + "!"])
    with pytest.raises(CommandError, match="the two passwords differ"):
        read_password(args, prompt=lambda _prompt: next(answers))
    same = iter([PASSWORD, PASSWORD])
    assert read_password(args, prompt=lambda _prompt: next(same)) == PASSWORD
