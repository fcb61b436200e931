"""The keys and calllog sub-commands, run through argparse as voicebot's CLI does."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.calllog.factories import make_call
from voicebot.accounts.keys import authenticate
from voicebot.calllog.db import create_calllog_engine
from voicebot.calllog.pseudonymize import Pseudonymizer
from voicebot.calllog.repository import CallLogRepository
from voicebot.cli import CommandError
from voicebot.cli.admin import register
from voicebot.config import Settings


def run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="voicebot")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    code: int = args.handler(args, settings)
    return code


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", transcript_retention_days=30)


def test_keys_create_list_and_revoke(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(settings, "keys", "create", "--role", "admin", "--name", "city it") == 0
    key, message = capsys.readouterr().out.splitlines()
    assert key.startswith("vb_") and "not shown again" in message
    engine = create_calllog_engine(settings.resolved_database_url)
    try:
        info = authenticate(engine, key)
        assert info is not None and info.role == "admin" and info.name == "city it"

        assert run(settings, "keys", "list") == 0
        listing = capsys.readouterr().out
        assert "city it" in listing and "active" in listing and key not in listing

        assert run(settings, "keys", "revoke", str(info.id)) == 0
        assert "revoked" in capsys.readouterr().out
        assert authenticate(engine, key) is None
        run(settings, "keys", "list")
        assert "revoked" in capsys.readouterr().out
    finally:
        engine.dispose()


def test_keys_errors_are_command_errors(settings: Settings) -> None:
    with pytest.raises(CommandError, match="no API key with id 99"):
        run(settings, "keys", "revoke", "99")
    with pytest.raises(SystemExit):
        run(settings, "keys", "create", "--role", "boss")


def test_calllog_migrate_and_purge_with_the_retention_setting(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(settings, "calllog", "migrate") == 0
    assert "schema up to date (sqlite)" in capsys.readouterr().out
    engine = create_calllog_engine(settings.resolved_database_url)
    try:
        repository = CallLogRepository(engine, Pseudonymizer(b"commands-test-key-0123"))
        now = datetime.now(UTC)
        repository.save_calls(
            [make_call("old", now - timedelta(days=40)), make_call("new", now - timedelta(days=5))]
        )
        assert run(settings, "calllog", "purge") == 0  # 30 days from the settings
        assert "in 1 turn(s)" in capsys.readouterr().out
        assert run(settings, "calllog", "purge", "--older-than-days", "1") == 0
        assert "in 1 turn(s)" in capsys.readouterr().out
        detail = repository.get_call("new")
        assert detail is not None and detail.turns[0].transcript is None
    finally:
        engine.dispose()
    with pytest.raises(CommandError, match="must not be negative"):
        run(settings, "calllog", "purge", "--older-than-days", "-1")


def test_unreachable_database_is_a_command_error(tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(CommandError, match="call log database unavailable"):
        run(settings, "calllog", "migrate")
