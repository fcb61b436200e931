"""``voicebot accounts``: staff accounts for the pages (people sign in with a name and a
password; API keys are for machines).

``accounts create NAME --role R [--display-name D]``, ``accounts list``, ``accounts password
NAME``, ``accounts disable NAME``, ``accounts enable NAME``, ``accounts role NAME R``,
``accounts end-sessions NAME``. Passwords are read from the terminal (twice) or, with
``--password-stdin``, from the first line of standard input; never from the command line,
which other users of the machine can see. Every change is in the audit trail as
``cli:<user>@<host>``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from voicebot.accounts.service import StaffAuth
from voicebot.accounts.store import AccountError, AccountInfo, AccountNotFoundError
from voicebot.calllog.db import create_calllog_engine
from voicebot.calllog.models import ApiRole
from voicebot.cli.admin import cli_actor, database_url
from voicebot.cli.errors import CommandError, SubParsers
from voicebot.config import Settings

ROLES = [role.value for role in ApiRole]


def register(subparsers: SubParsers) -> None:
    """Add the ``accounts`` command to ``voicebot``'s sub-parsers."""
    accounts = subparsers.add_parser("accounts", help="staff accounts of the pages")
    commands = accounts.add_subparsers(title="accounts commands", metavar="ACCOUNTSCOMMAND")
    create = commands.add_parser("create", help="create an account (asks for its password)")
    create.add_argument("name", help="sign-in name, e.g. marie.dupont")
    create.add_argument("--role", required=True, choices=ROLES, help="what the account may do")
    create.add_argument("--display-name", help="name shown on the pages (default: NAME)")
    _password_option(create)
    create.set_defaults(handler=_cmd_create)
    commands.add_parser("list", help="list accounts").set_defaults(handler=_cmd_list)
    password = commands.add_parser("password", help="set a new password (ends its sessions)")
    password.add_argument("name")
    _password_option(password)
    password.set_defaults(handler=_cmd_password)
    for verb, disabled, text in (
        ("disable", True, "refuse sign-in and end its sessions at once"),
        ("enable", False, "allow sign-in again"),
    ):
        command = commands.add_parser(verb, help=text)
        command.add_argument("name")
        command.set_defaults(handler=_cmd_disable, disabled=disabled)
    role = commands.add_parser("role", help="change what an account may do")
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    role.set_defaults(handler=_cmd_role)
    end = commands.add_parser("end-sessions", help="sign an account out everywhere")
    end.add_argument("name")
    end.set_defaults(handler=_cmd_end_sessions)


def _password_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (for scripts)",
    )


def read_password(args: argparse.Namespace, prompt: Callable[[str], str] = getpass.getpass) -> str:
    """The new password, from stdin or typed twice at the terminal."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = prompt("New password: ")
    if prompt("Same password again: ") != first:
        raise CommandError("the two passwords differ; nothing changed")
    return first


@contextmanager
def _staff(settings: Settings) -> Iterator[StaffAuth]:
    engine = create_calllog_engine(database_url(settings))
    try:
        yield StaffAuth(engine)
    except (AccountError, AccountNotFoundError) as error:
        raise CommandError(str(error)) from None
    finally:
        engine.dispose()


def _describe(account: AccountInfo) -> str:
    state = "disabled" if account.disabled_at else "active"
    return f"{account.name} ({account.role.value}, {state}, shown as {account.display_name!r})"


def _cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    password = read_password(args)
    with _staff(settings) as staff:
        account = staff.create_account(
            cli_actor(), None, args.name, password, args.role, args.display_name
        )
    print(f"account {_describe(account)} created: sign in at /login")
    return 0


def _cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    with _staff(settings) as staff:
        accounts = staff.accounts.list_accounts()
    if not accounts:
        print("no accounts (create one with: voicebot accounts create NAME --role admin)")
        return 0
    print(f"{'name':<24}  {'role':<9}  {'state':<8}  {'password set':<16}  shown as")
    for account in accounts:
        state = "disabled" if account.disabled_at else "active"
        changed = f"{account.password_changed_at:%Y-%m-%d %H:%M}"
        print(
            f"{account.name:<24}  {account.role.value:<9}  {state:<8}  {changed:<16}  "
            f"{account.display_name}"
        )
    return 0


def _cmd_password(args: argparse.Namespace, settings: Settings) -> int:
    password = read_password(args)
    with _staff(settings) as staff:
        account = staff.set_password(cli_actor(), None, args.name, password)
    print(f"password of {account.name} changed; its sessions ended")
    return 0


def _cmd_disable(args: argparse.Namespace, settings: Settings) -> int:
    with _staff(settings) as staff:
        account = staff.set_disabled(cli_actor(), None, args.name, args.disabled)
    print(f"account {_describe(account)}")
    return 0


def _cmd_role(args: argparse.Namespace, settings: Settings) -> int:
    with _staff(settings) as staff:
        account = staff.set_role(cli_actor(), None, args.name, args.role)
    print(f"account {_describe(account)}")
    return 0


def _cmd_end_sessions(args: argparse.Namespace, settings: Settings) -> int:
    with _staff(settings) as staff:
        ended = staff.end_sessions(cli_actor(), None, args.name)
    print(f"{ended} session(s) of {args.name} ended")
    return 0
