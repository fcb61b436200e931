"""Accounts and sessions in the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.calllog.conftest import Database
from voicebot.accounts.service import SignInProblem, StaffAuth
from voicebot.accounts.sessions import SessionEnd, SessionPolicy, SessionStore, hash_token
from voicebot.accounts.store import AccountError, AccountNotFoundError
from voicebot.calllog.models import ApiRole
from voicebot.calllog.rows import utc_now
from voicebot.calllog.staff_models import StaffAccount, StaffSession

PASSWORD = "la tour de la maison communale"


def test_accounts_are_created_with_a_hash_and_listed(staff: StaffAuth, database: Database) -> None:
    account = staff.accounts.create("  Marie.Dupont ", PASSWORD, "operator", display_name="Marie")
    assert (account.name, account.display_name, account.role) == (
        "marie.dupont",
        "Marie",
        ApiRole.OPERATOR,
    )
    with database.engine.connect() as connection:
        stored = connection.execute(select(StaffAccount.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert [a.name for a in staff.accounts.list_accounts()] == ["marie.dupont"]
    with pytest.raises(AccountError, match="already exists"):
        staff.accounts.create("marie.dupont", PASSWORD, "manager")
    with pytest.raises(AccountError, match="role 'boss'"):
        staff.accounts.create("jean", PASSWORD, "boss")
    with pytest.raises(AccountError, match="name: 1 to 64"):
        staff.accounts.create("Jean Dupont", PASSWORD, "manager")
    with pytest.raises(AccountError, match="password: use at least"):
        staff.accounts.create("jean", "short", "manager")
    with pytest.raises(AccountNotFoundError):
        staff.accounts.get("nobody")


def test_sign_in_opens_a_session_that_identifies_the_account(staff: StaffAuth) -> None:
    staff.accounts.create("marie", PASSWORD, "kb_editor", display_name="Marie Dupont")
    result = staff.sign_in("MARIE", PASSWORD, "192.0.2.1")
    assert result.principal is not None and result.token is not None
    assert result.principal.actor == "account:marie"
    check = staff.check_session(result.token)
    assert check.principal is not None
    assert (check.principal.name, check.principal.role) == ("Marie Dupont", ApiRole.KB_EDITOR)
    assert staff.check_session("forged").ended is SessionEnd.UNKNOWN


def test_wrong_unknown_and_disabled_all_fail_the_same_way(staff: StaffAuth) -> None:
    staff.accounts.create("marie", PASSWORD, "manager")
    staff.accounts.create("jean", PASSWORD, "manager")
    staff.set_disabled("cli:test", None, "jean", True)
    for name, password in (("marie", "wrong password!"), ("nobody", PASSWORD), ("jean", PASSWORD)):
        result = staff.sign_in(name, password, "192.0.2.1")
        assert (result.principal, result.problem) == (None, SignInProblem.WRONG)


def test_only_the_token_hash_is_stored(staff: StaffAuth, database: Database) -> None:
    staff.accounts.create("marie", PASSWORD, "manager")
    token = staff.sign_in("marie", PASSWORD, "192.0.2.1").token
    assert token is not None
    with database.engine.connect() as connection:
        hashes = connection.execute(select(StaffSession.token_hash)).scalars().all()
    assert hashes == [hash_token(token)]


def test_sessions_expire_by_lifetime_and_idle_time(database: Database) -> None:
    staff = StaffAuth(
        database.engine,
        sessions=SessionStore(
            database.engine, SessionPolicy(lifetime=timedelta(hours=8), idle=timedelta(hours=1))
        ),
    )
    account = staff.accounts.create("marie", PASSWORD, "manager")
    start = utc_now()
    token, _ = staff.sessions.open(account.id, now=start)
    sessions = staff.sessions
    assert sessions.check(token, now=start + timedelta(minutes=50)).principal is not None
    assert sessions.check(token, now=start + timedelta(minutes=100)).principal is not None
    assert sessions.check(token, now=start + timedelta(hours=8)).ended is SessionEnd.EXPIRED
    # Once ended, it stays ended, with its reason.
    assert sessions.check(token, now=start).ended is SessionEnd.EXPIRED
    idle, _ = sessions.open(account.id, now=start)
    assert sessions.check(idle, now=start + timedelta(minutes=61)).ended is SessionEnd.EXPIRED


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ("disable", SessionEnd.ACCOUNT_DISABLED),
        ("password", SessionEnd.PASSWORD_CHANGED),
        ("end_sessions", SessionEnd.REVOKED),
        ("logout", SessionEnd.LOGOUT),
    ],
)
def test_sessions_end_with_their_reason(staff: StaffAuth, action: str, reason: SessionEnd) -> None:
    staff.accounts.create("marie", PASSWORD, "operator")
    tokens = [staff.sign_in("marie", PASSWORD, "192.0.2.1").token for _ in range(2)]
    assert all(tokens)
    if action == "disable":
        staff.set_disabled("account:admin", "192.0.2.9", "marie", True)
    elif action == "password":
        staff.set_password("account:admin", "192.0.2.9", "marie", "un tout nouveau mot de passe")
    elif action == "end_sessions":
        assert staff.end_sessions("account:admin", "192.0.2.9", "marie") == 2
    else:
        for token in tokens:
            staff.sign_out(token or "", "192.0.2.1")
    assert [staff.check_session(token or "").ended for token in tokens] == [reason, reason]


def test_a_new_password_works_and_the_old_one_does_not(staff: StaffAuth) -> None:
    staff.accounts.create("marie", PASSWORD, "operator")
    staff.set_password("account:admin", None, "marie", "un tout nouveau mot de passe")
    assert staff.sign_in("marie", PASSWORD, "192.0.2.1").principal is None
    assert staff.sign_in("marie", "un tout nouveau mot de passe", "192.0.2.2").principal


def test_a_role_change_applies_to_open_sessions(staff: StaffAuth) -> None:
    staff.accounts.create("marie", PASSWORD, "manager")
    token = staff.sign_in("marie", PASSWORD, "192.0.2.1").token or ""
    staff.set_role("account:admin", None, "marie", "kb_editor")
    check = staff.check_session(token)
    assert check.principal is not None and check.principal.role is ApiRole.KB_EDITOR
