"""Tables of the staff review app: accounts, server-side sessions, login failures, drafts,
case notes and staged checklist uploads (migration ``0004_staff``).

They share ``Base`` with ``ledger.models``; ``ledger/schema.py`` holds both modules' tables in one
metadata (Alembic, the key rotation, ``drop_everything``). Sessions, drafts and staged uploads are
found by the SHA-256 of a random token the browser holds; the token itself is never stored.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.clock import utcnow
from ledger.models import AssistanceRequest, Base


class StaffUser(Base):
    """A staff account: a role and the area (administrative code) it may see and change."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(20))  # admin / civil_affairs / supervisor / director / committee
    area_code: Mapped[str] = mapped_column(String(12))  # "national", 6, 9 or 12 digits
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class _FoundByToken:
    """A user's row found by the SHA-256 of the random token the browser holds (a session, a draft,
    a staged upload)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)


class StaffSession(_FoundByToken, Base):
    """A logged-in browser. Idle and absolute expiry; ``revoked_at`` on logout or account disable."""

    __tablename__ = "staff_sessions"

    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    client_ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class StaffLoginFailure(Base):
    """One failed login, keyed ``user:<name>`` and ``ip:<address>``; counted in a sliding window."""

    __tablename__ = "staff_login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_staff_login_failures_key_at", "key", "at"),)


class StaffDraft(_FoundByToken, Base):
    """Form text a user was submitting when the session expired (encrypted, short-lived)."""

    __tablename__ = "staff_drafts"

    page: Mapped[str] = mapped_column(String(300))
    fields_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class StaffCaseNote(Base):
    """A note staff wrote while handling an urgent record or a handoff request (encrypted)."""

    __tablename__ = "staff_case_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_kind: Mapped[str] = mapped_column(String(16))  # urgent / handoff
    target_id: Mapped[int] = mapped_column(Integer)
    note_enc: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # the status set with this note
    written_by: Mapped[str] = mapped_column(String(64))
    written_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_staff_case_notes_target", "target_kind", "target_id"),)


class StagedChecklist(_FoundByToken, Base):
    """A parsed checklist upload waiting for the uploader to confirm publishing."""

    __tablename__ = "staff_staged_checklists"

    source_name: Mapped[str] = mapped_column(String(200), default="")
    yaml_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


# Indexes for the staff queue on a table the ledger owns: newest first within a status, and
# within an area (area_code range / LIKE 'prefix%').
_requests = AssistanceRequest.__table__
Index("ix_assistance_requests_status_created", _requests.c.status, _requests.c.created_at)
Index("ix_assistance_requests_area_created", _requests.c.area_code, _requests.c.created_at)
