"""Admit an AudioSocket call only when Asterisk announced it over AMI.

The dialplan raises ``UserEvent(VoicebotCall, UUID, Channel)`` just before
``AudioSocket(uuid, ...)``, so a genuine call's UUID is in the channel directory within
moments of its connection (the event may also come a little after it: AMI and
AudioSocket are separate TCP connections). A connection whose UUID Asterisk did not
announce within ``window_s`` seconds either side is refused: nobody gets a session, a
record or the PBX's channel by inventing a UUID.

While the AMI connection is down (or went down while waiting), announcements cannot
arrive and the resync after the next login may come too late: the call is then admitted
on the address allow-list alone, with one WARNING line per outage, so callers are still
answered during an AMI outage. During an AMI flood the wait goes on while announcements
are still queued behind the flood, up to ``backlog_wait_s``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from voicebot.telephony.admission import SECURITY_LOGGER, RefusalLog, RefusalReason
from voicebot.telephony.ami import AmiClient
from voicebot.telephony.audiosocket import AudioSocketConnection
from voicebot.telephony.channels import ChannelDirectory


class AnnouncedCalls:
    """The admission check of :class:`~voicebot.telephony.audiosocket.AudioSocketServer`."""

    def __init__(
        self,
        ami: AmiClient,
        directory: ChannelDirectory,
        refusals: RefusalLog,
        *,
        window_s: float = 3.0,
        backlog_wait_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ami = ami
        self._directory = directory
        self._refusals = refusals
        self._window_s = window_s
        self._backlog_wait_s = backlog_wait_s
        self._clock = clock
        self._unverified_logins: int | None = None
        """``connections_made`` when an unverified call was last admitted (one line per
        outage)."""

    async def __call__(self, conn: AudioSocketConnection) -> bool:
        """True when the call may have a session."""
        call_id = str(conn.call_id)
        logins = self._ami.connections_made
        entry = self._directory.channel_for(call_id)
        if entry is not None:
            age = self._clock() - entry.registered_at
            if age <= self._window_s:
                return True
            return self._refuse(
                conn, "announced %.1f s before its AudioSocket (window %.1f s)", age
            )
        if not self._ami.connected:
            return self._admit_unverified(conn)
        deadline = self._clock() + self._backlog_wait_s
        wait_s = self._window_s
        while True:
            try:
                await self._directory.wait_channel(call_id, wait_s)
                return True
            except TimeoutError:
                pass
            if conn.closed:
                return False
            if not self._ami.connected or self._ami.connections_made != logins:
                return self._admit_unverified(conn)
            if self._ami.events_pending and self._clock() < deadline:
                wait_s = 1.0  # the announcement may be queued behind a flood of events
                continue
            return self._refuse(conn, "not announced over AMI within %.1f s", self._window_s)

    def _refuse(self, conn: AudioSocketConnection, why: str, *args: object) -> bool:
        self._refusals.refused(
            RefusalReason.NOT_ANNOUNCED,
            "AudioSocket call %s from %s refused: " + why,
            conn.call_id,
            conn.peer,
            *args,
        )
        return False

    def _admit_unverified(self, conn: AudioSocketConnection) -> bool:
        logins = self._ami.connections_made
        if self._unverified_logins != logins:
            self._unverified_logins = logins
            SECURITY_LOGGER.warning(
                "security: AMI is down: AudioSocket call %s from %s admitted on the "
                "address allow-list alone (calls are checked against Asterisk's "
                "announcements again once AMI is back)",
                conn.call_id,
                conn.peer,
            )
        return True
