"""API models of the learning loop: testing a phrase, teaching the KB, versions, corrections."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from voicebot.api.kb_document import MAX_PHRASE_LENGTH


class PhraseTest(BaseModel):
    """A phrase to route as a caller would say it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"text": "je voudrais un permis de pêche", "language": "fr"}]
        },
    )

    text: str = Field(min_length=1, max_length=MAX_PHRASE_LENGTH)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$", max_length=3)


class CandidatePublic(BaseModel):
    """A scored target, with its name in the city's default language."""

    label: str
    name: str
    score: float


class DecisionPublic(BaseModel):
    """What the router decides for a phrase, right now."""

    label: str
    """The target (``faq:<id>``, a department id, ``operator``) or ``none`` (not understood)."""
    name: str
    kind: str
    score: float
    margin: float
    ambiguous: bool
    threshold: float
    language: str
    candidates: list[CandidatePublic]
    kb_version: str
    """Content hash of the KB the router was built from."""


class PhraseAdd(BaseModel):
    """Teach the KB a caller's phrase for a target."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"target": "population", "language": "fr", "phrase": "un permis de pêche"}]
        },
    )

    target: str = Field(
        min_length=1, max_length=128, description="A department id, `faq:<id>` or `operator`."
    )
    language: str = Field(pattern=r"^[a-z]{2,3}$", max_length=3)
    phrase: str = Field(min_length=1, max_length=MAX_PHRASE_LENGTH)
    correction_id: int | None = Field(
        default=None, ge=1, le=2**63 - 1, description="The correction this applies, if any."
    )


class FaqCreate(BaseModel):
    """A new FAQ entry from a question callers ask."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(
        default=None, max_length=64, description="Made from the first question when left out."
    )
    department: str | None = Field(default=None, max_length=64)
    questions: dict[str, list[str]] = Field(min_length=1)
    answer: dict[str, str] = Field(min_length=1)


class KbChangePublic(BaseModel):
    """The KB after a change, and where the router's rebuild is."""

    version: str
    generation: int
    kb_version_id: int | None
    """Number of the new version in the history (None when it could not be recorded)."""
    detail: str


class KbVersionPublic(BaseModel):
    """One version of the KB file."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    author: str
    action: str
    summary: str
    content_hash: str
    reverts_version: int | None


class KbVersionsPublic(BaseModel):
    """Versions, newest first; ``count`` is how many there are."""

    data: list[KbVersionPublic]
    count: int


class LowMarginTurnPublic(BaseModel):
    """A request decided with little margin."""

    model_config = ConfigDict(from_attributes=True)

    call_id: str
    started_at: datetime
    language: str
    transcript: str
    intent: str
    score: float | None
    margin: float


class LowMarginTurnsPublic(BaseModel):
    """Low-margin decisions, newest first."""

    data: list[LowMarginTurnPublic]
    count: int
    max_margin: float


class CorrectionCreate(BaseModel):
    """An operator says a transferred call should have gone elsewhere."""

    model_config = ConfigDict(extra="forbid")

    card_key: str = Field(min_length=1, max_length=64, description="The console card's key.")
    should_be: str = Field(min_length=1, max_length=128)


class CorrectionPublic(BaseModel):
    """An operator's correction (managers and KB editors)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    actor: str
    call_id: str | None
    language: str | None
    routed_to: str | None
    should_be: str
    phrases: list[str]
    status: str
    handled_by: str | None
    handled_at: datetime | None


class CorrectionsPublic(BaseModel):
    """Corrections, newest first."""

    data: list[CorrectionPublic]
    count: int
