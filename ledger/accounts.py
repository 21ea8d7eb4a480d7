"""Staff accounts: roles and what they may do, passwords, logins and server-side sessions.

Keyword-only functions over a SQLAlchemy session (no HTTP). Passwords are argon2id hashes; a
session is found by the SHA-256 of the random token in the browser's cookie (the token itself is
never stored).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ledger.areas import AREA_LEVEL_LABELS, NATIONAL, AreaDirectory, area_clause, check_area_code
from ledger.audit import audit
from ledger.clock import aware, utcnow
from ledger.errors import StaffError
from ledger.staff_models import StaffSession, StaffUser

# role → its label (ROLE_AREA_LENGTH: the area it must hold)
ROLES: dict[str, str] = {
    "admin": "系统管理员",
    "civil_affairs": "民政工作人员",
    "supervisor": "儿童督导员",
    "director": "儿童主任",
    "committee": "社区居委会",
}
ROLE_AREA_LENGTH = {"civil_affairs": 6, "supervisor": 9, "director": 12, "committee": 12}

# What each role may do, besides seeing and working on the records of its area ("wechat": making a
# committee's WeChat QR code through the account's API; "duty": the duty rosters, area fallback contacts
# and the alert targets of the accounts of its area — everyone manages their own targets).
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"decide", "visit", "export", "committees", "wechat", "knowledge", "audit", "users", "duty"}),
    "civil_affairs": frozenset({"decide", "visit", "export", "committees", "wechat", "knowledge", "duty"}),
    "supervisor": frozenset({"decide", "visit", "export", "committees"}),
    "director": frozenset({"visit", "export"}),
    "committee": frozenset({"visit", "export"}),
}
# Status changes open to roles without "decide": starting the review, referring a family on.
LIGHT_STATUSES = frozenset({"under_review", "referred"})

IDLE_TIMEOUT = dt.timedelta(minutes=30)
ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)
TOUCH_EVERY = dt.timedelta(seconds=60)
PASSWORD_MIN_LENGTH = 10
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$")

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("tongban-dummy-password-for-timing")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def valid_area_for_role(role: str, area: str, *, areas: AreaDirectory) -> str:
    """The area code to store for a role, or StaffError saying what is wrong (in Chinese)."""
    area = (area or "").strip()
    if role not in ROLES:
        raise StaffError(f"未知角色：{role}（可选：{'、'.join(ROLES)}）")
    if role == "admin" and area in (NATIONAL, "全国"):
        return NATIONAL
    if role == "admin":
        lengths = (6, 9, 12)
    else:
        lengths = (ROLE_AREA_LENGTH[role],)
    if not (area.isdigit() and len(area) in lengths):
        wanted = "national 或 6/9/12 位地区代码" if role == "admin" else \
            f"{lengths[0]} 位{AREA_LEVEL_LABELS[lengths[0]]}代码"
        raise StaffError(f"{ROLES[role]}的地区须为{wanted}，收到：{area or '（空）'}")
    return check_area_code(area, areas=areas)


def can(user: StaffUser, permission: str) -> bool:
    return permission in PERMISSIONS.get(user.role, frozenset())


# ------------------------------------------------------------------ accounts

def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str, username: str = "") -> None:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise StaffError(f"密码至少需要 {PASSWORD_MIN_LENGTH} 个字符")
    if username and username.lower() in password.lower():
        raise StaffError("密码不能包含用户名")
    if len(set(password)) < 4:
        raise StaffError("密码过于简单，请混合使用不同的字母、数字或符号")


def create_user(*, session: Session, areas: AreaDirectory, username: str, role: str, area: str, password: str,
                display_name: str = "", created_by: str = "cli") -> StaffUser:
    username = (username or "").strip()
    if not _USERNAME.match(username):
        raise StaffError("用户名须为 3–64 个字母、数字、点、下划线或短横线，并以字母或数字开头")
    area = valid_area_for_role(role, area, areas=areas)
    check_password_strength(password, username)
    if session.scalar(select(StaffUser.id).where(func.lower(StaffUser.username) == username.lower())):
        raise StaffError(f"用户名 {username} 已存在")
    user = StaffUser(username=username, role=role, area_code=area, password_hash=hash_password(password),
                     display_name=(display_name or "").strip()[:100], created_by=created_by,
                     active=True)
    session.add(user)
    session.flush()
    audit(session, actor=created_by, action="user.create", target=f"user:{username}",
          detail=f"role={role} area={area}")
    return user


def find_user(session: Session, username: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(func.lower(StaffUser.username) == (username or "").strip().lower()))


def list_users(session: Session, user_area: str = NATIONAL) -> list[StaffUser]:
    """The accounts whose area lies inside ``user_area`` (national: all of them)."""
    return list(session.scalars(select(StaffUser).where(area_clause(StaffUser.area_code, user_area))
                                .order_by(StaffUser.username)))


def set_user_active(*, session: Session, username: str, active: bool, actor: str) -> StaffUser:
    user = find_user(session, username)
    if user is None:
        raise StaffError(f"没有用户 {username}")
    user.active = active
    if not active:
        revoke_user_sessions(session=session, user_id=user.id)
    audit(session, actor=actor, action="user.enable" if active else "user.disable", target=f"user:{user.username}")
    return user


def set_password(*, session: Session, username: str, password: str, actor: str) -> StaffUser:
    user = find_user(session, username)
    if user is None:
        raise StaffError(f"没有用户 {username}")
    check_password_strength(password, user.username)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    revoke_user_sessions(session=session, user_id=user.id)
    audit(session, actor=actor, action="user.password", target=f"user:{user.username}")
    return user


# ------------------------------------------------------------------ login

@dataclass(frozen=True)
class LoginCandidate:
    """What checking a password needs of an account, copied out of the transaction."""

    id: int
    username: str
    password_hash: str
    active: bool
    password_changed_at: dt.datetime | None = None


@dataclass(frozen=True)
class PasswordCheck:
    ok: bool
    new_hash: str | None = None  # set when the stored hash's parameters are outdated


def login_candidate(session: Session, username: str) -> LoginCandidate | None:
    user = find_user(session, username) if (username or "").strip() else None
    if user is None:
        return None
    return LoginCandidate(user.id, user.username, user.password_hash, bool(user.active), user.password_changed_at)


def check_password(candidate: LoginCandidate | None, password: str) -> PasswordCheck:
    """Verify (and, when the parameters changed, rehash) a password: slow on purpose (argon2id,
    64 MiB), so callers run it outside any database transaction. An unknown user costs the same."""
    try:
        ok = _hasher.verify(candidate.password_hash if candidate else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or candidate is None:
        return PasswordCheck(False)
    new_hash = hash_password(password) if _hasher.check_needs_rehash(candidate.password_hash) else None
    return PasswordCheck(True, new_hash)


@dataclass
class LoginResult:
    user: StaffUser | None
    error: str | None = None


def finish_login(*, session: Session, username: str, candidate: LoginCandidate | None, check: PasswordCheck,
                 client_ip: str, now: dt.datetime | None = None) -> LoginResult:
    """Record a checked login (short: no hashing here): audit it, and on success stamp the account.

    The account is read again: disabled, or its password changed, since the check → a failure.
    Never says which part was wrong."""
    now = now or utcnow()
    username = (username or "").strip()[:64]
    user = session.get(StaffUser, candidate.id) if candidate is not None else None
    if (not check.ok or user is None or not user.active
            or aware(user.password_changed_at) != aware(candidate.password_changed_at)):
        disabled = check.ok and user is not None and not user.active
        audit(session, actor=username or "-", action="login.failure", target=f"ip:{client_ip}"[:80],
              detail="disabled" if disabled else "", now=now)
        return LoginResult(None, "用户名或密码不正确。")
    if check.new_hash:
        user.password_hash = check.new_hash
    user.last_login_at = now
    audit(session, actor=user.username, action="login.success", target=f"ip:{client_ip}"[:80], now=now)
    return LoginResult(user)


# ------------------------------------------------------------------ sessions

def create_session(*, session: Session, user: StaffUser, client_ip: str = "", user_agent: str = "",
                   now: dt.datetime | None = None) -> str:
    """A new session for ``user``; returns the raw token for the cookie (only its hash is stored)."""
    now = now or utcnow()
    token = new_token()
    session.add(StaffSession(token_hash=token_hash(token), user_id=user.id, created_at=now, last_seen_at=now,
                             expires_at=now + ABSOLUTE_TIMEOUT, client_ip=client_ip[:45],
                             user_agent=(user_agent or "")[:200]))
    session.execute(delete(StaffSession).where(StaffSession.expires_at < now - dt.timedelta(days=7)))
    session.flush()
    return token


@dataclass
class SessionState:
    kind: str  # valid / expired / missing
    record: StaffSession | None = None
    user: StaffUser | None = None


def load_session(*, session: Session, token: str | None, now: dt.datetime | None = None,
                 idle: dt.timedelta = IDLE_TIMEOUT) -> SessionState:
    """The session behind a cookie: valid (and touched), expired (idle, absolute, revoked, disabled) or missing."""
    if not token or len(token) > 200:
        return SessionState("missing")
    now = now or utcnow()
    record = session.scalar(select(StaffSession).where(StaffSession.token_hash == token_hash(token)))
    if record is None:
        return SessionState("missing")
    user = session.get(StaffUser, record.user_id)
    last_seen = aware(record.last_seen_at)
    if (record.revoked_at is not None or aware(record.expires_at) <= now or last_seen + idle <= now
            or user is None or not user.active):
        return SessionState("expired", record, user)
    if now - last_seen >= TOUCH_EVERY:
        record.last_seen_at = now
    return SessionState("valid", record, user)


def revoke_session(*, session: Session, token: str, now: dt.datetime | None = None) -> None:
    record = session.scalar(select(StaffSession).where(StaffSession.token_hash == token_hash(token)))
    if record is not None and record.revoked_at is None:
        record.revoked_at = now or utcnow()


def revoke_user_sessions(*, session: Session, user_id: int, now: dt.datetime | None = None) -> None:
    for record in session.scalars(select(StaffSession).where(StaffSession.user_id == user_id,
                                                             StaffSession.revoked_at.is_(None))):
        record.revoked_at = now or utcnow()
