"""Names shared by the Asterisk dialplan (dialplans/), the AMI connector and the simulator.

The dialplan in ``dialplans/extensions.conf`` and the assistant only meet through these
strings: contexts the assistant redirects to, channel variables it sets with AMI Setvar,
global variables a city configures, and the UserEvents the dialplan raises. Tests in
``tests/dialplans/`` check that every name here exists in the shipped configuration and
that the simulator uses the same ones, so renaming happens here and nowhere else.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

INCOMING_CONTEXT: Final = "voicebot-incoming"
"""Where the city's main number lands: Answer, announce, AudioSocket to the assistant."""
DEPARTMENTS_CONTEXT: Final = "voicebot-departments"
"""Redirect target for transfers: exten = the department's extension, priority 1."""
INCOMING_EXTEN: Final = "s"
"""Extension of the incoming context the call starts in."""
TRANSFER_PRIORITY: Final = 1
"""Priority to give AMI Redirect into the departments context."""
DEFAULT_OPERATOR_EXTEN: Final = "1000"
"""Operator extension of the sample configuration (``VOICEBOT_OPERATOR`` in [globals])."""


class ChannelVar(StrEnum):
    """Channel variables on the caller's channel."""

    UUID = "VB_UUID"
    """Set by the dialplan: the call id given to AudioSocket (lower-case UUID)."""
    TARGET = "VB_TARGET"
    """Set by the assistant: department id, or ``operator``."""
    EXTEN = "VB_EXTEN"
    """Set by the assistant: the extension it redirects to."""
    INTENT = "VB_INTENT"
    """Set by the assistant: the routed label (FAQ or department id) for the CDR."""
    SUMMARY = "VB_SUMMARY"
    """Set by the assistant: ``sanitize_summary()`` of what the caller asked."""
    LANG = "VB_LANG"
    """Set by the assistant: the conversation language (fr, nl, en, de)."""
    WHISPER = "VB_WHISPER"
    """Set by the assistant: sound played to the agent before bridging (``whisper_sound()``)."""
    SCREEN_POP = "VB_SCREEN_POP"
    """Set by the assistant: the agent phone's caller-id name (department and request),
    whole characters, at most ``SCREEN_POP_MAX_CHARS``: the dialplan never slices it."""
    RING_TIMEOUT = "VB_RING_TIMEOUT"
    """Optional, set by the assistant: seconds to ring; default ``VOICEBOT_RING_TIMEOUT``."""
    DONE = "VB_DONE"
    """Set to ``DONE_VALUE`` by the assistant before it ends a call on purpose."""


ASSISTANT_SET_VARIABLES: Final = (
    ChannelVar.TARGET,
    ChannelVar.EXTEN,
    ChannelVar.INTENT,
    ChannelVar.SUMMARY,
    ChannelVar.LANG,
    ChannelVar.WHISPER,
    ChannelVar.SCREEN_POP,
)
"""What the assistant sets with AMI Setvar before every Redirect, in this order."""
DONE_VALUE: Final = "1"
"""Value of ``VB_DONE`` meaning "hung up deliberately: do not send to the operator"."""
OPERATOR_TARGET: Final = "operator"
"""``VB_TARGET`` value when the call goes to the operator rather than a department."""

# Flat aliases, as the call session spells them.
VAR_UUID: Final = ChannelVar.UUID
VAR_TARGET: Final = ChannelVar.TARGET
VAR_EXTEN: Final = ChannelVar.EXTEN
VAR_INTENT: Final = ChannelVar.INTENT
VAR_SUMMARY: Final = ChannelVar.SUMMARY
VAR_LANG: Final = ChannelVar.LANG
VAR_WHISPER: Final = ChannelVar.WHISPER
VAR_SCREEN_POP: Final = ChannelVar.SCREEN_POP
VAR_RING_TIMEOUT: Final = ChannelVar.RING_TIMEOUT
VAR_DONE: Final = ChannelVar.DONE


