"""The demo's proof: every call's record is in the call log, then read back through the API.

The demo waits on the writer's receipt for each call id (the writer says when the record
is in the database), never on a guessed delay; a record that does not come within the
bound is an error that says where it is and why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from voicebot.accounts.keys import issue_key, revoke_key
from voicebot.calllog.receipts import RecordRefusedError
from voicebot.calllog.writer import CallLogWriter
from voicebot.demo.errors import DemoError


@dataclass(frozen=True, slots=True)
class DemoCall:
    """One call the demo placed."""

    label: str
    call_id: str


@dataclass(frozen=True, slots=True)
class StoredCall:
    """A call as the API returns it."""

    call: DemoCall
    outcome: str
    department: str | None
    intents: tuple[str, ...]


async def wait_stored(
    writer: CallLogWriter, calls: Sequence[DemoCall], timeout: float, spool: Path
) -> None:
    """Return once every call's record is in the database; :class:`DemoError` otherwise."""
    deadline = asyncio.get_running_loop().time() + timeout
    for call in calls:
        receipt = asyncio.wrap_future(writer.receipt(call.call_id))
        try:
            async with asyncio.timeout_at(deadline):
                await receipt
        except TimeoutError:
            raise DemoError(_missing(call, timeout, writer, spool)) from None
        except RecordRefusedError as error:
            raise DemoError(
                f"{call.label}: {error} (the record is kept in {spool}/rejected.jsonl)"
            ) from None


def _missing(call: DemoCall, timeout: float, writer: CallLogWriter, spool: Path) -> str:
    where = (
        f"{call.label} ({call.call_id}): its record was not in the call log {timeout:g} s "
        "after the call ended"
    )
    if not writer.ready:
        why = writer.prepare_error or "no answer yet"
        return (
            f"{where}; the database was never reachable ({why}). The record waits in {spool} "
            "and is stored when the database appears (check database_url)"
        )
    if not writer.database_available:
        return (
            f"{where}; the database went away. The record waits in {spool} and is stored "
            "when it is back"
        )
    return f"{where}; {writer.queue_depth} record(s) still queued: the database is too slow"


async def read_back(engine: Engine, api_port: int, calls: Sequence[DemoCall]) -> list[StoredCall]:
    """GET /api/calls/<id> for each call with a manager key made for this and revoked after."""
    info, key = issue_key(engine, "voicebot demo (temporary)", "manager")
    stored: list[StoredCall] = []
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{api_port}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        ) as client:
            for call in calls:
                response = await client.get(f"/api/calls/{call.call_id}")
                if response.status_code != 200:
                    raise DemoError(
                        f"{call.label}: GET /api/calls/{call.call_id} → "
                        f"{response.status_code} {response.text} although the writer stored it"
                    )
                stored.append(_stored(call, response.json()))
    finally:
        revoke_key(engine, info.id)
    return stored


def _stored(call: DemoCall, body: dict[str, Any]) -> StoredCall:
    record = body.get("call", body)
    turns = body.get("turns", [])
    return StoredCall(
        call=call,
        outcome=str(record.get("outcome")),
        department=record.get("department"),
        intents=tuple(str(turn.get("intent")) for turn in turns),
    )
