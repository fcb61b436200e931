"""Alembic migrations of the call log schema (run with :func:`voicebot.calllog.db.migrate`)."""
