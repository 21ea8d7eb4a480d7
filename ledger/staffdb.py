"""Staff-side queries and services: the area rule, accounts, sessions, login throttling,
drafts, the review queue, dashboard counts, ledger export rows, committees and the audit log.

Keyword-only functions over a SQLAlchemy session (no HTTP). Every list, count and export
is limited to the user's area in the SQL itself (:func:`area_clause`); single records are
checked again with :func:`in_area` by the caller.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, case, delete, exists, func, literal, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ledger.clock import aware, beijing_date, day_start, utcnow
from ledger.crypto import DataCipher
from ledger.models import (AssistanceRequest, AuditEvent, Committee, HandoffRequest, LedgerEntry, UrgentRecord,
                           Visit)
from ledger.staff_models import StaffCaseNote, StaffDraft, StaffSession, StaffUser, StagedChecklist

NATIONAL = "national"

# role → (label, required area form)
ROLES: dict[str, str] = {
    "admin": "系统管理员",
    "civil_affairs": "民政工作人员",
    "supervisor": "儿童督导员",
    "director": "儿童主任",
    "committee": "社区居委会",
}
ROLE_AREA_LENGTH = {"civil_affairs": 6, "supervisor": 9, "director": 12, "committee": 12}
AREA_LEVEL_LABELS = {6: "区县", 9: "街道（乡镇）", 12: "社区（村）"}

# What each role may do, besides seeing and working on the records of its area.
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"decide", "visit", "export", "committees", "knowledge", "audit", "users"}),
    "civil_affairs": frozenset({"decide", "visit", "export", "committees", "knowledge"}),
    "supervisor": frozenset({"decide", "visit", "export", "committees"}),
    "director": frozenset({"visit", "export"}),
    "committee": frozenset({"visit", "export"}),
}
# Status changes open to roles without "decide": starting the review, referring a family on.
LIGHT_STATUSES = frozenset({"under_review", "referred"})

IDLE_TIMEOUT = dt.timedelta(minutes=30)
ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)
TOUCH_EVERY = dt.timedelta(seconds=60)
DRAFT_LIFETIME = dt.timedelta(hours=2)
STAGED_LIFETIME = dt.timedelta(hours=2)
PASSWORD_MIN_LENGTH = 10
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$")

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("tongban-dummy-password-for-timing")


class StaffError(ValueError):
    """A refused staff operation; the message is Chinese and safe to show."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


# ------------------------------------------------------------------ the area rule

def area_prefix(area: str) -> str:
    """The significant prefix of a user's area: '' for national, else the code itself (6/9/12 digits)."""
    if area == NATIONAL:
        return ""
    if not (area.isdigit() and len(area) in (6, 9, 12)):
        raise StaffError(f"无效的地区代码：{area}")
    return area


def in_area(record_code: str | None, user_area: str) -> bool:
    """Is a record with area code ``record_code`` inside ``user_area``?

    National users see everything, records without an area included; everyone else sees the
    records whose code starts with their area's significant prefix.
    """
    prefix = area_prefix(user_area)
    if not prefix:
        return True
    return bool(record_code) and record_code.startswith(prefix)


def _upper_bound(prefix: str) -> str:
    """The smallest digit string of the same length above every code starting with ``prefix``."""
    return str(int(prefix) + 1).zfill(len(prefix))


def area_clause(column, user_area: str) -> ColumnElement[bool]:
    """:func:`in_area` as SQL: a range an index can use, plus the exact LIKE 'prefix%'."""
    prefix = area_prefix(user_area)
    if not prefix:
        return true()
    return and_(column >= prefix, column < _upper_bound(prefix), column.like(prefix + "%"))


def valid_area_for_role(role: str, area: str) -> str:
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
    return check_area_code(area)


