"""Liveness and Prometheus metrics (no key needed: they hold no personal data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from voicebot.api.deps import ServicesDep
from voicebot.api.models import AmiHealthPublic, HealthPublic
from voicebot.metrics import EXPOSITION_CONTENT_TYPE

router = APIRouter(tags=["health"])


def _database(services: ServicesDep) -> dict[str, Any]:
    try:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (sa_exc.SQLAlchemyError, OSError) as error:
        return {"reachable": False, "error": type(error).__name__}
    return {"reachable": True, "error": None}


@router.get(
    "/health",
    summary="Can this process serve?",
    response_model=HealthPublic,
    responses={
        503: {"model": HealthPublic, "description": "The database or the AMI is unreachable."}
    },
)
def health(services: ServicesDep) -> JSONResponse:
    """Database reachability, call log writer backlog and spool, knowledge base version,
    AMI connection, loaded models."""
    database = _database(services)
    writer = services.writer
    writer_state = (
        None
        if writer is None
        else {
            "queue_depth": writer.queue_depth,
            "spool_bytes": writer.spool_bytes,
            "memory_backlog": writer.memory_backlog,
            "database_available": writer.database_available,
            "schema_ready": writer.ready,
            "dropped": writer.dropped,
        }
    )
    ami = None
    if services.ami is not None:
        link = services.ami.status()
        ami = AmiHealthPublic(
            connected=link.connected,
            state=str(link.state),
            down_for_s=round(link.down_for_s, 1),
            failed_attempts=link.failed_attempts,
            logins=link.logins,
            last_error=link.last_error,
        )
    schema_ready = writer is None or writer.ready
    healthy = database["reachable"] and schema_ready and (ami is None or ami.connected)
    kb_status = services.kb_store.status()
    body = HealthPublic(
        status="ok" if healthy else "degraded",
        database=database,
        writer=writer_state,
        knowledge_base={
            "version": kb_status.version,
            "generation": kb_status.generation,
            "applied_generation": kb_status.applied_generation,
            "last_error": kb_status.last_error,
        },
        ami=ami,
        models=services.models,
    )
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {EXPOSITION_CONTENT_TYPE: {}}}},
)
def metrics(services: ServicesDep) -> Response:
    """The text exposition format, for Prometheus to scrape."""
    return Response(services.metrics.exposition(), media_type=EXPOSITION_CONTENT_TYPE)
