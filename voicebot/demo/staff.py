"""``voicebot demo --serve``: sign-ins for the pages, valid while the demo runs.

Two accounts, because the pages are split by role: a manager sees the dashboard, the
calls and the learning page, an operator the console. Each run gives them new random
passwords (the demo prints them; nothing is kept in a file) and disables them when the
demo stops, so a printed password never outlives the terminal it was shown in. Every
change is in the audit trail as done by "voicebot demo".
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from voicebot.accounts.service import StaffAuth
from voicebot.accounts.store import AccountNotFoundError
from voicebot.calllog.models import ApiRole

ACTOR = "voicebot demo"
ACCOUNTS = (
    ("demo-manager", ApiRole.MANAGER, "Demo manager"),
    ("demo-operator", ApiRole.OPERATOR, "Demo operator"),
)


@dataclass(frozen=True, slots=True)
class SignIn:
    """A name and password to type on the sign-in page."""

    name: str
    password: str
    role: ApiRole


def open_sign_ins(staff: StaffAuth) -> list[SignIn]:
    """Create the demo accounts, or enable them again with new passwords."""
    sign_ins = []
    for name, role, display_name in ACCOUNTS:
        password = secrets.token_urlsafe(12)
        try:
            staff.accounts.get(name)
        except AccountNotFoundError:
            staff.create_account(ACTOR, None, name, password, role, display_name)
        else:
            staff.set_password(ACTOR, None, name, password)
            staff.set_role(ACTOR, None, name, role)
            staff.set_disabled(ACTOR, None, name, disabled=False)
        sign_ins.append(SignIn(name, password, role))
    return sign_ins


def close_sign_ins(staff: StaffAuth, sign_ins: list[SignIn]) -> None:
    """Disable the demo accounts (their sessions end at once)."""
    for sign_in in sign_ins:
        staff.set_disabled(ACTOR, None, sign_in.name, disabled=True)
