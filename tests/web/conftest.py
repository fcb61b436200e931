"""The web tests reuse the API's seeded app fixture."""

from __future__ import annotations

from tests.api.conftest import api  # noqa: F401  (re-exported fixture)