def check_area_code(area: str, lengths: tuple[int, ...] = (6, 9, 12)) -> str:
    """A 6/9/12-digit code whose district exists (county-level), with non-zero street/community parts."""
    from nlu.geo import gazetteer

    area = (area or "").strip()
    if not (area.isdigit() and len(area) in lengths):
        raise StaffError("地区代码须为 " + "/".join(str(n) for n in lengths) + " 位数字")
    geo = gazetteer()
    region = geo.regions.get(area[:6])
    if region is None:
        raise StaffError(f"行政区划中没有区县代码 {area[:6]}")
    if region.level != "district" and any(r.parent == region.code for r in geo.regions.values()):
        raise StaffError(f"{area[:6]}（{region.name}）不是区县一级的代码，请填写下辖区县的代码")
    if len(area) >= 9 and area[6:9] == "000":
        raise StaffError(f"{area} 不是有效的街道（乡镇）代码")
    if len(area) == 12 and area[9:] == "000":
        raise StaffError(f"{area} 不是有效的社区（村）代码")
    return area


def area_name(code: str | None, names: dict[str, str] | None = None) -> str:
    """A readable name for an area code: 全国, the district's full name, plus a known sub-area name."""
    from nlu.geo import gazetteer

    if not code:
        return "地区不明"
    if code == NATIONAL:
        return "全国"
    if names and code in names:
        return names[code]
    region = gazetteer().get(code)
    base = gazetteer().full_name(code[:6]) if region else ""
    if len(code) == 6:
        return base or code
    return f"{base}（{code}）" if base else code


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


def create_user(*, session: Session, username: str, role: str, area: str, password: str,
                display_name: str = "", created_by: str = "cli") -> StaffUser:
    username = (username or "").strip()
    if not _USERNAME.match(username):
        raise StaffError("用户名须为 3–64 个字母、数字、点、下划线或短横线，并以字母或数字开头")
    area = valid_area_for_role(role, area)
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


# ------------------------------------------------------------------ drafts

def save_draft(*, session: Session, cipher: DataCipher, user_id: int, page: str, fields: dict[str, str],
               now: dt.datetime | None = None) -> str:
    now = now or utcnow()
    token = new_token()
    session.execute(delete(StaffDraft).where(StaffDraft.expires_at < now))
    session.add(StaffDraft(token_hash=token_hash(token), user_id=user_id, page=page[:300],
                           fields_enc=cipher.encrypt(json.dumps(fields, ensure_ascii=False)),
                           created_at=now, expires_at=now + DRAFT_LIFETIME))
    return token


def take_draft(*, session: Session, cipher: DataCipher, token: str | None, user_id: int, page: str,
               now: dt.datetime | None = None) -> dict[str, str] | None:
    """The draft for this user and page (used once), or None."""
    if not token:
        return None
    now = now or utcnow()
    draft = session.scalar(select(StaffDraft).where(StaffDraft.token_hash == token_hash(token)))
    if draft is None or draft.user_id != user_id or draft.page != page:
        return None
    session.delete(draft)
    if aware(draft.expires_at) <= now:
        return None
    try:
        fields = json.loads(cipher.decrypt(draft.fields_enc) or "{}")
    except ValueError:
        return None
    return {str(k): str(v) for k, v in fields.items()} if isinstance(fields, dict) else None


# ------------------------------------------------------------------ staged checklist uploads

def stage_checklist(*, session: Session, user_id: int, source_name: str, yaml_text: str,
                    now: dt.datetime | None = None) -> str:
    now = now or utcnow()
    token = new_token()
    session.execute(delete(StagedChecklist).where(StagedChecklist.expires_at < now))
    session.add(StagedChecklist(token_hash=token_hash(token), user_id=user_id, source_name=source_name[:200],
                                yaml_text=yaml_text, created_at=now, expires_at=now + STAGED_LIFETIME))
    return token


def staged_checklist(*, session: Session, token: str, user_id: int,
                     now: dt.datetime | None = None) -> StagedChecklist | None:
    now = now or utcnow()
    staged = session.scalar(select(StagedChecklist).where(StagedChecklist.token_hash == token_hash(token or "")))
    if staged is None or staged.user_id != user_id or aware(staged.expires_at) <= now:
        return None
    return staged


# ------------------------------------------------------------------ audit

def audit(session: Session, *, actor: str, action: str, target: str, detail: str = "",
          now: dt.datetime | None = None) -> None:
    session.add(AuditEvent(actor=(actor or "-")[:64], action=action[:40], target=(target or "-")[:80],
                           detail=detail, at=now or utcnow()))


