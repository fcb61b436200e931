"""Every table of the call log database, gathered for migrations and schema checks."""

from __future__ import annotations

from voicebot.calllog import staff_models
from voicebot.calllog.models import Base

METADATA = Base.metadata
"""Tables of :mod:`voicebot.calllog.models` and :mod:`voicebot.calllog.staff_models`."""

__all__ = ["METADATA", "staff_models"]
