"""Value types of the AMI connector: settings, states, results and errors."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from voicebot.telephony.ami_codec import AmiEvent, AmiResponse


class AmiError(Exception):
    """Base class of AMI connector errors."""


class AmiConnectionLost(AmiError):
    """The connection dropped (or was never there) before the action was answered."""


class AmiNotConnected(AmiConnectionLost):
    """An action was attempted while the connector is not logged in."""


class AmiActionTimeout(AmiError, TimeoutError):
    """No response to an action within its timeout."""


class AmiActionFailed(AmiError):
    """Asterisk answered ``Response: Error``."""

    def __init__(self, action: str, response: AmiResponse) -> None:
        super().__init__(f"AMI action {action} failed: {response.message or response.status}")
        self.response = response


class AmiLoginError(AmiError):
    """Asterisk refused the Login (wrong user or secret, ACL)."""


class AmiState(StrEnum):
    """Connector life cycle."""

    STOPPED = "stopped"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class AmiSettings:
    """Where and how to reach the manager interface."""

    host: str = "127.0.0.1"
    port: int = 5038
    username: str = ""
    secret: str = ""
    action_timeout: float = 5.0
    """Default seconds to wait for a response. Login waits at least 3 s: Asterisk sleeps
    1 s before answering a failed Login (manager.c action_login())."""
    connect_timeout: float = 3.0
    """Seconds for TCP connect plus banner."""
    ping_interval: float = 10.0
    """Seconds between keep-alive Pings."""
    ping_timeout: float = 3.0
    """A Ping unanswered this long marks the connection dead."""
    reconnect_initial_delay: float = 0.1
    reconnect_max_delay: float = 2.0
    """Backoff cap: reconnection happens within this long of Asterisk being back."""
    event_mask: str | None = None
    """Optional ``Events:`` header for Login (e.g. "call,user,dialplan"); None keeps all."""
    event_queue_size: int = 2048
    """Events read but not yet dispatched; when full the socket is not read (back-pressure)."""
    event_cpu_share: float = 1.0
    """Most of the event loop's time event dispatch may take during a flood (0-1]. At 1.0
    it only yields after each slice: calls' tasks and timers run between slices, and a
    flood gets the time nothing else wants (measured in bench.ami_flood)."""
    event_slice_s: float = 0.004
    """Longest run of event dispatch before the loop gets its turn."""

    def __post_init__(self) -> None:
        if self.event_queue_size < 1:
            raise ValueError(f"event_queue_size must be at least 1, got {self.event_queue_size}")
        if not 0 < self.event_cpu_share <= 1:
            raise ValueError(f"event_cpu_share must be in (0, 1], got {self.event_cpu_share}")


@dataclass(frozen=True, slots=True)
class AmiStatus:
    """The connector as ``/health`` and the metrics show it."""

    state: AmiState
    connected: bool
    down_for_s: float
    """Seconds since the connection was lost (or since start when never connected); 0 while
    connected."""
    failed_attempts: int
    """Connection attempts that failed since the connection was lost; 0 while connected."""
    logins: int
    """Successful logins so far."""
    last_error: str | None
    """Why the last attempt failed, while not connected."""


@dataclass(frozen=True, slots=True)
class AmiListResult:
    """Reply to a list action: the response and the events up to the Complete one."""

    response: AmiResponse
    events: tuple[AmiEvent, ...]
    complete: AmiEvent | None


@dataclass(frozen=True, slots=True)
class OriginateResult:
    """Outcome of an asynchronous Originate."""

    response: AmiResponse
    """The immediate "Originate successfully queued" acknowledgement."""
    event: AmiEvent | None
    """The OriginateResponse event, when waited for."""

    @property
    def success(self) -> bool:
        """True when the OriginateResponse says Success."""
        return self.event is not None and (self.event.get("Response") or "") == "Success"

    @property
    def channel(self) -> str | None:
        """The originated channel's name, from the OriginateResponse."""
        return None if self.event is None else self.event.get("Channel")
