"""API key management (admins): keys are for machines; people have accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, status

from voicebot.accounts.keys import KeyNotFoundError, list_keys
from voicebot.api.deps import (
    AUTH_RESPONSES,
    MAX_SQL_INT,
    AdminKey,
    ServicesDep,
    client_address,
    invalid,
    not_found,
)
from voicebot.api.models import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic, ApiKeysPublic

router = APIRouter(prefix="/keys", tags=["keys"], responses=AUTH_RESPONSES)


@router.get("", summary="List API keys", response_model=ApiKeysPublic)
def get_keys(services: ServicesDep, _key: AdminKey) -> ApiKeysPublic:
    """Every key, revoked ones included, without secrets."""
    keys = [ApiKeyPublic.model_validate(k) for k in list_keys(services.engine)]
    return ApiKeysPublic(data=keys, count=len(keys))


@router.post(
    "",
    summary="Create an API key",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
)
def create(
    services: ServicesDep, key: AdminKey, body: ApiKeyCreate, request: Request
) -> ApiKeyCreated:
    """The response holds the key in clear: it is shown this once, store it safely."""
    try:
        info, plaintext = services.staff.create_key(
            key.actor, client_address(request), body.name, body.role
        )
    except ValueError as error:
        invalid(("body", "name"), str(error))
    return ApiKeyCreated(**ApiKeyPublic.model_validate(info).model_dump(), key=plaintext)


@router.post(
    "/{key_id}/revoke",
    summary="Revoke an API key",
    response_model=ApiKeyPublic,
    responses={404: {"description": "No key has this id."}},
)
def revoke(
    services: ServicesDep,
    key: AdminKey,
    key_id: Annotated[int, Path(le=MAX_SQL_INT, ge=-MAX_SQL_INT)],
    request: Request,
) -> ApiKeyPublic:
    """The key stops working at once (open live streams end within seconds); revoking twice
    keeps the first revocation time."""
    try:
        info = services.staff.revoke_key(key.actor, client_address(request), key_id)
        return ApiKeyPublic.model_validate(info)
    except KeyNotFoundError as error:
        not_found(str(error))
