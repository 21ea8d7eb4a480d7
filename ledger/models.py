"""Ledger tables (SQLAlchemy 2.x typed models).

Columns ending in ``_enc`` hold Fernet ciphertext (see ``ledger/crypto.py``); columns
ending in ``_hash`` hold keyed hashes for lookups without decrypting.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Conversation(Base):
    """One parent's conversation: who (encrypted), on which channel, and its dialogue state."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    sender_enc: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(32), default="rest")
    state_enc: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)


class HandoffRequest(Base):
    """A parent asked for a person; staff of the family's area follow up."""

    __tablename__ = "handoff_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    locality: Mapped[str | None] = mapped_column(String(12), index=True)
    reason_enc: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now, index=True)
    handled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    handled_by: Mapped[str | None] = mapped_column(String(64))


class UrgentRecord(Base):
    """A message the safety net flagged: a child possibly in danger. Staff see these first."""

    __tablename__ = "urgent_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    locality: Mapped[str | None] = mapped_column(String(12), index=True)
    kinds: Mapped[str] = mapped_column(String(200))  # comma-separated danger kinds
    detected_by: Mapped[str] = mapped_column(String(32))  # patterns / classifier / both
    message_enc: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now, index=True)
