"""One router per resource, mounted under ``/api`` (health and metrics at the root)."""
