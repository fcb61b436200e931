"""Password hashing (argon2id) and the rules for new passwords."""

from __future__ import annotations

import pytest

from voicebot.accounts.passwords import (
    FAST_TEST_COST,
    MAX_PASSWORD_LENGTH,
    HashCost,
    PasswordHashing,
    PasswordPolicyError,
    check_new_password,
)


def test_hash_is_argon2id_salted_and_verifies() -> None:
    hashing = PasswordHashing(FAST_TEST_COST)
    first = hashing.hash("correct horse battery staple")
    second = hashing.hash("correct horse battery staple")
    assert first.startswith("$argon2id$") and first != second  # a salt each time
    assert "correct horse" not in first
    assert hashing.verify(first, "correct horse battery staple")
    assert not hashing.verify(first, "correct horse battery stapler")
    assert not hashing.verify("not a hash", "whatever")
    assert not hashing.verify(None, "correct horse battery staple")
    assert not hashing.verify(first, "x" * (MAX_PASSWORD_LENGTH + 1))


def test_a_hash_made_with_other_parameters_needs_rehash() -> None:
    cheap = PasswordHashing(FAST_TEST_COST).hash("correct horse battery staple")
    stronger = PasswordHashing(HashCost(time_cost=2, memory_cost_kib=16 * 1024, parallelism=1))
    assert stronger.needs_rehash(cheap)
    assert not stronger.needs_rehash(stronger.hash("correct horse battery staple"))


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "at least 12"),
        ("aaaaaaaaaaaaaaaa", "more than three different"),
        ("marie.dupont2024!", "must not contain the account name"),
        ("x" * (MAX_PASSWORD_LENGTH + 1), "at most"),
        ("with a nul \x00 inside", "NUL"),
    ],
)
def test_weak_new_passwords_are_refused_with_the_rule(password: str, problem: str) -> None:
    with pytest.raises(PasswordPolicyError, match=problem):
        check_new_password(password, "marie.dupont")


def test_a_long_passphrase_is_accepted() -> None:
    check_new_password("la tour de la maison communale", "marie.dupont")
