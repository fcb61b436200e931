"""Who is making a request: a signed-in staff account or an API key (for machines)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from voicebot.calllog.models import ApiRole


class PrincipalKind(StrEnum):
    """How the request authenticated."""

    ACCOUNT = "account"
    """A staff account, through its session cookie."""
    KEY = "key"
    """An API key in a header."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated party of a request, as the pages and the API see it."""

    kind: PrincipalKind
    id: int
    """Account id or key id."""
    name: str
    """Shown to people: the account's display name or the key's name."""
    role: ApiRole
    login: str = ""
    """The account's sign-in name (empty for keys)."""
    session_id: int | None = None

    @property
    def actor(self) -> str:
        """How the audit trail and the KB history name this party."""
        if self.kind is PrincipalKind.ACCOUNT:
            return f"account:{self.login}"
        return f"key:{self.id}"

    def allows(self, roles: Iterable[ApiRole]) -> bool:
        """Whether this party may act in one of ``roles``."""
        return any(self.role.grants(role) for role in roles)
