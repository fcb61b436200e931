"""Staff accounts, their sessions, login limits and the audit trail."""