@dataclass
class Page:
    rows: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def audit_area_clause(user_area: str) -> ColumnElement[bool]:
    """The audit events an admin of ``user_area`` may read: those of the accounts of the area, and
    those about its requests and accounts (whoever did them). National: every event."""
    if not area_prefix(user_area):
        return true()
    in_area_ = area_clause(StaffUser.area_code, user_area)
    return or_(AuditEvent.actor.in_(select(StaffUser.username).where(in_area_)),
               AuditEvent.target.in_(select(literal("user:") + StaffUser.username).where(in_area_)),
               AuditEvent.target.in_(select(AssistanceRequest.reference)
                                     .where(area_clause(AssistanceRequest.area_code, user_area))))


def audit_page(*, session: Session, page: int = 1, per_page: int = 100, actor: str = "", action: str = "",
               target: str = "", since: dt.date | None = None, until: dt.date | None = None,
               user_area: str = NATIONAL) -> Page:
    conditions = [audit_area_clause(user_area)]
    if actor:
        conditions.append(AuditEvent.actor == actor)
    if action:
        conditions.append(AuditEvent.action.like(action.replace("%", "") + "%"))
    if target:
        conditions.append(AuditEvent.target == target)
    if since:
        conditions.append(AuditEvent.at >= day_start(since))
    if until:
        conditions.append(AuditEvent.at < day_start(until + dt.timedelta(days=1)))
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions))
    rows = list(session.scalars(select(AuditEvent).where(*conditions).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                                .limit(per_page).offset((page - 1) * per_page)))
    return Page(rows, total, page, per_page)


# ------------------------------------------------------------------ case notes (urgent records, handoffs)

def add_case_note(*, session: Session, cipher: DataCipher, kind: str, target_id: int, note: str, status: str,
                  actor: str, now: dt.datetime | None = None) -> StaffCaseNote:
    record = StaffCaseNote(target_kind=kind, target_id=target_id, note_enc=cipher.encrypt(note), status=status,
                           written_by=actor, written_at=now or utcnow())
    session.add(record)
    return record


def case_notes(*, session: Session, cipher: DataCipher, kind: str, target_id: int) -> list[dict]:
    rows = session.scalars(select(StaffCaseNote).where(StaffCaseNote.target_kind == kind,
                                                        StaffCaseNote.target_id == target_id)
                           .order_by(StaffCaseNote.written_at, StaffCaseNote.id))
    return [{"note": cipher.decrypt(r.note_enc), "status": r.status, "by": r.written_by, "at": aware(r.written_at)}
            for r in rows]


# ------------------------------------------------------------------ the review queue

OPEN_STATUSES = ("submitted", "under_review")
QUEUE_PAGE_SIZE = 50
_REFERENCE = re.compile(r"^(LD-\d{4}-\d{6,}|H-\d{6,}|U-\d{6,})$")


def urgent_reference(record: UrgentRecord) -> str:
    return f"U-{record.id:06d}"


def handoff_reference(record: HandoffRequest) -> str:
    return f"H-{record.id:06d}"


def normalise_reference(text: str) -> str | None:
    """'ld-2026-000123 ' → 'LD-2026-000123'; None if it does not look like one of our references."""
    cleaned = re.sub(r"\s+", "", text or "").upper().replace("—", "-").replace("－", "-")
    return cleaned if _REFERENCE.match(cleaned) else None


@dataclass
class QueueFilter:
    status: str = "open"  # open (submitted + under review), all, or one status
    situation: str = ""
    area: str = ""  # narrows the user's area: a 6/9/12-digit code inside it
    since: dt.date | None = None
    until: dt.date | None = None
    reference: str = ""
    order: str = "newest"  # newest / oldest
    page: int = 1


_QUEUE_COLUMNS = (AssistanceRequest.id, AssistanceRequest.reference, AssistanceRequest.status,
                  AssistanceRequest.urgency, AssistanceRequest.situations, AssistanceRequest.area_code,
                  AssistanceRequest.residence_name, AssistanceRequest.child_age, AssistanceRequest.channel,
                  AssistanceRequest.referral, AssistanceRequest.created_at,
                  AssistanceRequest.deletion_requested_at)


def situation_clause(column, code: str) -> ColumnElement[bool]:
    """A comma-separated code list contains ``code``."""
    return (literal(",") + column + literal(",")).like(f"%,{code},%")


