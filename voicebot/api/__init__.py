"""HTTP API (FastAPI): call logs, statistics, knowledge base, live events."""
