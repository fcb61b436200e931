"""Staff accounts: create, list, change role or password, disable; check a password."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from voicebot.accounts.passwords import PasswordHashing, check_new_password
from voicebot.accounts.principal import Principal, PrincipalKind
from voicebot.calllog.models import ApiRole
from voicebot.calllog.rows import utc_now
from voicebot.calllog.staff_models import StaffAccount

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
"""Sign-in names: lower-case letters, digits and ``. _ @ -``, 1 to 64 characters."""
MAX_DISPLAY_NAME = 128


class AccountError(ValueError):
    """An account operation was refused; the message names the field and the problem."""


class AccountNotFoundError(LookupError):
    """No account has this name."""


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """A staff account as listed (never the hash)."""

    id: int
    name: str
    display_name: str
    role: ApiRole
    created_at: datetime
    password_changed_at: datetime
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        """Whether the account may sign in."""
        return self.disabled_at is None

    def principal(self, session_id: int | None = None) -> Principal:
        """This account as the party of a request."""
        return Principal(
            PrincipalKind.ACCOUNT,
            self.id,
            self.display_name,
            self.role,
            login=self.name,
            session_id=session_id,
        )


def normalise_name(name: str) -> str:
    """The stored form of a sign-in name (trimmed, lower case)."""
    return name.strip().casefold()


def check_name(name: str) -> str:
    """The normalised name, or :class:`AccountError` saying what is wrong with it."""
    normal = normalise_name(name)
    if not NAME_PATTERN.fullmatch(normal):
        raise AccountError(
            "name: 1 to 64 characters, lower-case letters, digits and . _ @ - "
            "(starting with a letter or digit)"
        )
    return normal


def account_from_row(row: Row[Any] | StaffAccount) -> AccountInfo:
    """An :class:`AccountInfo` from a ``staff_accounts`` row or ORM object."""
    return AccountInfo(
        id=row.id,
        name=row.name,
        display_name=row.display_name,
        role=ApiRole(row.role),
        created_at=row.created_at,
        password_changed_at=row.password_changed_at,
        disabled_at=row.disabled_at,
    )


def _role(role: str | ApiRole) -> ApiRole:
    try:
        return ApiRole(role)
    except ValueError:
        allowed = ", ".join(r.value for r in ApiRole)
        raise AccountError(f"role {role!r}: must be one of {allowed}") from None


def _display_name(display_name: str | None, name: str) -> str:
    shown = (display_name or name).strip()
    if not 0 < len(shown) <= MAX_DISPLAY_NAME or "\x00" in shown:
        raise AccountError(f"display_name: 1 to {MAX_DISPLAY_NAME} characters, no NUL")
    return shown


class AccountStore:
    """Staff accounts in the call log database; passwords hashed with argon2id."""

    def __init__(self, engine: Engine, hashing: PasswordHashing | None = None) -> None:
        self.engine = engine
        self.hashing = hashing or PasswordHashing()

    def create(
        self,
        name: str,
        password: str,
        role: str | ApiRole,
        *,
        display_name: str | None = None,
        now: datetime | None = None,
    ) -> AccountInfo:
        """A new account; :class:`AccountError` for a taken name or a weak password."""
        normal = check_name(name)
        checked_role = _role(role)
        shown = _display_name(display_name, normal)
        self._check_password(password, normal)
        moment = now or utc_now()
        try:
            with self.engine.begin() as connection:
                new_id = connection.execute(
                    insert(StaffAccount)
                    .values(
                        name=normal,
                        display_name=shown,
                        role=checked_role.value,
                        password_hash=self.hashing.hash(password),
                        created_at=moment,
                        password_changed_at=moment,
                    )
                    .returning(StaffAccount.id)
                ).scalar_one()
        except IntegrityError:
            raise AccountError(f"name: an account named {normal!r} already exists") from None
        return self.get_by_id(new_id)

    def get(self, name: str) -> AccountInfo:
        """The account named ``name``; :class:`AccountNotFoundError` if none."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(StaffAccount).where(StaffAccount.name == normalise_name(name))
            ).first()
        if row is None:
            raise AccountNotFoundError(f"no account named {normalise_name(name)!r}")
        return account_from_row(row)

    def get_by_id(self, account_id: int) -> AccountInfo:
        """The account with this id; :class:`AccountNotFoundError` if none."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(StaffAccount).where(StaffAccount.id == account_id)
            ).first()
        if row is None:
            raise AccountNotFoundError(f"no account with id {account_id}")
        return account_from_row(row)

    def list_accounts(self) -> list[AccountInfo]:
        """Every account, by name."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(StaffAccount).order_by(StaffAccount.name))
            return [account_from_row(row) for row in rows]

    def authenticate(self, name: str, password: str) -> AccountInfo | None:
        """The active account if ``password`` is its password; None otherwise.

        Takes the same time for an unknown name, a disabled account and a wrong password.
        A hash made with older parameters is upgraded on success.
        """
        normal = normalise_name(name)
        with self.engine.connect() as connection:
            row = connection.execute(
                select(StaffAccount).where(StaffAccount.name == normal)
            ).first()
        stored = row.password_hash if row is not None else None
        if not self.hashing.verify(stored, password) or row is None:
            return None
        if row.disabled_at is not None:
            return None
        if self.hashing.needs_rehash(row.password_hash):
            self._store_hash(row.id, self.hashing.hash(password), keep_changed_at=True)
        return account_from_row(row)

    def set_password(self, name: str, password: str, *, now: datetime | None = None) -> AccountInfo:
        """Replace the password (the caller ends the account's sessions)."""
        account = self.get(name)
        self._check_password(password, account.name)
        self._store_hash(account.id, self.hashing.hash(password), now=now)
        return self.get_by_id(account.id)

    def set_role(self, name: str, role: str | ApiRole) -> AccountInfo:
        """Change what the account may do (effective at its next request)."""
        account = self.get(name)
        with self.engine.begin() as connection:
            connection.execute(
                update(StaffAccount)
                .where(StaffAccount.id == account.id)
                .values(role=_role(role).value)
            )
        return self.get_by_id(account.id)

    def set_disabled(
        self, name: str, disabled: bool, *, now: datetime | None = None
    ) -> AccountInfo:
        """Disable (sign-in refused, sessions ended by the caller) or enable again."""
        account = self.get(name)
        with self.engine.begin() as connection:
            connection.execute(
                update(StaffAccount)
                .where(StaffAccount.id == account.id)
                .values(disabled_at=(now or utc_now()) if disabled else None)
            )
        return self.get_by_id(account.id)

    def _check_password(self, password: str, name: str) -> None:
        try:
            check_new_password(password, name)
        except ValueError as error:
            raise AccountError(str(error)) from None

    def _store_hash(
        self,
        account_id: int,
        password_hash: str,
        *,
        now: datetime | None = None,
        keep_changed_at: bool = False,
    ) -> None:
        values: dict[str, Any] = {"password_hash": password_hash}
        if not keep_changed_at:
            values["password_changed_at"] = now or utc_now()
        with self.engine.begin() as connection:
            connection.execute(
                update(StaffAccount).where(StaffAccount.id == account_id).values(**values)
            )
