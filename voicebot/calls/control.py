"""Steering a call in Asterisk over the AMI: who is calling, transfers, and their result.

A transfer sets the channel variables the dialplan and the agent's screen use, writes the
whisper the agent hears before being connected, then Redirects the caller's channel into
the departments context. Asterisk closes the AudioSocket about 1 ms after the Redirect;
the dial result comes later as a UserEvent, which :meth:`AmiCallControl.dial_result`
waits for.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from voicebot.dialog import Transfer
from voicebot.telephony import contract
from voicebot.telephony.ami import AmiClient
from voicebot.telephony.ami_types import AmiConnectionLost, AmiError
from voicebot.telephony.ami_values import cut_chars, summary_within_userfield
from voicebot.telephony.channels import ChannelDirectory, ChannelHangup

_LOGGER = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[,|;\r\n\t\"\\\\]+")
_WIRE_VALUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("extension", re.compile(contract.EXTENSION_PATTERN)),
    ("target", re.compile(contract.TARGET_PATTERN)),
    ("language", re.compile(contract.LANGUAGE_PATTERN)),
)


class TransferRefusedError(ValueError):
    """A transfer carries a value the dialplan must not receive; nothing was sent."""


def check_transfer(action: Transfer) -> None:
    """Raise :class:`TransferRefusedError` unless every value bound for the dialplan is safe.

    The KB was validated when it was loaded; this is the second check, where the values
    leave for Asterisk, so that a KB built some other way cannot put junk on the wire.
    """
    values = {
        "extension": action.extension,
        "target": action.target,
        "language": action.summary.language,
    }
    for name, pattern in _WIRE_VALUES:
        if not pattern.fullmatch(values[name]):
            raise TransferRefusedError(f"transfer {name} {values[name]!r} has the wrong format")


@dataclass(frozen=True, slots=True)
class CallerInfo:
    """What Asterisk told us about the call."""

    channel: str
    caller_number: str | None


class CallControl(Protocol):
    """What the call session needs from the PBX."""

    async def caller(self, call_id: str) -> CallerInfo | None:
        """The call's channel and caller number, once Asterisk has announced it."""
        ...

    async def transfer(
        self,
        call_id: str,
        channel: str,
        action: Transfer,
        whisper_pcm: bytes | None,
        *,
        screen_pop: str = "",
    ) -> None:
        """Put the caller through to ``action.extension`` (raises on failure); the agent
        hears ``whisper_pcm`` and sees ``screen_pop``."""
        ...

    async def dial_result(self, call_id: str, timeout: float) -> str | None:
        """Asterisk's DIALSTATUS of the last transfer, or None if it did not say in time."""
        ...

    async def mark_done(self, call_id: str, channel: str) -> None:
        """The assistant ends the call itself: the dialplan must not fall back."""
        ...

    async def still_on_line(self, call_id: str, grace: float) -> bool:
        """After AudioSocket ended without the assistant asking: True when the caller is
        still there (the dialplan goes on), False when the call's channel hung up."""
        ...

    def forget(self, call_id: str) -> None:
        """Drop what is tracked for a finished call."""
        ...


