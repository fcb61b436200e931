"""The keypad menu: every department reachable by keys, in one or two levels.

A caller who cannot or will not speak must reach every department (EN 301 549 §6.4).
The first level holds the operator's key, each department that has its own ``dtmf``
digit, and each menu group the KB declares. Departments in neither are listed under
"other services" on a free digit, or, when they fit, get free digits of the first level
themselves. A group is a second level: its departments on 1, 2, ..., the operator's key
and ``*`` back to the first level.
"""

from __future__ import annotations

from dataclasses import dataclass

from voicebot.knowledge.model import KnowledgeBase, TargetKind

OPERATOR = TargetKind.OPERATOR.value

OTHER_GROUP = "other"
"""Id of the automatic group of departments the KB gives no key."""
BACK_KEY = "*"
"""In a second level: back to the first."""
DIGITS = "123456789"


class KeypadError(ValueError):
    """The departments cannot all be given a key."""


@dataclass(frozen=True, slots=True)
class KeyOption:
    """What one key does: go to a target, or open a group."""

    digit: str
    target: str | None = None
    """Department id or ``operator``."""
    group: str | None = None
    """Menu group id (``other`` for the automatic one)."""


@dataclass(frozen=True, slots=True)
class KeypadMenu:
    """The whole menu of one knowledge base."""

    top: tuple[KeyOption, ...]
    """First level, in key order (the operator's key last)."""
    groups: dict[str, tuple[KeyOption, ...]]
    """Group id → its second level, in key order (the operator's key last)."""
    operator_digit: str

    def option(self, digit: str, group: str | None = None) -> KeyOption | None:
        """What ``digit`` does in the first level or in ``group``; None: nothing."""
        options = self.top if group is None else self.groups[group]
        return next((o for o in options if o.digit == digit), None)

    def path_to(self, target: str) -> str:
        """The keys that reach a department (or ``operator``) from the first level."""
        for option in self.top:
            if option.target == target:
                return option.digit
            if option.group is not None:
                for inner in self.groups[option.group]:
                    if inner.target == target:
                        return option.digit + inner.digit
        raise KeyError(target)


def build_keypad(kb: KnowledgeBase, operator_digit: str = "0") -> KeypadMenu:
    """The menu of ``kb``; :class:`KeypadError` when some department cannot get a key."""
    operator = KeyOption(operator_digit, target=OPERATOR)
    taken = {operator_digit}
    top: list[KeyOption] = []
    groups: dict[str, tuple[KeyOption, ...]] = {}
    placed: set[str] = set()
    for dept in kb.departments:
        if dept.dtmf == operator_digit:
            raise KeypadError(f"departments[{dept.id}].dtmf: key {dept.dtmf} is the operator's")
        if dept.dtmf and dept.dtmf not in taken:
            top.append(KeyOption(dept.dtmf, target=dept.id))
            taken.add(dept.dtmf)
            placed.add(dept.id)
    for group in kb.menu:
        if group.dtmf in taken:
            raise KeypadError(f"menu[{group.id}].dtmf: key {group.dtmf} is already taken")
        top.append(KeyOption(group.dtmf, group=group.id))
        taken.add(group.dtmf)
        groups[group.id] = _second_level(group.departments, operator)
        placed.update(group.departments)
    rest = [d.id for d in kb.departments if d.id not in placed]
    free = [digit for digit in DIGITS if digit not in taken]
    if len(rest) <= len(free):
        top += [KeyOption(digit, target=dept) for digit, dept in zip(free, rest, strict=False)]
        rest = []
    direct = sorted((o for o in top if o.target is not None), key=lambda o: o.digit)
    if rest and not free and direct:
        # Every digit is taken: the department on the highest one joins "other services",
        # whose key it takes, so that no department is left without a key.
        top.remove(direct[-1])
        free.append(direct[-1].digit)
        order = [d.id for d in kb.departments]
        rest = sorted([*rest, str(direct[-1].target)], key=order.index)
    if rest:
        if not free:
            raise KeypadError(
                f"departments {', '.join(rest)} have no key and no digit is left for "
                "'other services': give them a dtmf digit or put them in a menu group"
            )
        if len(rest) > len(DIGITS):
            raise KeypadError(
                f"{len(rest)} departments without a key ({', '.join(rest)}): at most "
                f"{len(DIGITS)} fit under 'other services'; put some in menu groups"
            )
        top.append(KeyOption(free[-1], group=OTHER_GROUP))
        groups[OTHER_GROUP] = _second_level(tuple(rest), operator)
    top.sort(key=lambda option: option.digit)
    return KeypadMenu((*top, operator), groups, operator_digit)


def _second_level(departments: tuple[str, ...], operator: KeyOption) -> tuple[KeyOption, ...]:
    digits = [d for d in DIGITS if d != operator.digit]
    options = [KeyOption(d, target=dept) for d, dept in zip(digits, departments, strict=False)]
    return (*options, operator)
