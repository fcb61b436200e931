"""Alembic revisions of the call log schema."""
