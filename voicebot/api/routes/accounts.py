"""Staff accounts (admins) and ``/api/me`` (anyone signed in or holding a key)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, status
from fastapi.concurrency import run_in_threadpool

from voicebot.accounts.principal import Principal
from voicebot.accounts.store import AccountError, AccountInfo, AccountNotFoundError
from voicebot.api.deps import (
    AUTH_RESPONSES,
    AdminKey,
    ServicesDep,
    client_address,
    invalid,
    not_found,
    require_roles,
)
from voicebot.api.models_staff import (
    AccountChange,
    AccountCreate,
    AccountPublic,
    AccountsPublic,
    PasswordChange,
    SessionsEnded,
    WhoAmI,
)
from voicebot.calllog.models import ApiRole

router = APIRouter(tags=["accounts"], responses=AUTH_RESPONSES)

AccountName = Annotated[str, Path(min_length=1, max_length=64, description="Sign-in name.")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No account has this name."}}
AnyoneKey = Annotated[Principal, Depends(require_roles(*ApiRole))]


def _field(error: AccountError) -> str:
    return str(error).split(":", 1)[0] if ":" in str(error) else "body"


@router.get("/me", summary="Who is asking", response_model=WhoAmI)
def who_am_i(principal: AnyoneKey) -> WhoAmI:
    """The account (session) or key the request authenticated with, and its role."""
    return WhoAmI(
        kind=principal.kind,
        id=principal.id,
        name=principal.name,
        role=principal.role,
        login=principal.login,
    )


@router.get("/accounts", summary="List staff accounts", response_model=AccountsPublic)
def list_accounts(services: ServicesDep, _key: AdminKey) -> AccountsPublic:
    """Every account, disabled ones included, by name."""
    accounts = [AccountPublic.model_validate(a) for a in services.staff.accounts.list_accounts()]
    return AccountsPublic(data=accounts, count=len(accounts))


@router.post(
    "/accounts",
    summary="Create a staff account",
    response_model=AccountPublic,
    status_code=status.HTTP_201_CREATED,
    responses={422: {"description": "Name taken or invalid, or the password too weak."}},
)
async def create_account(
    services: ServicesDep, key: AdminKey, body: AccountCreate, request: Request
) -> AccountPublic:
    """The person signs in at ``/login`` with this name and password."""
    try:
        account = await run_in_threadpool(
            services.staff.create_account,
            key.actor,
            client_address(request),
            body.name,
            body.password,
            body.role,
            body.display_name,
        )
    except AccountError as error:
        invalid(("body", _field(error)), str(error))
    return AccountPublic.model_validate(account)


@router.patch(
    "/accounts/{name}",
    summary="Change an account's role or disable it",
    response_model=AccountPublic,
    responses=NOT_FOUND,
)
def change_account(
    services: ServicesDep, key: AdminKey, name: AccountName, body: AccountChange, request: Request
) -> AccountPublic:
    """Disabling ends the account's sessions at once (open live feeds within seconds)."""
    address = client_address(request)
    account: AccountInfo | None = None
    try:
        if body.role is not None:
            account = services.staff.set_role(key.actor, address, name, body.role)
        if body.disabled is not None:
            account = services.staff.set_disabled(key.actor, address, name, body.disabled)
        if account is None:
            account = services.staff.accounts.get(name)
    except AccountNotFoundError as error:
        not_found(str(error))
    return AccountPublic.model_validate(account)


@router.post(
    "/accounts/{name}/password",
    summary="Set an account's password",
    response_model=AccountPublic,
    responses={**NOT_FOUND, 422: {"description": "The password is too weak."}},
)
async def set_password(
    services: ServicesDep,
    key: AdminKey,
    name: AccountName,
    body: PasswordChange,
    request: Request,
) -> AccountPublic:
    """Every session of the account ends; the person signs in with the new password."""
    try:
        account = await run_in_threadpool(
            services.staff.set_password, key.actor, client_address(request), name, body.password
        )
    except AccountNotFoundError as error:
        not_found(str(error))
    except AccountError as error:
        invalid(("body", "password"), str(error))
    return AccountPublic.model_validate(account)


@router.post(
    "/accounts/{name}/end-sessions",
    summary="Sign an account out everywhere",
    response_model=SessionsEnded,
    responses=NOT_FOUND,
)
def end_sessions(
    services: ServicesDep, key: AdminKey, name: AccountName, request: Request
) -> SessionsEnded:
    """Ends every open session of the account (a lost phone, a shared computer)."""
    try:
        ended = services.staff.end_sessions(key.actor, client_address(request), name)
    except AccountNotFoundError as error:
        not_found(str(error))
    return SessionsEnded(ended=ended)
