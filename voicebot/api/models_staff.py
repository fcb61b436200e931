"""API models of what staff do: accounts, the audit trail, work on callback requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from voicebot.accounts.audit import AuditKind
from voicebot.accounts.principal import PrincipalKind
from voicebot.calllog.models import ApiRole, CallbackStatus


class AccountPublic(BaseModel):
    """A staff account (never its password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    display_name: str
    role: ApiRole
    created_at: datetime
    password_changed_at: datetime
    disabled_at: datetime | None


class AccountsPublic(BaseModel):
    """Every staff account."""

    data: list[AccountPublic]
    count: int


class AccountCreate(BaseModel):
    """An account to create; the password follows the rules of ``voicebot.accounts``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "marie.dupont",
                    "display_name": "Marie Dupont",
                    "role": "operator",
                    "password": "une phrase de passe assez longue",
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=64)
    display_name: str | None = Field(default=None, max_length=128)
    role: ApiRole
    password: str = Field(min_length=1, max_length=1024)


class AccountChange(BaseModel):
    """What to change on an account (fields left out stay as they are)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"disabled": True}]})

    role: ApiRole | None = None
    disabled: bool | None = None


class PasswordChange(BaseModel):
    """A new password (every session of the account ends)."""

    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=1024)


class SessionsEnded(BaseModel):
    """How many sessions were ended."""

    ended: int


class WhoAmI(BaseModel):
    """The party making the request."""

    kind: PrincipalKind
    id: int
    name: str
    role: ApiRole
    login: str


class AuditEventPublic(BaseModel):
    """One event of the audit trail."""

    model_config = ConfigDict(from_attributes=True)

    id: int | None
    at: datetime
    kind: AuditKind
    actor: str | None
    address: str | None
    subject: str | None
    detail: dict[str, Any]


class AuditEventsPublic(BaseModel):
    """A page of audit events, newest first; ``count`` is the total matching."""

    data: list[AuditEventPublic]
    count: int


class CallbackStatusChange(BaseModel):
    """An operator's outcome for a callback request."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"status": "no_answer"}]}
    )

    status: CallbackStatus = Field(description="no_answer, called_back or done")


class CallbackStatePublic(BaseModel):
    """Where a callback request stands."""

    model_config = ConfigDict(from_attributes=True)

    callback_key: str
    status: CallbackStatus
    attempts: int
    handled_at: datetime | None
    handled_by: str | None
    stored: bool
    """False while the call is going on (its record is written when it ends)."""


class CallbackChangePublic(BaseModel):
    """One status change of a callback request."""

    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    status: CallbackStatus
    previous_status: CallbackStatus
    undone_at: datetime | None


class CallbackHistoryPublic(BaseModel):
    """Every change of a callback request, oldest first."""

    data: list[CallbackChangePublic]
    count: int
