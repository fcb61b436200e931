"""Pydantic models of the API's requests and responses (``XPublic``, ``XsPublic{data,count}``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from voicebot.calllog.models import ApiRole, CallbackStatus
from voicebot.records import CallOutcome, TransferStatus

SAMPLE_TIME = "2024-03-04T09:00:00Z"


class Message(BaseModel):
    """A plain message."""

    message: str


class CallDisplay(BaseModel):
    """The call's fields as a person reads them: in the language of the request's
    ``Accept-Language`` (among the city's, else its default), times in the city's zone."""

    started_at: str = Field(examples=["4/03/24 10:00"])
    ended_at: str
    duration: str = Field(examples=["1 min 10 s"])
    language: str = Field(examples=["Français"])
    outcome: str = Field(examples=["Transféré à un service"])
    department: str = Field(examples=["Service Population"])
    first_request: str = Field(examples=["Service Population"])
    resolved_by_assistant: str = Field(examples=["non"])


class CallPublic(BaseModel):
    """One call of the list."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "call_id": "0b7c6a0e-8a59-4c8e-9a4f-2f0c3d8e1f11",
                    "started_at": SAMPLE_TIME,
                    "ended_at": "2024-03-04T09:01:10Z",
                    "duration_s": 70.0,
                    "caller_hash": "5f2b…",
                    "language": "fr",
                    "outcome": "transferred",
                    "department": "population",
                    "channel": "PJSIP/trunk-00000012",
                    "turn_count": 2,
                    "first_intent": "population",
                    "last_intent": "population",
                    "asr_confidence_mean": 0.87,
                    "transfer_count": 1,
                    "callback_count": 0,
                    "contained": False,
                }
            ]
        },
    )

    call_id: str
    started_at: datetime
    ended_at: datetime | None
    duration_s: float | None
    caller_hash: str | None = Field(description="Keyed hash of the caller number.")
    language: str
    outcome: CallOutcome
    department: str | None
    channel: str | None
    turn_count: int
    first_intent: str | None
    last_intent: str | None
    asr_confidence_mean: float | None
    transfer_count: int
    callback_count: int
    contained: bool = Field(description="Resolved by the assistant without a person.")
    started_at_local: str | None = Field(
        default=None, description="`started_at` in the city's time zone (ISO 8601 with offset)."
    )
    display: CallDisplay | None = Field(default=None, description="Fields for display.")


class CallsPublic(BaseModel):
    """A page of calls and how many match the filters in total."""

    data: list[CallPublic]
    count: int
    limit: int
    offset: int


class TurnPublic(BaseModel):
    """One exchange of a call (texts are null once purged by the retention policy)."""

    model_config = ConfigDict(from_attributes=True)

    index: int
    started_at: datetime
    language: str
    transcript: str | None
    asr_confidence: float | None
    intent: str
    score: float | None
    margin: float | None
    action: str
    reply_text: str | None
    dtmf: str | None
    latency_ms: float | None
    timings_ms: dict[str, Any]
    runner_up: str | None = Field(
        default=None, description="Best target other than `intent`; its score is score − margin."
    )


class TransferPublic(BaseModel):
    """A transfer attempt and Asterisk's dial status."""

    model_config = ConfigDict(from_attributes=True)

    target: str
    extension: str
    requested_at: datetime
    dial_status: TransferStatus
    fallback: str | None


class CallbackPublic(BaseModel):
    """A callback request (the caller number is shown to operators and admins only)."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 12,
                    "call_id": "0b7c6a0e-8a59-4c8e-9a4f-2f0c3d8e1f11",
                    "requested_at": SAMPLE_TIME,
                    "department": "urbanisme",
                    "language": "fr",
                    "caller_number": "+32470123456",
                    "note": "permis de bâtir, rappeler après 14 h",
                    "status": "pending",
                    "done_at": None,
                    "done_by": None,
                    "callback_key": "cb_3f9a1c0d2b7e4f60a1b2c3d4",
                    "attempts": 0,
                }
            ]
        },
    )

    id: int
    call_id: str
    requested_at: datetime
    department: str | None
    language: str
    caller_number: str | None
    note: str | None
    status: CallbackStatus
    callback_key: str | None
    attempts: int
    done_at: datetime | None
    done_by: str | None


class CallbacksPublic(BaseModel):
    """A page of callback requests and how many have the requested status."""

    data: list[CallbackPublic]
    count: int


class CallDetailPublic(CallPublic):
    """A call with its turns, transfers and callback requests."""

    turns: list[TurnPublic]
    transfers: list[TransferPublic]
    callbacks: list[CallbackPublic]


class CountPublic(BaseModel):
    """A count for one key, in one bucket when bucketed."""

    bucket: datetime | None = Field(description="Start of the bucket, in the statistics' zone.")
    key: str | None = Field(description="Intent, department (null: none), outcome or language.")
    count: int


class CountsPublic(BaseModel):
    """Counts by dimension over a range."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "dimension": "intent",
                    "bucket": "day",
                    "start": "2024-03-01T00:00:00+01:00",
                    "end": "2024-03-08T00:00:00+01:00",
                    "language": None,
                    "department": None,
                    "data": [
                        {"bucket": "2024-03-04T00:00:00+01:00", "key": "population", "count": 42}
                    ],
                    "count": 1,
                }
            ]
        }
    )

    dimension: str = Field(description="intent, department, outcome, language or request.")
    bucket: str | None
    start: datetime
    end: datetime
    language: str | None
    department: str | None = None
    data: list[CountPublic]
    count: int