def _request_conditions(user_area: str, f: QueueFilter) -> list[ColumnElement[bool]]:
    conditions = [area_clause(AssistanceRequest.area_code, user_area)]
    if f.area and f.area != user_area:
        conditions.append(area_clause(AssistanceRequest.area_code, f.area))
    if f.status == "open":
        conditions.append(AssistanceRequest.status.in_(OPEN_STATUSES))
    elif f.status and f.status != "all":
        conditions.append(AssistanceRequest.status == f.status)
    if f.situation:
        conditions.append(situation_clause(AssistanceRequest.situations, f.situation))
    if f.since:
        conditions.append(AssistanceRequest.created_at >= day_start(f.since))
    if f.until:
        conditions.append(AssistanceRequest.created_at < day_start(f.until + dt.timedelta(days=1)))
    if f.reference:
        conditions.append(AssistanceRequest.reference == f.reference)
    return conditions


def queue_page(*, session: Session, user_area: str, f: QueueFilter, per_page: int = QUEUE_PAGE_SIZE) -> Page:
    """One page of requests (no personal fields): the filter's conditions, the area in the SQL."""
    conditions = _request_conditions(user_area, f)
    total = session.scalar(select(func.count()).select_from(AssistanceRequest).where(*conditions))
    order = (AssistanceRequest.created_at.asc(), AssistanceRequest.id.asc()) if f.order == "oldest" else \
        (AssistanceRequest.created_at.desc(), AssistanceRequest.id.desc())
    page = max(1, min(f.page, max(1, -(-total // per_page))))
    rows = session.execute(select(*_QUEUE_COLUMNS).where(*conditions).order_by(*order)
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(rows), total, page, per_page)


# Urgent records and handoff requests carry the family's district, when the conversation knew it.
# One without it is the area's whose requests came from the same conversation (the referring
# committee's community, or the residence district); with neither, its place is unknown and it
# is on the national admins' queue, in its own "地区未知" list.
CASE_PAGE_SIZE = 50
CASE_KINDS = {"urgent": (UrgentRecord, "new"), "handoff": (HandoffRequest, "open")}


def _requests_of(model):
    return select(AssistanceRequest.id).where(AssistanceRequest.conversation_id == model.conversation_id)


def case_place_clause(model, user_area: str) -> ColumnElement[bool]:
    """Urgent records / handoffs (``model``) the area is responsible for: their district inside it,
    or — none known — a request of the same conversation inside it. National: all."""
    if not area_prefix(user_area):
        return true()
    return or_(area_clause(model.locality, user_area),
               and_(model.locality.is_(None),
                    exists(_requests_of(model).where(area_clause(AssistanceRequest.area_code, user_area)))))


def unknown_place_clause(model) -> ColumnElement[bool]:
    """No district, and no request from the same conversation to take one from."""
    return and_(model.locality.is_(None), ~exists(_requests_of(model)))


def case_places(session: Session, record) -> list[str]:
    """The area codes an urgent record or handoff belongs to (empty: unknown)."""
    if record.locality:
        return [record.locality]
    return sorted(set(session.scalars(select(AssistanceRequest.area_code)
                                      .where(AssistanceRequest.conversation_id == record.conversation_id))))


def case_visible(session: Session, record, user_area: str) -> bool:
    if not area_prefix(user_area):
        return True
    return any(in_area(code, user_area) for code in case_places(session, record))


def open_cases_page(*, session: Session, kind: str, user_area: str, sub_area: str = "", page: int = 1,
                    per_page: int = CASE_PAGE_SIZE, place: str = "all") -> Page:
    """One page of the open urgent records (newest first) or handoffs (oldest first) of the area,
    with the exact total. ``place``: all / known / unknown (national admins see the unknown apart)."""
    model, open_status = CASE_KINDS[kind]
    conditions = [model.status == open_status, case_place_clause(model, user_area)]
    if sub_area and sub_area != user_area:
        conditions.append(case_place_clause(model, sub_area))
    if place == "unknown":
        conditions.append(unknown_place_clause(model))
    elif place == "known":
        conditions.append(~unknown_place_clause(model))
    total = session.scalar(select(func.count()).select_from(model).where(*conditions))
    page = max(1, min(page, max(1, -(-total // per_page))))
    request_area = (select(func.min(AssistanceRequest.area_code))
                    .where(AssistanceRequest.conversation_id == model.conversation_id)
                    .scalar_subquery().label("request_area"))
    columns = [model.id, model.locality, model.channel, model.created_at, request_area]
    if kind == "urgent":
        columns += [model.kinds, model.detected_by, model.stood_down_at]
        order = (model.created_at.desc(), model.id.desc())
    else:
        order = (model.created_at.asc(), model.id.asc())
    rows = session.execute(select(*columns).where(*conditions).order_by(*order)
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(rows), total, page, per_page)


def open_urgent_records(*, session: Session, user_area: str, sub_area: str = "", limit: int = CASE_PAGE_SIZE) -> list:
    """The first page of :func:`open_cases_page` for urgent records."""
    return open_cases_page(session=session, kind="urgent", user_area=user_area, sub_area=sub_area,
                           per_page=limit).rows


def open_handoffs(*, session: Session, user_area: str, sub_area: str = "", limit: int = CASE_PAGE_SIZE) -> list:
    return open_cases_page(session=session, kind="handoff", user_area=user_area, sub_area=sub_area,
                           per_page=limit).rows


# ------------------------------------------------------------------ dashboard

SITUATION_CODES = ("family_hardship", "disability", "guardianship_gap", "vagrancy", "psych_behavior",
                   "self_request")
REVIEW_DUE_WITHIN = dt.timedelta(days=14)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def month_expression(session: Session, column):
    """YYYY-MM of a timestamp in Beijing time, in either database."""
    if _dialect(session) == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+8 hours")


def child_area_length(user_area: str) -> int:
    """The level one below the user's area, for grouping: national → district, district → street..."""
    prefix = area_prefix(user_area)
    return {0: 6, 6: 9, 9: 12}.get(len(prefix), 12)


@dataclass
class Dashboard:
    by_status: list[tuple[str, int]]
    by_situation: list[tuple[str, int]]
    by_area: list[tuple[str, int]]
    by_month: list[tuple[str, int]]
    total: int
    open_urgent: int
    open_handoffs: int
    active_entries: int
    overdue_visits: int
    reviews_due: int


def dashboard(*, session: Session, user_area: str, today: dt.date, months: int = 12) -> Dashboard:
    in_area_ = area_clause(AssistanceRequest.area_code, user_area)
    sums = [func.coalesce(func.sum(case((situation_clause(AssistanceRequest.situations, code), 1), else_=0)), 0)
            for code in SITUATION_CODES]
    by_status: dict[str, int] = {}
    situation_counts = [0] * len(SITUATION_CODES)
    for status, n, *per_situation in session.execute(  # one pass for both
            select(AssistanceRequest.status, func.count(), *sums).where(in_area_).group_by(AssistanceRequest.status)):
        by_status[status] = n
        situation_counts = [a + int(b or 0) for a, b in zip(situation_counts, per_situation)]
    length = child_area_length(user_area)
    area_key = func.substr(AssistanceRequest.area_code, 1, length)
    by_area = session.execute(select(area_key, func.count()).where(in_area_).group_by(area_key)
                              .order_by(func.count().desc()).limit(30)).all()
    first_month = dt.date(today.year, today.month, 1)
    for _ in range(months - 1):
        first_month = (first_month - dt.timedelta(days=1)).replace(day=1)
    month = month_expression(session, AssistanceRequest.created_at)
    by_month = dict(session.execute(select(month, func.count())
                                    .where(in_area_, AssistanceRequest.created_at >= day_start(first_month))
                                    .group_by(month)).all())
    month_keys, cursor = [], first_month
    while cursor <= today:
        month_keys.append(f"{cursor:%Y-%m}")
        cursor = (cursor + dt.timedelta(days=32)).replace(day=1)
    entry_area = area_clause(LedgerEntry.locality, user_area)
    active = and_(entry_area, LedgerEntry.status == "active")
    count = lambda *conds: session.scalar(select(func.count()).select_from(LedgerEntry).where(*conds))  # noqa: E731
    return Dashboard(
        by_status=[(s, by_status.get(s, 0)) for s in ("submitted", "under_review", "accepted", "referred",
                                                      "not_eligible", "closed")],
        by_situation=list(zip(SITUATION_CODES, situation_counts)),
        by_area=[(code, n) for code, n in by_area],
        by_month=[(m, by_month.get(m, 0)) for m in month_keys],
        total=sum(by_status.values()),
        open_urgent=session.scalar(select(func.count()).select_from(UrgentRecord).where(
            UrgentRecord.status == "new", case_place_clause(UrgentRecord, user_area))),
        open_handoffs=session.scalar(select(func.count()).select_from(HandoffRequest).where(
            HandoffRequest.status == "open", case_place_clause(HandoffRequest, user_area))),
        active_entries=count(active),
        overdue_visits=count(active, LedgerEntry.next_visit_on < today),
        reviews_due=count(active, LedgerEntry.next_review_on <= today + REVIEW_DUE_WITHIN),
    )


# ------------------------------------------------------------------ the ledger, visits due, export

def _last_visit():
    return (select(Visit.entry_id, func.max(Visit.visited_on).label("last_visit_on"))
            .group_by(Visit.entry_id).subquery())


def _ledger_select(last):
    return (select(LedgerEntry.id.label("entry_id"), LedgerEntry.locality, LedgerEntry.accepted_at,
                   LedgerEntry.next_visit_on, LedgerEntry.next_review_on, LedgerEntry.status.label("entry_status"),
                   AssistanceRequest.reference, AssistanceRequest.situations, AssistanceRequest.child_age,
                   AssistanceRequest.residence_name, last.c.last_visit_on)
            .join(AssistanceRequest, AssistanceRequest.id == LedgerEntry.request_id)
            .outerjoin(last, last.c.entry_id == LedgerEntry.id))


LEDGER_VIEWS = {"active": "在册", "overdue": "走访已逾期", "review": "14天内需复核", "closed": "已结案", "all": "全部"}


def ledger_page(*, session: Session, user_area: str, view: str, today: dt.date, page: int = 1,
                per_page: int = QUEUE_PAGE_SIZE, sub_area: str = "") -> Page:
    conditions = [area_clause(LedgerEntry.locality, user_area)]
    if sub_area and sub_area != user_area:
        conditions.append(area_clause(LedgerEntry.locality, sub_area))
    if view in ("active", "overdue", "review"):
        conditions.append(LedgerEntry.status == "active")
    if view == "overdue":
        conditions.append(LedgerEntry.next_visit_on < today)
    elif view == "review":
        conditions.append(LedgerEntry.next_review_on <= today + REVIEW_DUE_WITHIN)
    elif view == "closed":
        conditions.append(LedgerEntry.status == "closed")
    total = session.scalar(select(func.count()).select_from(LedgerEntry).where(*conditions))
    order = {"overdue": (LedgerEntry.next_visit_on.asc(),),
             "review": (LedgerEntry.next_review_on.asc(),)}.get(view, (LedgerEntry.accepted_at.desc(),))
    page = max(1, min(page, max(1, -(-total // per_page))))
    rows = session.execute(_ledger_select(_last_visit()).where(*conditions)
                           .order_by(*order, LedgerEntry.id).limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(rows), total, page, per_page)


def due_lists(*, session: Session, user_area: str, today: dt.date, limit: int = 200) -> tuple[list, list]:
    """(overdue visits, reviews due within 14 days) of the active ledger entries in the area."""
    base = [area_clause(LedgerEntry.locality, user_area), LedgerEntry.status == "active"]
    last = _last_visit()
    overdue = session.execute(_ledger_select(last).where(*base, LedgerEntry.next_visit_on < today)
                              .order_by(LedgerEntry.next_visit_on, LedgerEntry.id).limit(limit)).all()
    reviews = session.execute(_ledger_select(last).where(*base, LedgerEntry.next_review_on <= today + REVIEW_DUE_WITHIN)
                              .order_by(LedgerEntry.next_review_on, LedgerEntry.id).limit(limit)).all()
    return list(overdue), list(reviews)


def export_rows(*, session: Session, cipher: DataCipher, user_area: str, include_closed: bool = False,
                situation_labels: dict[str, str] | None = None, status_labels: dict[str, str] | None = None,
                batch: int = 1000):
    """Ledger rows for the export (decrypted; the caller audits the export). A generator."""
    last = _last_visit()
    conditions = [area_clause(LedgerEntry.locality, user_area)]
    if not include_closed:
        conditions.append(LedgerEntry.status == "active")
    query = (select(LedgerEntry, AssistanceRequest, last.c.last_visit_on)
             .join(AssistanceRequest, AssistanceRequest.id == LedgerEntry.request_id)
             .outerjoin(last, last.c.entry_id == LedgerEntry.id)
             .where(*conditions).order_by(LedgerEntry.accepted_at, LedgerEntry.id))
    labels = status_labels or {}
    for entry, request, last_visit_on in session.execute(query.execution_options(yield_per=batch)):
        detail = cipher.decrypt(request.residence_detail_enc) or ""
        yield {
            "reference": request.reference,
            "child_name": cipher.decrypt(request.child_name_enc),
            "child_age": request.child_age,
            "hukou": request.hukou_name,
            "residence": f"{request.residence_name} {detail}".strip(),
            "months_at_residence": request.months_at_residence,
            "guardian_name": cipher.decrypt(request.guardian_name_enc),
            "guardian_relation": request.guardian_relation,
            "guardian_phone": cipher.decrypt(request.guardian_phone_enc),
            "situations": [s for s in request.situations.split(",") if s],
            "area_code": request.area_code,
            "accepted_on": beijing_date(entry.accepted_at),
            "last_visit_on": last_visit_on,
            "next_visit_on": entry.next_visit_on,
            "next_review_on": entry.next_review_on,
            "status": labels.get(entry.status, entry.status),
        }


# ------------------------------------------------------------------ committees

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
COMMITTEE_CODE = re.compile(r"^[A-Za-z0-9_-]{4,32}$")


def new_committee_code(session: Session) -> str:
    for _ in range(20):
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
        if session.scalar(select(func.count()).select_from(Committee).where(Committee.code == code)) == 0:
            return code
    raise StaffError("无法生成推荐码，请重试")


@dataclass
class CommitteeRow:
    committee: Committee
    requests: int = 0
    families: int = 0
    accepted: int = 0


def committees_with_counts(*, session: Session, user_area: str, include_inactive: bool = True) -> list[CommitteeRow]:
    conditions = [area_clause(Committee.locality_code, user_area)]
    if not include_inactive:
        conditions.append(Committee.active.is_(True))
    committees = list(session.scalars(select(Committee).where(*conditions)
                                      .order_by(Committee.locality_code, Committee.name, Committee.id)))
    if not committees:
        return []
    codes = [c.code for c in committees]
    counts = {code: (n, fam, acc) for code, n, fam, acc in session.execute(
        select(AssistanceRequest.referral, func.count(),
               func.count(func.distinct(AssistanceRequest.guardian_phone_hash)),
               func.coalesce(func.sum(case((AssistanceRequest.status == "accepted", 1), else_=0)), 0))
        .where(AssistanceRequest.referral.in_(codes)).group_by(AssistanceRequest.referral))}
    return [CommitteeRow(c, *counts.get(c.code, (0, 0, 0))) for c in committees]


def create_committee(*, session: Session, name: str, locality_code: str, locality_name: str, code: str | None,
                     actor: str, now: dt.datetime | None = None) -> Committee:
    code = (code or "").strip() or new_committee_code(session)
    if not COMMITTEE_CODE.match(code):
        raise StaffError("推荐码须为 4–32 位字母、数字、下划线或短横线")
    if session.scalar(select(func.count()).select_from(Committee).where(func.lower(Committee.code) == code.lower())):
        raise StaffError(f"推荐码 {code} 已被使用，请换一个")
    committee = Committee(code=code, name=name, locality_code=locality_code, locality_name=locality_name,
                          active=True, created_at=now or utcnow(), created_by=actor)
    session.add(committee)
    session.flush()
    audit(session, actor=actor, action="committee.create", target=f"committee:{committee.id}",
          detail=f"code={code} locality={locality_code}")
    return committee


def locality_names(session: Session, codes) -> dict[str, str]:
    """Names the committees table knows for street and community codes (the gazetteer stops at districts)."""
    wanted = sorted({c for c in codes if c and len(c) > 6})
    if not wanted:
        return {}
    return dict(session.execute(select(Committee.locality_code, func.min(Committee.locality_name))
                                .where(Committee.locality_code.in_(wanted)).group_by(Committee.locality_code)).all())
