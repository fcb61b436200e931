"""API key management (admin keys)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from voicebot.api.auth import KeyNotFoundError, issue_key, list_keys, revoke_key
from voicebot.api.deps import (
    AUTH_RESPONSES,
    MAX_SQL_INT,
    AdminKey,
    ServicesDep,
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
def create(services: ServicesDep, _key: AdminKey, body: ApiKeyCreate) -> ApiKeyCreated:
    """The response holds the key in clear: it is shown this once, store it safely."""
    try:
        info, plaintext = issue_key(services.engine, body.name, body.role)
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
    _key: AdminKey,
    key_id: Annotated[int, Path(le=MAX_SQL_INT, ge=-MAX_SQL_INT)],
) -> ApiKeyPublic:
    """The key stops working at once; revoking twice keeps the first revocation time."""
    try:
        return ApiKeyPublic.model_validate(revoke_key(services.engine, key_id))
    except KeyNotFoundError as error:
        not_found(str(error))
