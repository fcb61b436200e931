"""Password hashing (argon2id through argon2-cffi) and the rules a new password must meet."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
"""Longer inputs are refused before hashing: the cost of a hash must stay bounded."""


class PasswordPolicyError(ValueError):
    """A new password does not meet the rules; the message says which."""


@dataclass(frozen=True, slots=True)
class HashCost:
    """argon2id parameters; the defaults are argon2-cffi's (RFC 9106, low-memory profile)."""

    time_cost: int = 3
    memory_cost_kib: int = 64 * 1024
    parallelism: int = 4


FAST_TEST_COST = HashCost(time_cost=1, memory_cost_kib=8 * 1024, parallelism=1)
"""Real argon2id with small parameters, for test suites that create many accounts."""


class PasswordHashing:
    """Hash and verify passwords; says when a stored hash should be upgraded."""

    def __init__(self, cost: HashCost | None = None) -> None:
        cost = cost or HashCost()
        self._hasher = PasswordHasher(
            time_cost=cost.time_cost,
            memory_cost=cost.memory_cost_kib,
            parallelism=cost.parallelism,
        )
        # Verifying against this when the account does not exist keeps the answer time the
        # same for unknown names (no account enumeration by timing).
        self._dummy = self._hasher.hash("not a password: timing equaliser")

    def hash(self, password: str) -> str:
        """The PHC-format hash of ``password`` (salt and parameters included)."""
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches; with ``stored_hash`` None, spend the same time and
        say no."""
        if len(password) > MAX_PASSWORD_LENGTH:
            return False
        try:
            return self._hasher.verify(stored_hash or self._dummy, password) and bool(stored_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """Whether the hash was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True


def check_new_password(password: str, name: str) -> None:
    """Refuse weak new passwords with a message naming the rule broken."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"password: use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"password: use at most {MAX_PASSWORD_LENGTH} characters")
    if "\x00" in password:
        raise PasswordPolicyError("password: must not contain a NUL character")
    if len(set(password)) < 4:
        raise PasswordPolicyError("password: use more than three different characters")
    if name and name.casefold() in password.casefold():
        raise PasswordPolicyError("password: must not contain the account name")
