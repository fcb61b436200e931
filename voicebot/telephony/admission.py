"""Who may open an AudioSocket session, and how fast it may send.

The AudioSocket port speaks to the PBX only: a connection from another address is closed
before a byte is read (:class:`PeerAllowList`). An established connection may send audio
at the pace Asterisk does, one 20 ms frame every 20 ms, with slack for network jitter;
beyond that its excess is dropped and, if it goes on, the connection is closed
(:class:`InboundRateBound`). Refusals are logged as security events, one line for the
first of a kind and then at each doubling of the count (:class:`RefusalLog`), so a flood
cannot flood the log too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from voicebot.telephony.audiosocket_codec import FRAME_BYTES

SECURITY_LOGGER = logging.getLogger("voicebot.security")
"""Refused AudioSocket connections: someone other than the PBX, or the PBX misbehaving."""

LOOPBACK = ("127.0.0.0/8", "::1")

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class RefusalReason(StrEnum):
    """Why an AudioSocket connection was closed without a call session."""

    ADDRESS = "address"
    """The peer is not on the allow-list of PBX addresses."""
    CAPACITY = "capacity"
    """The cap on concurrent sessions was reached."""
    CONNECTIONS = "connections"
    """Too many connections open at once (sessions and those still being admitted)."""
    LIVE_UUID = "live_uuid"
    """A session for this UUID is already running (an attempt to take over a call)."""
    NOT_ANNOUNCED = "not_announced"
    """Asterisk did not announce the call over AMI within the window."""
    FLOOD = "flood"
    """The peer kept sending faster than real time."""


class RefusalLog:
    """Counts refusals per reason; logs the 1st, 2nd, 4th, 8th... of each at WARNING."""

    def __init__(self, logger: logging.Logger = SECURITY_LOGGER) -> None:
        self._logger = logger
        self.counts: dict[RefusalReason, int] = dict.fromkeys(RefusalReason, 0)
        """Refusals so far, per reason (the ``voicebot_audiosocket_refused_total`` metric)."""

    def refused(self, reason: RefusalReason, message: str, *args: object) -> None:
        """Count one refusal; log ``message % args`` when the count is a power of two."""
        count = self.counts[reason] + 1
        self.counts[reason] = count
        if count & (count - 1) == 0:
            self._logger.warning(
                "security: " + message + " (%s refusal %d)", *args, reason.value, count
            )
        else:
            self._logger.debug("security: " + message, *args)


@dataclass(frozen=True, slots=True)
class _Host:
    name: str


class PeerAllowList:
    """Addresses, networks and host names allowed to connect to the AudioSocket port.

    Host names (the PBX's, e.g. ``asterisk`` in docker-compose) are resolved when a peer
    is not matched by an address, at most every ``resolve_every_s`` seconds, so the PBX
    may start after the assistant or change its address.
    """

    def __init__(self, entries: Iterable[str], *, resolve_every_s: float = 10.0) -> None:
        self._networks: list[IpNetwork] = []
        self._hosts: list[_Host] = []
        for entry in entries:
            text = entry.strip()
            if not text:
                continue
            try:
                self._networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                if not _looks_like_host(text):
                    raise ValueError(
                        f"{text!r} is not an address, a network or a host name"
                    ) from None
                self._hosts.append(_Host(text))
        self._resolved: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
        self._resolve_every_s = resolve_every_s
        self._resolved_at: float | None = None

    def __repr__(self) -> str:
        names = [str(n) for n in self._networks] + [h.name for h in self._hosts]
        return f"PeerAllowList({', '.join(names)})"

    async def allows(self, host: str) -> bool:
        """True when ``host`` (the peer's IP address as text) may connect."""
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self._networks):
            return True
        if not self._hosts:
            return False
        if address in self._resolved:
            return True
        now = time.monotonic()
        if self._resolved_at is None or now - self._resolved_at >= self._resolve_every_s:
            self._resolved_at = now
            self._resolved = await self._resolve()
        return address in self._resolved

    async def _resolve(self) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        loop = asyncio.get_running_loop()
        found: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
        for host in self._hosts:
            try:
                infos = await loop.getaddrinfo(host.name, None, type=socket.SOCK_STREAM)
            except OSError:
                continue  # not resolvable yet (the PBX container not started): retry later
            for info in infos:
                found.add(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
        return found


def _looks_like_host(text: str) -> bool:
    labels = text.rstrip(".").split(".")
    return all(
        0 < len(label) <= 63 and label.replace("-", "").isalnum() and not label.startswith("-")
        for label in labels
    )


FRAMES_PER_SECOND = 50.0
"""Asterisk sends one 20 ms frame (320 bytes of 8 kHz slin) every 20 ms."""


class InboundRateBound:
    """A token bucket counted in 20 ms frames: what a connection may send, and when to
    give up on it.

    ``slack`` times real time is allowed for ever, plus a burst of ``burst_s`` seconds of
    audio (frames held up by the network and delivered together). A message beyond that
    is excess, not delivered; once the excess reaches ``close_after_s`` seconds of audio
    the peer is not a PBX streaming a call, and :meth:`take` says to close.
    """

    def __init__(
        self,
        *,
        slack: float = 2.0,
        burst_s: float = 2.0,
        close_after_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = FRAMES_PER_SECOND * slack
        self._capacity = FRAMES_PER_SECOND * burst_s
        self._close_after = FRAMES_PER_SECOND * close_after_s
        self._clock = clock
        self._tokens = self._capacity
        self._at = clock()
        self.excess_frames = 0.0
        """Frames' worth of messages dropped so far."""

    def take(self, payload_bytes: int) -> bool | None:
        """Account for one message: True to deliver it, False to drop it (excess), None
        when the excess has reached the limit and the connection should be closed."""
        cost = max(1.0, payload_bytes / FRAME_BYTES)
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens >= cost:
            self._tokens -= cost
            return True
        self.excess_frames += cost
        return None if self.excess_frames >= self._close_after else False
