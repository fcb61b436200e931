"""Channel variable values cut the way Asterisk must receive them: whole UTF-8 characters,
within the byte limits of the places they end up in.

Asterisk measures strings in bytes: ``${VAR:0:40}`` and the CDR userfield cut in the
middle of a character, and a real Asterisk 22 then sent an agent "…pas pass\\xc3" as
caller-id name (tests/data/asterisk-22, ``utf8`` call), warned about invalid UTF-8, and
failed the UserEvent carrying it. So the assistant cuts every value itself, at a
character boundary, and the dialplan never slices.
"""

from __future__ import annotations

from typing import Final

from voicebot.telephony.ami_codec import MAX_ACTION_LINE

CDR_USERFIELD_BYTES: Final = 255
"""AST_MAX_USER_FIELD is 256 with its terminating NUL (include/asterisk/cdr.h)."""
USERFIELD_TAG: Final = "voicebot"
"""First field of the CDR userfield the dialplan writes (extensions.conf)."""
SETVAR_VALUE_BYTES: Final = MAX_ACTION_LINE - len("Value: ")
"""Longest value one AMI Setvar line can carry."""
ELLIPSIS: Final = "…"


def cut_utf8(text: str, max_bytes: int, *, ellipsis: str = ELLIPSIS) -> str:
    """The longest start of ``text`` that is at most ``max_bytes`` in UTF-8, cut between
    characters; ``ellipsis`` marks a cut (and counts in the budget)."""
    if max_bytes <= 0:
        return ""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    room = max_bytes - len(ellipsis.encode("utf-8"))
    if room <= 0:
        return ""
    # errors="ignore" drops the partial character a byte cut leaves at the end.
    return encoded[:room].decode("utf-8", errors="ignore").rstrip() + ellipsis


def cut_chars(text: str, max_chars: int, *, ellipsis: str = ELLIPSIS) -> str:
    """At most ``max_chars`` characters, the ellipsis included when ``text`` is cut."""
    if len(text) <= max_chars:
        return text
    return text[: max(0, max_chars - len(ellipsis))].rstrip() + ellipsis


def cdr_userfield(
    call_id: str, target: str, exten: str, intent: str, language: str, summary: str
) -> str:
    """What ``Set(CDR(userfield)=voicebot|...)`` in extensions.conf writes."""
    return "|".join((USERFIELD_TAG, call_id, target, exten, intent, language, summary))


def summary_within_userfield(
    call_id: str, target: str, exten: str, intent: str, language: str, summary: str
) -> str:
    """``summary`` cut so that the whole CDR userfield fits its 255 bytes.

    The summary is the userfield's last part: the other parts are ids and codes the
    call report needs whole.
    """
    taken = len(cdr_userfield(call_id, target, exten, intent, language, "").encode("utf-8"))
    return cut_utf8(summary, CDR_USERFIELD_BYTES - taken)