class SummaryPublic(BaseModel):
    """Headline figures over a range or one bucket of it (rates are null without calls)."""

    bucket: datetime | None
    calls: int
    contained: int
    contained_rate: float | None = Field(
        description="Share of calls resolved by the assistant alone: answered, and after the "
        "first answer the caller neither asked again (not understood, same answer), nor asked "
        "for a person or a department, nor was transferred or put on the callback list."
    )
    transferred: int
    transfer_rate: float | None
    abandoned: int
    abandonment_rate: float | None
    callbacks: int
    avg_handling_time_s: float | None
    turns: int
    avg_asr_confidence: float | None = Field(description="Null without speech turns.")
    avg_turn_latency_ms: float | None = Field(description="Null without timed turns.")


class SummariesPublic(BaseModel):
    """Headline figures: one item for the range, or one per bucket."""

    start: datetime
    end: datetime
    language: str | None
    department: str | None = None
    data: list[SummaryPublic]
    count: int


class DepartmentTransfersPublic(BaseModel):
    """Transfers to one department (or ``operator``) over a range."""

    department: str
    calls: int
    share: float | None
    attempts: int
    answered: int
    success_rate: float | None


class DepartmentsTransfersPublic(BaseModel):
    """Transfers per department over a range."""

    start: datetime
    end: datetime
    language: str | None
    department: str | None = None
    data: list[DepartmentTransfersPublic]
    count: int


class QuestionGroupPublic(BaseModel):
    """Similar questions the assistant did not understand."""

    count: int = Field(description="Occurrences of all the group's texts together.")
    representative: str
    examples: list[str]
    distinct: int


class QuestionGroupsPublic(BaseModel):
    """Most frequent not-understood question groups over a range."""

    start: datetime
    end: datetime
    data: list[QuestionGroupPublic]
    count: int


class ApiKeyPublic(BaseModel):
    """An API key without its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: ApiRole
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeysPublic(BaseModel):
    """Every API key."""

    data: list[ApiKeyPublic]
    count: int


class ApiKeyCreate(BaseModel):
    """A key to create."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "accueil-1", "role": "operator"}]}
    )

    name: str = Field(min_length=1, max_length=128)
    role: ApiRole


class ApiKeyCreated(ApiKeyPublic):
    """A new key, with its plaintext: shown this once, never again."""

    key: str


class TransferredCallPublic(BaseModel):
    """A call recently put through to a person, with the assistant's summary."""

    model_config = ConfigDict(from_attributes=True)

    card_key: str
    """The call's opaque key (the call's UUID is never sent to staff)."""
    transferred_at: datetime
    """When the assistant decided the transfer."""
    target: str
    """Department id or ``operator``."""
    reason: str | None
    """Why the call went there (``routed``, ``busy``, ``closed``, ``keypad``, ...)."""
    department: str | None
    """The department the request is about (also when the call went to the operator)."""
    extension: str | None
    intent: str | None
    language: str | None
    summary: str
    utterances: list[str]
    sent: bool
    """The transfer went to the PBX (after the announcement)."""
    ended: bool
    outcome: str | None


class TransferredCallsPublic(BaseModel):
    """Calls transferred recently (newest first) and calls in progress."""

    data: list[TransferredCallPublic]
    count: int
    active_calls: int


class KbStatusPublic(BaseModel):
    """Version of the knowledge base and progress of the router rebuild."""

    version: str
    generation: int
    applied_generation: int
    last_error: str | None


class AmiHealthPublic(BaseModel):
    """The AMI connector: without it no call can be transferred (the dialplan then sends
    callers to the operator)."""

    connected: bool
    state: str
    down_for_s: float
    """Seconds since the connection was lost (or since start); 0 while connected."""
    failed_attempts: int
    logins: int
    last_error: str | None


class HealthPublic(BaseModel):
    """Whether this process can serve: ``degraded`` (HTTP 503) when the database or the AMI
    is unreachable, so that a load balancer stops sending work here."""

    status: Literal["ok", "degraded"]
    database: dict[str, Any]
    writer: dict[str, Any] | None
    knowledge_base: dict[str, Any]
    ami: AmiHealthPublic | None = None
    """None when this process has no AMI connector (API-only)."""
    models: dict[str, str] | None = None
    """What recognises, routes and speaks (loaded before the first call); None when this
    process serves no calls."""


TextsIn = dict[str, str]
PhrasesIn = dict[str, list[str]]


class FaqEntryIn(BaseModel):
    """An FAQ entry to create or replace (its id is in the path)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "department": "population",
                    "questions": {"fr": ["quand ouvre la maison communale"]},
                    "answer": {"fr": "La maison communale ouvre à 8 h 30."},
                }
            ]
        },
    )

    id: str | None = Field(default=None, description="Must equal the id in the path if given.")
    department: str | None = None
    intent: str | None = Field(default=None, description="Catalogue FAQ intent it answers.")
    questions: PhrasesIn
    answer: TextsIn


class DepartmentIn(BaseModel):
    """A department to create or replace (its id is in the path)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "extension": "2001",
                    "dtmf": "1",
                    "name": {"fr": "Service Population"},
                    "description": {"fr": "Cartes d'identité, passeports, domiciliations."},
                    "hours": {"monday": ["08:30-12:00"], "exceptions": []},
                    "examples": {"fr": ["je dois renouveler ma carte d'identité"]},
                }
            ]
        },
    )

    id: str | None = Field(default=None, description="Must equal the id in the path if given.")
    extension: str
    dtmf: str | None = None
    name: TextsIn
    description: TextsIn
    hours: Literal["always"] | dict[str, Any]
    services: list[str] | None = Field(
        default=None, description="Catalogue services it handles (their phrases count)."
    )
    examples: PhrasesIn | None = None
