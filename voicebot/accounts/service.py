"""Signing in and out, checking sessions and keys, and managing accounts: with the limits
of :mod:`voicebot.accounts.limiter` and every step written to the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Engine

from voicebot.accounts.audit import AuditKind, AuditLog
from voicebot.accounts.keys import ApiKeyInfo, authenticate, issue_key, revoke_key
from voicebot.accounts.limiter import Lockout, LoginGuard
from voicebot.accounts.passwords import PasswordHashing
from voicebot.accounts.principal import Principal, PrincipalKind
from voicebot.accounts.sessions import SessionCheck, SessionEnd, SessionStore
from voicebot.accounts.store import AccountInfo, AccountStore, normalise_name
from voicebot.calllog.models import ApiRole


class SignInProblem(StrEnum):
    """Why a sign-in did not open a session."""

    WRONG = "wrong"
    """Unknown name, wrong password or disabled account (never said apart)."""
    LOCKED = "locked"


@dataclass(frozen=True, slots=True)
class SignInResult:
    """A session token and its principal, or the problem (with a wait for lockouts)."""

    principal: Principal | None = None
    token: str | None = None
    problem: SignInProblem | None = None
    retry_after_s: int | None = None


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """The principal of an API key, or a wait when wrong keys from the address are throttled."""

    principal: Principal | None = None
    retry_after_s: int | None = None


def key_principal(info: ApiKeyInfo) -> Principal:
    """An API key as the party of a request."""
    return Principal(PrincipalKind.KEY, info.id, info.name, info.role)


class StaffAuth:
    """Everything about who may use the pages and the API."""

    def __init__(
        self,
        engine: Engine,
        *,
        accounts: AccountStore | None = None,
        sessions: SessionStore | None = None,
        guard: LoginGuard | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.engine = engine
        self.accounts = accounts or AccountStore(engine)
        self.sessions = sessions or SessionStore(engine)
        self.guard = guard or LoginGuard()
        self.audit = audit or AuditLog(engine)

    @classmethod
    def with_hashing(cls, engine: Engine, hashing: PasswordHashing) -> StaffAuth:
        """Defaults everywhere except the password hashing cost."""
        return cls(engine, accounts=AccountStore(engine, hashing))

    # ------------------------------------------------------------------ sessions

    def sign_in(self, name: str, password: str, address: str) -> SignInResult:
        """Check a name and password; on success open a session."""
        login = normalise_name(name)[:64]
        wait = self.guard.account_retry_after(login, address)
        if wait is not None:
            return SignInResult(problem=SignInProblem.LOCKED, retry_after_s=wait)
        account = self.accounts.authenticate(login, password)
        if account is None:
            self.audit.record(AuditKind.LOGIN_FAILED, address=address, subject=login)
            lockout = self.guard.account_failed(login, address)
            if lockout is not None:
                self._record_lockout(lockout, address, login)
                return SignInResult(
                    problem=SignInProblem.LOCKED, retry_after_s=lockout.retry_after_s
                )
            return SignInResult(problem=SignInProblem.WRONG)
        self.guard.account_succeeded(login, address)
        token, session_id = self.sessions.open(account.id)
        principal = account.principal(session_id)
        self.audit.record(
            AuditKind.LOGIN, actor=principal.actor, address=address, detail={"session": session_id}
        )
        return SignInResult(principal=principal, token=token)

    def check_session(self, token: str) -> SessionCheck:
        """The principal of a session cookie, or why the session ended."""
        return self.sessions.check(token)

    def sign_out(self, token: str, address: str) -> None:
        """End the session of ``token`` (no-op for an unknown one)."""
        check = self.sessions.check(token)
        self.sessions.end(token, SessionEnd.LOGOUT)
        if check.principal is not None:
            self.audit.record(AuditKind.LOGOUT, actor=check.principal.actor, address=address)

    # ---------------------------------------------------------------------- keys

    def check_key(self, key: str, address: str) -> KeyCheck:
        """The principal of a valid key (never throttled); else a wait once the address has
        sent too many wrong keys."""
        info = authenticate(self.engine, key)
        if info is not None:
            return KeyCheck(principal=key_principal(info))
        wait = self.guard.keys_retry_after(address)
        if wait is not None:
            return KeyCheck(retry_after_s=wait)
        self.audit.record(AuditKind.KEY_REJECTED, address=address)
        lockout = self.guard.key_failed(address)
        if lockout is not None:
            self._record_lockout(lockout, address, None)
        return KeyCheck()

    def create_key(
        self, actor: str, address: str | None, name: str, role: str | ApiRole
    ) -> tuple[ApiKeyInfo, str]:
        """A new API key (returned in clear once), audited."""
        info, plaintext = issue_key(self.engine, name, role)
        self.audit.record(
            AuditKind.KEY_CREATED,
            actor=actor,
            address=address,
            subject=f"key:{info.id}",
            detail={"name": info.name, "role": info.role.value},
        )
        return info, plaintext

    def revoke_key(self, actor: str, address: str | None, key_id: int) -> ApiKeyInfo:
        """Revoke an API key at once, audited."""
        info = revoke_key(self.engine, key_id)
        self.audit.record(
            AuditKind.KEY_REVOKED,
            actor=actor,
            address=address,
            subject=f"key:{info.id}",
            detail={"name": info.name},
        )
        return info

    # ------------------------------------------------------------------ accounts

    def create_account(
        self,
        actor: str,
        address: str | None,
        name: str,
        password: str,
        role: str | ApiRole,
        display_name: str | None = None,
    ) -> AccountInfo:
        """A new account, audited (:class:`~voicebot.accounts.store.AccountError` if refused)."""
        account = self.accounts.create(name, password, role, display_name=display_name)
        self.audit.record(
            AuditKind.ACCOUNT_CREATED,
            actor=actor,
            address=address,
            subject=account.name,
            detail={"role": account.role.value, "display_name": account.display_name},
        )
        return account

    def set_disabled(
        self, actor: str, address: str | None, name: str, disabled: bool
    ) -> AccountInfo:
        """Disable an account (its sessions end at once) or enable it again."""
        account = self.accounts.set_disabled(name, disabled)
        ended = 0
        if disabled:
            ended = self.sessions.end_all(account.id, SessionEnd.ACCOUNT_DISABLED)
        self.audit.record(
            AuditKind.ACCOUNT_DISABLED if disabled else AuditKind.ACCOUNT_ENABLED,
            actor=actor,
            address=address,
            subject=account.name,
            detail={"sessions_ended": ended} if disabled else {},
        )
        return account

    def set_password(
        self, actor: str, address: str | None, name: str, password: str
    ) -> AccountInfo:
        """A new password; every session of the account ends."""
        account = self.accounts.set_password(name, password)
        ended = self.sessions.end_all(account.id, SessionEnd.PASSWORD_CHANGED)
        self.audit.record(
            AuditKind.PASSWORD_CHANGED,
            actor=actor,
            address=address,
            subject=account.name,
            detail={"sessions_ended": ended},
        )
        return account

    def set_role(
        self, actor: str, address: str | None, name: str, role: str | ApiRole
    ) -> AccountInfo:
        """Change an account's role (effective at its next request)."""
        before = self.accounts.get(name)
        account = self.accounts.set_role(name, role)
        self.audit.record(
            AuditKind.ROLE_CHANGED,
            actor=actor,
            address=address,
            subject=account.name,
            detail={"from": before.role.value, "to": account.role.value},
        )
        return account

    def end_sessions(self, actor: str, address: str | None, name: str) -> int:
        """End every session of an account (signed out everywhere); returns how many."""
        account = self.accounts.get(name)
        ended = self.sessions.end_all(account.id, SessionEnd.REVOKED)
        self.audit.record(
            AuditKind.SESSION_ENDED,
            actor=actor,
            address=address,
            subject=account.name,
            detail={"sessions_ended": ended},
        )
        return ended

    def _record_lockout(self, lockout: Lockout, address: str, subject: str | None) -> None:
        self.audit.record(
            AuditKind.LOCKOUT,
            address=address,
            subject=subject,
            detail={"scope": lockout.scope.value, "retry_after_s": lockout.retry_after_s},
        )
