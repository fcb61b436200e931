"""The knowledge base as typed, immutable objects (what the YAML file describes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class TargetKind(StrEnum):
    """What a routing target is."""

    FAQ = "faq"
    DEPARTMENT = "department"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class TimeRange:
    """An opening interval within one day, e.g. 08:30-12:00."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        """True when ``moment`` falls inside [start, end)."""
        return self.start <= moment < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """Weekly opening hours with dated exceptions (holidays, reduced days)."""

    weekly: dict[str, tuple[TimeRange, ...]] = field(default_factory=dict)
    """Weekday name (``monday``…) → intervals; a missing day is closed."""
    exceptions: dict[date, tuple[TimeRange, ...]] = field(default_factory=dict)
    """Date → intervals for that date only (empty: closed all day)."""
    always_open: bool = False

    def ranges_on(
        self, day: date, holidays: frozenset[date] = frozenset()
    ) -> tuple[TimeRange, ...]:
        """The intervals in force on ``day``; exceptions win over holidays over the week."""
        if self.always_open:
            return (TimeRange(time(0, 0), time(23, 59, 59)),)
        if day in self.exceptions:
            return self.exceptions[day]
        if day in holidays:
            return ()
        return self.weekly.get(WEEKDAYS[day.weekday()], ())

    def is_open(self, moment: datetime, holidays: frozenset[date] = frozenset()) -> bool:
        """True when the service is open at ``moment`` (a local, timezone-aware time)."""
        return any(r.contains(moment.time()) for r in self.ranges_on(moment.date(), holidays))


@dataclass(frozen=True, slots=True)
class Department:
    """A service of the city that calls can be transferred to."""

    id: str
    extension: str
    name: dict[str, str]
    description: dict[str, str]
    hours: OpeningHours
    examples: dict[str, tuple[str, ...]]
    """Language → example requests callers make for this department."""
    dtmf: str | None = None
    """Digit of the DTMF fallback menu, for the main departments."""
    services: tuple[str, ...] = ()
    """Catalogue services this department handles (``voicebot/knowledge/catalogue/``)."""


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """A frequent question the assistant answers itself."""

    id: str
    questions: dict[str, tuple[str, ...]]
    answer: dict[str, str]
    """Language → the short spoken answer (at most 20 s read aloud)."""
    department: str | None = None
    """The department this answer belongs to, offered when the caller wants more."""
    intent: str | None = None
    """The catalogue FAQ intent this entry answers: its caller phrases count as questions."""
    details: dict[str, str] = field(default_factory=dict)
    """Language → the rest of the answer, read when the caller wants more details (or {})."""


@dataclass(frozen=True, slots=True)
class MenuGroup:
    """A key of the keypad menu that opens a second level listing some departments."""

    id: str
    dtmf: str
    """Digit of the group in the first level."""
    name: dict[str, str]
    """Language → what the group is called in the menu ("les papiers et l'état civil")."""
    departments: tuple[str, ...]
    """Department ids listed in the second level, in this order (digits 1, 2, ...)."""


@dataclass(frozen=True, slots=True)
class Operator:
    """The reception / operator desk, where everything else ends up."""

    extension: str
    name: dict[str, str]
    hours: OpeningHours
    examples: dict[str, tuple[str, ...]]
    """Language → ways callers ask for a person."""


@dataclass(frozen=True, slots=True)
class City:
    """The city the switchboard answers for."""

    name: dict[str, str]
    default_language: str
    languages: tuple[str, ...]
    timezone: str
    holidays: frozenset[date] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        """The city's time zone."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """Everything the assistant knows about one city."""

    city: City
    operator: Operator
    departments: tuple[Department, ...]
    faq: tuple[FaqEntry, ...]
    menu: tuple[MenuGroup, ...] = ()
    """Keypad menu groups declared by the city (``voicebot.dialog.keypad`` completes them)."""
    source: str = "<memory>"
    """Where it was loaded from, for messages."""
    content_hash: str = ""
    """Hash of the normalised content: keys caches (embedding index, rendered audio)."""

    def department(self, department_id: str) -> Department:
        """The department with this id (KeyError if none)."""
        for dept in self.departments:
            if dept.id == department_id:
                return dept
        raise KeyError(department_id)

    def faq_entry(self, faq_id: str) -> FaqEntry:
        """The FAQ entry with this id (KeyError if none)."""
        for entry in self.faq:
            if entry.id == faq_id:
                return entry
        raise KeyError(faq_id)

    def is_open(self, department_id: str, moment: datetime) -> bool:
        """Whether a department (or ``operator``) is open at ``moment`` (any timezone)."""
        local = moment.astimezone(self.city.zone)
        hours = (
            self.operator.hours
            if department_id == "operator"
            else self.department(department_id).hours
        )
        return hours.is_open(local, self.city.holidays)
