"""The audit trail: one structured log line and one row per event, never a secret."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.calllog.conftest import Database
from voicebot.accounts.audit import AuditKind, AuditLog
from voicebot.accounts.limiter import LoginGuard, LoginLimits
from voicebot.accounts.passwords import FAST_TEST_COST, PasswordHashing
from voicebot.accounts.service import SignInProblem, StaffAuth
from voicebot.accounts.store import AccountStore
from voicebot.calllog.rows import utc_now

PASSWORD = "la tour de la maison communale"


def _kinds(staff: StaffAuth) -> list[str]:
    entries, _ = staff.audit.entries(limit=1000)
    return [entry.kind.value for entry in reversed(entries)]


def test_account_and_key_lifecycle_is_audited(
    staff: StaffAuth, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="voicebot.audit")
    staff.create_account("account:admin", "192.0.2.9", "marie", PASSWORD, "operator")
    staff.set_role("account:admin", "192.0.2.9", "marie", "manager")
    staff.set_password("account:admin", "192.0.2.9", "marie", "un tout nouveau mot de passe")
    staff.set_disabled("account:admin", "192.0.2.9", "marie", True)
    staff.set_disabled("account:admin", "192.0.2.9", "marie", False)
    info, key = staff.create_key("account:admin", "192.0.2.9", "monitoring", "manager")
    staff.revoke_key("account:admin", "192.0.2.9", info.id)
    assert _kinds(staff) == [
        "account_created",
        "role_changed",
        "password_changed",
        "account_disabled",
        "account_enabled",
        "key_created",
        "key_revoked",
    ]
    entries, total = staff.audit.entries(kinds=(AuditKind.ROLE_CHANGED,))
    assert total == 1 and entries[0].detail == {"from": "operator", "to": "manager"}
    assert entries[0].actor == "account:admin" and entries[0].subject == "marie"
    # Structured lines, and no secret anywhere: neither in the log nor in the table.
    lines = [r.getMessage() for r in caplog.records if r.name == "voicebot.audit"]
    assert len(lines) == 7 and all(line.startswith("audit {") for line in lines)
    assert json.loads(lines[5].removeprefix("audit "))["subject"] == f"key:{info.id}"
    everything = "\n".join(lines) + json.dumps([e.log_fields() for e in staff.audit.entries()[0]])
    for secret in (PASSWORD, "un tout nouveau mot de passe", key):
        assert secret not in everything


def test_sign_in_failures_and_lockouts_are_audited_with_the_address(staff: StaffAuth) -> None:
    staff.guard = LoginGuard(LoginLimits(account_from_address=3))
    staff.accounts.create("marie", PASSWORD, "operator")
    results = [staff.sign_in("marie", "wrong password!", "192.0.2.1") for _ in range(4)]
    assert [r.problem for r in results] == [SignInProblem.WRONG] * 2 + [SignInProblem.LOCKED] * 2
    # Locked: even the right password waits (only from this address, for this account).
    assert staff.sign_in("marie", PASSWORD, "192.0.2.1").problem is SignInProblem.LOCKED
    assert staff.sign_in("marie", PASSWORD, "192.0.2.2").principal is not None
    assert _kinds(staff) == ["login_failed"] * 3 + ["lockout", "login"]
    lockout = staff.audit.entries(kinds=(AuditKind.LOCKOUT,))[0][0]
    assert lockout.subject == "marie" and lockout.address == "192.0.2.1"
    assert lockout.detail["scope"] == "account_from_address"


def test_filters_and_paging(staff: StaffAuth) -> None:
    start = utc_now()
    for n in range(5):
        staff.audit.record(
            AuditKind.LOGIN, actor=f"account:u{n % 2}", now=start + timedelta(seconds=n)
        )
    page, total = staff.audit.entries(actor="account:u0", limit=2)
    assert total == 3 and [e.at for e in page] == [
        start + timedelta(seconds=4),
        start + timedelta(seconds=2),
    ]
    late, _ = staff.audit.entries(start=start + timedelta(seconds=3))
    assert len(late) == 2


def test_control_characters_from_a_request_cannot_forge_log_lines(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    audit = AuditLog(database.engine)
    entry = audit.record(AuditKind.LOGIN_FAILED, subject="x\nkind=login", address="a" * 500)
    assert entry.subject == "x?kind=login" and len(entry.address or "") == 64
    assert all("\n" not in record.getMessage() for record in caplog.records)
    stored = audit.entries(kinds=(AuditKind.LOGIN_FAILED,))[0]
    assert [e.subject for e in stored] == ["x?kind=login"]


def test_a_database_outage_keeps_the_log_line(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    audit = AuditLog(database.engine)
    with database.engine.begin() as connection:
        connection.execute(text("DROP TABLE audit_events"))
    audit.record(AuditKind.LOCKOUT, subject="marie", detail={"scope": "account"})
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("audit {") and '"lockout"' in m for m in messages)
    assert any("not stored" in m for m in messages)


def test_timing_does_not_tell_unknown_names_apart(database: Database) -> None:
    # Behaviour, not latency: an unknown name still goes through one argon2 verification.
    calls: list[str | None] = []

    class CountingHashing(PasswordHashing):
        def verify(self, stored_hash: str | None, password: str) -> bool:
            calls.append(stored_hash)
            return super().verify(stored_hash, password)

    store = AccountStore(database.engine, CountingHashing(FAST_TEST_COST))
    assert store.authenticate("nobody", PASSWORD) is None
    assert calls == [None]