class GlobalVar(StrEnum):
    """Variables of the dialplan's [globals] section that a city adapts."""

    AUDIOSOCKET = "VOICEBOT_AUDIOSOCKET"
    """host:port of the assistant's AudioSocket server."""
    OPERATOR = "VOICEBOT_OPERATOR"
    """Operator extension: where calls go when the assistant cannot help or is down."""
    RING_TIMEOUT = "VOICEBOT_RING_TIMEOUT"
    """Seconds a department rings before the dial counts as NOANSWER."""
    FALLBACK_WAIT = "VOICEBOT_FALLBACK_WAIT"
    """Seconds a failed transfer waits for the assistant's Redirect before the operator."""
    MOH_CLASS = "VOICEBOT_MOH_CLASS"
    """Music-on-hold class played during that wait."""
    RINGBACK = "VOICEBOT_RINGBACK"
    """Dial() option giving the caller ringback (``r``) or music (``m(class)``)."""
    DIAL_PREFIX = "VOICEBOT_DIAL_PREFIX"
    """Dial string before the extension (``PJSIP/``, ``Local/``...)."""
    DIAL_SUFFIX = "VOICEBOT_DIAL_SUFFIX"
    """Dial string after the extension (``@from-internal`` for FreePBX Local channels)."""
    SCREEN_POP = "VOICEBOT_SCREEN_POP"
    """``yes``: show the summary as caller-id name on the agent's phone."""


class UserEventName(StrEnum):
    """UserEvent names raised by the dialplan (AMI ``UserEvent:`` header)."""

    CALL = "VoicebotCall"
    """Before AudioSocket: which channel carries which call UUID."""
    DIAL_RESULT = "VoicebotDialResult"
    """After a transfer's Dial(): its DIALSTATUS."""


CALL_EVENT: Final = UserEventName.CALL
DIAL_RESULT_EVENT: Final = UserEventName.DIAL_RESULT


USER_EVENT_FIELDS: Final[dict[UserEventName, tuple[str, ...]]] = {
    UserEventName.CALL: ("UUID", "Channel"),
    UserEventName.DIAL_RESULT: ("UUID", "DialStatus", "Target"),
}
"""Body headers of each UserEvent, in the order the dialplan writes them."""


class AmiAction(StrEnum):
    """AMI actions the assistant sends to a production Asterisk."""

    LOGIN = "Login"
    LOGOFF = "Logoff"
    PING = "Ping"
    SETVAR = "Setvar"
    GETVAR = "Getvar"
    REDIRECT = "Redirect"
    HANGUP = "Hangup"
    CORE_SHOW_CHANNELS = "CoreShowChannels"


AMI_ACTIONS_NOT_GRANTED: Final[dict[str, str]] = {
    "Originate": "places test calls into the simulator (demo, load tests); not for production",
    "Command": "CLI commands are a diagnostic tool; the voicebot AMI user may not run them",
}
"""Actions the connector can send that the least-privilege AMI user is refused, and why."""

AMI_USERNAME: Final = "voicebot"
"""The AMI user of dialplans/manager.conf."""

WHISPER_SOUND_DIR: Final = "voicebot"
"""Sub-directory of Asterisk's sounds directory shared with the assistant."""
WHISPER_SOUND_PREFIX: Final = f"{WHISPER_SOUND_DIR}/whisper-"
"""Whisper sound name = this prefix + the call UUID (what ``VB_WHISPER`` holds)."""
WHISPER_FILE_EXTENSION: Final = ".sln"
"""Whispers are written as 8 kHz signed-linear raw audio (format_sln)."""
SUMMARY_MAX_CHARS: Final = 200
"""Longest ``VB_SUMMARY``; it is cut further, between characters, so that the CDR
userfield holding it last fits its 255 bytes (``ami_values.summary_within_userfield``)."""
SCREEN_POP_MAX_CHARS: Final = 40
"""Longest ``VB_SCREEN_POP``: what a desk phone's display shows of a caller-id name."""
EXTENSION_PATTERN: Final = r"[0-9*#]{1,16}"
"""What a department or operator extension may be (the KB schema's ``extension``, anchored):
the dialplan dials ``${EXTEN}``, so nothing else may reach it."""
TARGET_PATTERN: Final = r"operator|[a-z][a-z0-9_]{0,63}"
"""``VB_TARGET``: ``operator`` or a department id (the KB schema's ``id``)."""
LANGUAGE_PATTERN: Final = r"[a-z]{2}"
"""``VB_LANG``: a two-letter language code (the KB schema's ``language``)."""
