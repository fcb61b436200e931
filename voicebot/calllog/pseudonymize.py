"""Keyed pseudonymisation of caller numbers (HMAC-SHA256 over the E.164 form)."""

from __future__ import annotations

import hashlib
import hmac
import re

MIN_KEY_BYTES = 16

# Caller IDs Asterisk reports when the number is withheld or missing.
_ANONYMOUS = frozenset({"", "anonymous", "unknown", "private", "restricted", "unavailable"})
_SEPARATORS = re.compile(r"[\s.\-/()]")
_DIGITS = re.compile(r"\+?[0-9]+")


def normalize_number(raw: str, default_country_code: str | None = None) -> str:
    """Normalise a phone number: strip separators, ``00`` → ``+``, national ``0`` → ``+<cc>``.

    ``"0470 12 34 56"``, ``"+32 470 12 34 56"`` and ``"0032470123456"`` all become
    ``"+32470123456"`` with ``default_country_code="32"``. Without a country code a national
    number keeps its leading ``0``. Raises ``ValueError`` if ``raw`` is not a phone number.
    """
    if default_country_code is not None and not default_country_code.isdigit():
        raise ValueError(f"default_country_code must be digits, got {default_country_code!r}")
    number = _SEPARATORS.sub("", raw.strip())
    if not _DIGITS.fullmatch(number):
        raise ValueError(f"not a phone number: {raw!r}")
    if number.startswith("+"):
        return number
    if number.startswith("00"):
        return "+" + number[2:]
    if default_country_code and number.startswith("0"):
        return f"+{default_country_code}{number[1:]}"
    return number


class Pseudonymizer:
    """Turns raw caller numbers into stable keyed hashes; the key never leaves this object."""

    __slots__ = ("_default_country_code", "_key")

    def __init__(self, key: bytes, default_country_code: str | None = None) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"pseudonymisation key must be at least {MIN_KEY_BYTES} bytes")
        if default_country_code is not None and not default_country_code.isdigit():
            raise ValueError(f"default_country_code must be digits, got {default_country_code!r}")
        self._key = key
        self._default_country_code = default_country_code

    def caller_hash(self, raw: str | None) -> str | None:
        """Hex HMAC-SHA256 of the normalised number; None for withheld or missing numbers.

        A caller ID that is not a phone number (e.g. a SIP user name) is hashed as given,
        stripped and lower-cased, so it is never stored in clear either.
        """
        if raw is None or raw.strip().lower() in _ANONYMOUS:
            return None
        try:
            subject = normalize_number(raw, self._default_country_code)
        except ValueError:
            subject = "id:" + raw.strip().lower()
        return hmac.new(self._key, subject.encode("utf-8"), hashlib.sha256).hexdigest()
