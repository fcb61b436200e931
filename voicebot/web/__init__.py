"""Web pages: manager dashboard and operator console."""
