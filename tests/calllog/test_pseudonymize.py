"""Caller number normalisation and keyed hashing."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from voicebot.calllog.pseudonymize import Pseudonymizer, normalize_number

KEY = b"0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    "raw",
    ["0470 12 34 56", "+32 470 12 34 56", "0032470123456", "+32470123456", "0470/12.34.56"],
)
def test_belgian_number_variants_normalise_to_the_same_e164(raw: str) -> None:
    assert normalize_number(raw, "32") == "+32470123456"


def test_national_number_keeps_its_zero_without_a_default_country_code() -> None:
    assert normalize_number("0470 12 34 56") == "0470123456"


def test_foreign_international_number_is_left_in_e164() -> None:
    assert normalize_number("0033 1 23 45 67 89", "32") == "+33123456789"


@pytest.mark.parametrize("raw", ["abc", "12a4", "+", "++32"])
def test_non_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="not a phone number"):
        normalize_number(raw, "32")


def test_hash_is_hmac_sha256_of_the_e164_number() -> None:
    expected = hmac.new(KEY, b"+32470123456", hashlib.sha256).hexdigest()
    pseudonymizer = Pseudonymizer(KEY, "32")
    assert pseudonymizer.caller_hash("0470 12 34 56") == expected
    assert pseudonymizer.caller_hash("+32470123456") == expected


def test_another_key_gives_another_hash() -> None:
    assert Pseudonymizer(KEY).caller_hash("+32470123456") != Pseudonymizer(KEY[::-1]).caller_hash(
        "+32470123456"
    )


@pytest.mark.parametrize("raw", [None, "", "anonymous", "Unknown", " restricted "])
def test_withheld_numbers_have_no_hash(raw: str | None) -> None:
    assert Pseudonymizer(KEY, "32").caller_hash(raw) is None


def test_non_numeric_caller_id_is_hashed_not_kept() -> None:
    digest = Pseudonymizer(KEY, "32").caller_hash("alice.sip")
    assert digest is not None and len(digest) == 64 and "alice" not in digest


def test_short_keys_and_bad_country_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Pseudonymizer(b"short")
    with pytest.raises(ValueError, match="digits"):
        Pseudonymizer(KEY, "+32")