def sanitise_summary(text: str, limit: int = contract.SUMMARY_MAX_CHARS) -> str:
    """Make free text safe as a dialplan variable value (no separators, bounded)."""
    cleaned = " ".join(_UNSAFE.sub(" ", text).split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"


def transfer_variables(
    call_id: str, action: Transfer, whisper: str, screen_pop: str
) -> dict[contract.ChannelVar, str]:
    """The Setvar values of a transfer, in ``contract.ASSISTANT_SET_VARIABLES`` order.

    Free text is made safe for the dialplan and cut between characters where Asterisk
    would cut bytes: the summary so that the CDR userfield holding it fits its 255 bytes,
    the screen pop to what a phone display shows.
    """
    summary = action.summary
    intent = sanitise_summary(summary.intent, 64)
    values = {
        contract.VAR_TARGET: action.target,
        contract.VAR_EXTEN: action.extension,
        contract.VAR_INTENT: intent,
        contract.VAR_SUMMARY: summary_within_userfield(
            call_id,
            action.target,
            action.extension,
            intent,
            summary.language,
            sanitise_summary(summary.transcript),
        ),
        contract.VAR_LANG: summary.language,
        contract.VAR_WHISPER: whisper,
        contract.VAR_SCREEN_POP: cut_chars(
            sanitise_summary(screen_pop), contract.SCREEN_POP_MAX_CHARS
        ),
    }
    return {name: values[name] for name in contract.ASSISTANT_SET_VARIABLES}


class AmiCallControl:
    """:class:`CallControl` over the project's AMI connector and channel directory."""

    def __init__(
        self,
        ami: AmiClient,
        directory: ChannelDirectory,
        sounds_dir: Path | None = None,
        channel_wait_s: float = 1.0,
        reconnect_wait_s: float = 5.0,
        backlog_wait_s: float = 30.0,
    ) -> None:
        self._ami = ami
        self._directory = directory
        self._sounds_dir = sounds_dir
        self._channel_wait_s = channel_wait_s
        self._backlog_wait_s = backlog_wait_s
        """How long a repeated ask waits while AMI events are still being worked through."""
        self._asked: set[str] = set()
        self._reconnect_wait_s = reconnect_wait_s
        """How long a transfer waits for the AMI connector to log in again."""

    async def caller(self, call_id: str) -> CallerInfo | None:
        """Wait briefly: the audio may arrive before the UserEvent announcing the call.

        The call is claimed in the directory first: its entry then stays until ``forget``
        however long the call lasts (unclaimed announcements expire). The first ask waits
        ``channel_wait_s`` (the caller must not wait for the greeting); a later one (at
        transfer time) goes on waiting as long as the connector still has events to work
        through, up to ``backlog_wait_s``: during an AMI flood the announcement is queued
        behind the flood, not lost.
        """
        self._directory.claim(call_id)
        repeated = call_id in self._asked
        self._asked.add(call_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._backlog_wait_s
        while True:
            try:
                found = await self._directory.wait_channel(call_id, self._channel_wait_s)
            except TimeoutError:
                if repeated and self._ami.events_pending and loop.time() < deadline:
                    continue
                _LOGGER.warning("call=%s no VoicebotCall event from Asterisk", call_id)
                return None
            return CallerInfo(channel=found.channel, caller_number=found.caller_id_num or None)

    async def transfer(
        self,
        call_id: str,
        channel: str,
        action: Transfer,
        whisper_pcm: bytes | None,
        *,
        screen_pop: str = "",
    ) -> None:
        """Setvar each transfer variable, then Redirect (raises AmiError on failure, and
        :class:`TransferRefusedError` before sending anything for an unsafe value).

        When the AMI connection is down or drops meanwhile, the whole sequence is sent
        again once the connector has logged in again (Setvar and Redirect to the same
        place can safely be repeated), for up to ``reconnect_wait_s``.
        """
        check_transfer(action)
        await self._with_reconnect(
            call_id,
            "transfer",
            lambda: self._transfer(call_id, channel, action, whisper_pcm, screen_pop),
        )

    async def _transfer(
        self,
        call_id: str,
        channel: str,
        action: Transfer,
        whisper_pcm: bytes | None,
        screen_pop: str,
    ) -> None:
        self._directory.clear_dial_result(call_id)
        whisper = self._write_whisper(call_id, whisper_pcm) if whisper_pcm else ""
        values = transfer_variables(call_id, action, whisper, screen_pop)
        for name, value in values.items():
            await self._ami.setvar(channel, name, value)
        await self._ami.redirect(
            channel, contract.DEPARTMENTS_CONTEXT, action.extension, contract.TRANSFER_PRIORITY
        )
        _LOGGER.info("call=%s redirected to %s (%s)", call_id, action.extension, action.target)

    async def dial_result(self, call_id: str, timeout: float) -> str | None:
        """The VoicebotDialResult status; None on timeout, or as soon as the channel is
        known to be gone without one (the event was lost with the AMI connection)."""
        try:
            found = await self._directory.wait_dial_result_or_hangup(call_id, timeout)
        except TimeoutError:
            return None
        if isinstance(found, ChannelHangup):
            _LOGGER.warning("call=%s channel gone without a dial result", call_id)
            return None
        return str(found.status)

    async def mark_done(self, call_id: str, channel: str) -> None:
        """Set VB_DONE=1; a lost AMI connection only costs the dialplan's own fallback."""
        try:
            await self._with_reconnect(
                call_id, "mark done", lambda: self._ami.setvar(channel, contract.VAR_DONE, "1")
            )
        except AmiError as exc:
            _LOGGER.warning("call=%s cannot mark done: %s", call_id, exc)

    async def still_on_line(self, call_id: str, grace: float) -> bool:
        """Tell a caller who hung up from Asterisk ending AudioSocket by itself.

        A hang-up closes AudioSocket 0.4-0.9 ms before the channel's Hangup event (the
        recorded 22.10.1): no Hangup within ``grace`` seconds (longer while the connector
        still works through a backlog of events) means the channel is up and the dialplan
        is putting the caller through to the operator; a dial result means it already did.
        Without a connection nothing can be known: the caller is taken as gone.
        """
        if not self._ami.connected:
            return False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._backlog_wait_s
        while True:
            try:
                found = await self._directory.wait_dial_result_or_hangup(call_id, grace)
            except TimeoutError:
                if self._ami.events_pending and loop.time() < deadline:
                    continue
                return self._ami.connected
            return not isinstance(found, ChannelHangup)

    async def _with_reconnect(
        self, call_id: str, what: str, send: Callable[[], Awaitable[None]]
    ) -> None:
        """Run ``send``; on a lost connection wait for the next login and run it again."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._reconnect_wait_s
        while True:
            try:
                await send()
                return
            except AmiConnectionLost as exc:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise
                _LOGGER.warning(
                    "call=%s %s interrupted (%s): retrying after login", call_id, what, exc
                )
                try:
                    await self._ami.wait_connected(remaining)
                except TimeoutError:
                    raise exc from None

    def forget(self, call_id: str) -> None:
        """Forget the call in the directory; its whisper file is no longer needed."""
        self._directory.forget(call_id)
        self._asked.discard(call_id)
        if self._sounds_dir is not None:
            (self._sounds_dir / f"{_whisper_name(call_id)}.sln").unlink(missing_ok=True)

    def _write_whisper(self, call_id: str, pcm: bytes) -> str:
        if self._sounds_dir is None:
            return ""
        name = _whisper_name(call_id)
        path = self._sounds_dir / f"{name}.sln"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                handle.write(pcm)
            # Asterisk runs as another user on a real PBX: it must be able to read it.
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except OSError as exc:
            _LOGGER.warning("call=%s cannot write whisper %s: %s", call_id, path, exc)
            return ""
        return name


def _whisper_name(call_id: str) -> str:
    return f"{contract.WHISPER_SOUND_PREFIX}{call_id}"
