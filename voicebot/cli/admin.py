"""Command-line sub-commands for API keys and call log maintenance.

``voicebot keys create --role R [--name N]``, ``keys list``, ``keys revoke ID``,
``voicebot calllog migrate`` and ``calllog purge [--older-than-days N]``. Handlers take
``(args, settings)`` and return the exit code.
"""

from __future__ import annotations

import argparse
import getpass
import socket
from datetime import timedelta

from sqlalchemy import exc as sa_exc

from voicebot.accounts.keys import KeyNotFoundError, list_keys
from voicebot.accounts.service import StaffAuth
from voicebot.calllog.db import create_calllog_engine, migrate
from voicebot.calllog.models import ApiRole
from voicebot.calllog.pseudonymize import Pseudonymizer
from voicebot.calllog.purge import purge
from voicebot.calllog.rows import utc_now
from voicebot.calllog.spool_purge import purge_spool
from voicebot.cli.errors import CommandError, SubParsers
from voicebot.config import Settings

ROLES = [role.value for role in ApiRole]


def cli_actor() -> str:
    """How the audit trail names someone acting from this machine's command line."""
    return f"cli:{getpass.getuser()}@{socket.gethostname()}"


def register(subparsers: SubParsers) -> None:
    """Add the ``keys`` and ``calllog`` commands to ``voicebot``'s sub-parsers."""
    keys = subparsers.add_parser("keys", help="API keys (for machines; people have accounts)")
    key_commands = keys.add_subparsers(title="keys commands", metavar="KEYSCOMMAND")
    create = key_commands.add_parser("create", help="create a key and print it (once)")
    create.add_argument("--role", required=True, choices=ROLES, help="what the key may do")
    create.add_argument("--name", help="who or what uses the key (default: user@host)")
    create.set_defaults(handler=_cmd_keys_create)
    listing = key_commands.add_parser("list", help="list keys (never their secrets)")
    listing.set_defaults(handler=_cmd_keys_list)
    revoke = key_commands.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("id", type=int, help="key id (see keys list)")
    revoke.set_defaults(handler=_cmd_keys_revoke)

    calllog = subparsers.add_parser("calllog", help="call log database maintenance")
    log_commands = calllog.add_subparsers(title="calllog commands", metavar="LOGCOMMAND")
    migrate_cmd = log_commands.add_parser("migrate", help="create or upgrade the schema")
    migrate_cmd.set_defaults(handler=_cmd_calllog_migrate)
    purge_cmd = log_commands.add_parser(
        "purge",
        help="erase transcripts and callback numbers older than the retention period "
        "(spool first, then the database)",
    )
    purge_cmd.add_argument(
        "--older-than-days",
        type=int,
        help="retention in days (default: settings transcript_retention_days)",
    )
    purge_cmd.set_defaults(handler=_cmd_calllog_purge)


def database_url(settings: Settings) -> str:
    """The call log URL, migrated; CommandError when the database cannot be reached."""
    url = settings.resolved_database_url
    try:
        migrate(url)
    except (sa_exc.SQLAlchemyError, OSError) as error:
        raise CommandError(f"call log database unavailable: {error}") from None
    return url


def _cmd_keys_create(args: argparse.Namespace, settings: Settings) -> int:
    name = args.name or f"{getpass.getuser()}@{socket.gethostname()}"
    engine = create_calllog_engine(database_url(settings))
    try:
        info, plaintext = StaffAuth(engine).create_key(cli_actor(), None, name, args.role)
    except ValueError as error:
        raise CommandError(str(error)) from None
    finally:
        engine.dispose()
    print(plaintext)
    print(
        f"key {info.id} ({info.role}, {info.name!r}) created: store it now, it is not shown again"
    )
    return 0


def _cmd_keys_list(args: argparse.Namespace, settings: Settings) -> int:
    engine = create_calllog_engine(database_url(settings))
    try:
        keys = list_keys(engine)
    finally:
        engine.dispose()
    if not keys:
        print("no API keys (create one with: voicebot keys create --role admin)")
        return 0
    print(f"{'id':>4}  {'role':<8}  {'state':<8}  {'last used':<16}  name")
    for key in keys:
        state = "revoked" if key.revoked_at else "active"
        used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
        print(f"{key.id:>4}  {key.role.value:<8}  {state:<8}  {used:<16}  {key.name}")
    return 0


def _cmd_keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    engine = create_calllog_engine(database_url(settings))
    try:
        info = StaffAuth(engine).revoke_key(cli_actor(), None, args.id)
    except KeyNotFoundError as error:
        raise CommandError(str(error)) from None
    finally:
        engine.dispose()
    print(f"key {info.id} ({info.role}, {info.name!r}) revoked")
    return 0


def _cmd_calllog_migrate(args: argparse.Namespace, settings: Settings) -> int:
    url = database_url(settings)
    print(f"call log schema up to date ({url.split(':', 1)[0]})")
    return 0


def _cmd_calllog_purge(args: argparse.Namespace, settings: Settings) -> int:
    days = args.older_than_days
    if days is None:
        days = settings.transcript_retention_days
    if days < 0:
        raise CommandError(f"--older-than-days must not be negative, got {days}")
    # The spool first: it needs no database, and it matters most when the database is away.
    cutoff = utc_now() - timedelta(days=days)
    pseudonymizer = Pseudonymizer(
        settings.pseudonym_key.encode("utf-8"), settings.default_country_code
    )
    spooled = purge_spool(settings.spool_dir, cutoff, pseudonymizer)
    print(
        f"spool {settings.spool_dir}: erased what callers said in {spooled.turns} turn(s), "
        f"the numbers of {spooled.callbacks} callback request(s), {spooled.rejected_lines} "
        f"unreadable rejected line(s); {spooled.numbers} caller number(s) pseudonymised"
    )
    engine = create_calllog_engine(database_url(settings))
    try:
        result = purge(engine, days, now=cutoff + timedelta(days=days))
    finally:
        engine.dispose()
    print(
        f"erased what callers said in {result.turns} turn(s) and the numbers of "
        f"{result.callbacks} callback request(s) from before {result.cutoff:%Y-%m-%d %H:%M} UTC"
    )
    return 0
