"""How Asterisk's main/manager.c applies a manager.conf user's permissions and filters.

The simulated manager interface applies them to its users, and tests/dialplans checks
dialplans/manager.conf with them: the voicebot user of the simulator is the shipped one.

Facts taken from main/manager.c (Asterisk 13 to 22, unchanged on these points):

* actions are registered with ``ast_manager_register_xml_core(name, authority, ...)``;
  a user may run one when ``(writeperm & authority) || authority == 0``, i.e. with ANY
  one of its classes (process_message(), action_listcommands());
* an event of category C is sent when ``(readperm & C) == C``, i.e. the user has ALL of
  its classes, and it passes the event filters (process_events(), action_waitevent());
* legacy ``eventfilter`` lines are POSIX extended regexes (REG_EXTENDED | REG_NOSUB)
  matched anywhere in the event text "Event: <name>\\r\\nPrivilege: <classes>\\r\\n...";
  with include filters only, an event must match one; exclude ("!") filters then drop.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ALL_CLASSES = frozenset(
    {
        "system",
        "call",
        "log",
        "verbose",
        "command",
        "agent",
        "user",
        "config",
        "dtmf",
        "reporting",
        "cdr",
        "dialplan",
        "originate",
        "agi",
        "cc",
        "aoc",
        "test",
        "security",
        "message",
    }
)

ACTION_CLASSES: dict[str, frozenset[str]] = {
    "Ping": frozenset(),
    "Events": frozenset(),
    "Logoff": frozenset(),
    "Login": frozenset(),
    "Challenge": frozenset(),
    "Hangup": frozenset({"system", "call"}),
    "Status": frozenset({"system", "call", "reporting"}),
    "Setvar": frozenset({"call"}),
    "Getvar": frozenset({"call", "reporting"}),
    "Redirect": frozenset({"call"}),
    "Originate": frozenset({"originate"}),
    "Command": frozenset({"command"}),
    "CoreShowChannels": frozenset({"system", "reporting"}),
    "UserEvent": frozenset({"user"}),
    "Filter": frozenset({"system"}),
}
"""Classes of the core actions, from __init_manager() in main/manager.c."""

_POSIX_CLASSES = {
    "[:space:]": r"\s",
    "[:digit:]": r"0-9",
    "[:alpha:]": r"A-Za-z",
    "[:alnum:]": r"A-Za-z0-9",
    "[:upper:]": r"A-Z",
    "[:lower:]": r"a-z",
}


def parse_classes(value: str) -> frozenset[str]:
    """The classes of a read=/write= value (get_perm(): comma list, "all" is every class)."""
    names = {part.strip().lower() for part in value.split(",") if part.strip()}
    unknown = names - ALL_CLASSES - {"all", "none"}
    if unknown:
        raise ValueError(f"unknown manager class(es): {', '.join(sorted(unknown))}")
    return ALL_CLASSES if "all" in names else frozenset(names - {"none"})


def action_allowed(write: frozenset[str], action: str) -> bool:
    """Whether a user with ``write`` classes may send ``action``."""
    needed = ACTION_CLASSES[action]
    return not needed or bool(write & needed)


def posix_ere_to_python(pattern: str) -> str:
    """Python spelling of a POSIX ERE using bracket classes like ``[[:space:]]``."""
    for posix, python in _POSIX_CLASSES.items():
        pattern = pattern.replace(posix, python)
    return pattern


@dataclass(frozen=True, slots=True)
class EventFilters:
    """A user's legacy eventfilter lines, split into include and exclude regexes."""

    include: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...]

    @classmethod
    def parse(cls, lines: Iterable[str]) -> EventFilters:
        """Compile ``eventfilter`` values ("!" marks an exclude filter)."""
        include: list[re.Pattern[str]] = []
        exclude: list[re.Pattern[str]] = []
        for line in lines:
            target = exclude if line.startswith("!") else include
            target.append(re.compile(posix_ere_to_python(line.lstrip("!")), re.DOTALL))
        return cls(tuple(include), tuple(exclude))

    def passes(self, event_text: str) -> bool:
        """match_filter(): whether an event's text gets through."""
        if self.include and not any(f.search(event_text) for f in self.include):
            return False
        return not any(f.search(event_text) for f in self.exclude)


def event_text(headers: Sequence[tuple[str, str]]) -> str:
    """The event as manager.c writes it: "Key: value\\r\\n" lines, Event and Privilege first."""
    return "".join(f"{key}: {value}\r\n" for key, value in headers)


def event_categories(privilege: str) -> frozenset[str]:
    """The classes of an event from its Privilege header ("all" is only appended there)."""
    return frozenset(p.strip() for p in privilege.split(",") if p.strip() and p.strip() != "all")


def event_delivered(
    read: frozenset[str], filters: EventFilters, headers: Sequence[tuple[str, str]]
) -> bool:
    """Whether an event with these headers reaches the user."""
    privilege = next((value for key, value in headers if key == "Privilege"), "")
    categories = event_categories(privilege)
    return categories <= read and filters.passes(event_text(headers))


@dataclass(frozen=True, slots=True)
class AmiUserRights:
    """What one manager.conf user may read and run."""

    read: frozenset[str]
    write: frozenset[str]
    filters: EventFilters = EventFilters((), ())

    @classmethod
    def parse(cls, read: str, write: str, eventfilters: Iterable[str] = ()) -> AmiUserRights:
        """From manager.conf values (``read``, ``write``, ``eventfilter`` lines)."""
        return cls(parse_classes(read), parse_classes(write), EventFilters.parse(eventfilters))

    def receives(self, headers: Sequence[tuple[str, str]]) -> bool:
        """Whether an event with these headers reaches this user."""
        return event_delivered(self.read, self.filters, headers)

    def may_run(self, action: str) -> bool:
        """Whether this user may send ``action`` (unknown actions are left to the PBX)."""
        for name, needed in ACTION_CLASSES.items():
            if name.lower() == action.lower():
                return not needed or bool(self.write & needed)
        return True


VOICEBOT_RIGHTS = AmiUserRights.parse(
    "call,user", "call,reporting", [r"^Event: (UserEvent|Hangup|Rename)[[:space:]]"]
)
"""The [voicebot] user of dialplans/manager.conf (tests/dialplans checks they are equal)."""
FULL_RIGHTS = AmiUserRights.parse("all", "all")
"""A harness user: every event, every action (Originate for test calls)."""
