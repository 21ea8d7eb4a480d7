"""Ledger tables (SQLAlchemy 2.x typed models).

Columns ending in ``_enc`` hold Fernet ciphertext (see ``ledger/crypto.py``); columns
ending in ``_hash`` hold keyed hashes for lookups without decrypting.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ledger.clock import utcnow


class Base(DeclarativeBase):
    pass


class Conversation(Base):
    """One parent's conversation: who (encrypted), on which channel, and its dialogue state."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    sender_enc: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(32), default="rest")
    state_enc: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    deletion_requested_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The parent blocked the bot (Telegram answered 403): nothing more is sent until they write again.
    blocked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class _ConversationCase:
    """The columns a case staff follow up shares (an urgent record, a handoff request): the
    conversation it came from, on which channel, in which area."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    locality: Mapped[str | None] = mapped_column(String(12), index=True)


class HandoffRequest(_ConversationCase, Base):
    """A parent asked for a person; staff of the family's area follow up."""

    __tablename__ = "handoff_requests"

    reason_enc: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    handled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    handled_by: Mapped[str | None] = mapped_column(String(64))


class UrgentRecord(_ConversationCase, Base):
    """A message the safety net flagged: a child possibly in danger. Staff see these first."""

    __tablename__ = "urgent_records"

    kinds: Mapped[str] = mapped_column(String(200))  # comma-separated danger kinds
    detected_by: Mapped[str] = mapped_column(String(32))  # patterns / classifier / both
    message_enc: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    # The same conversation flagged again while this record was open: counted here (and the
    # record moves up the queue) instead of a new record per message.
    repeats: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The parent said since that the danger is over ("孩子找到了", "虚惊一场"): shown to staff, who
    # still confirm with the family; the record stays open. Cleared when a new danger comes in.
    stood_down_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AssistanceRequest(Base):
    """A request for help filed through the chat form (one row per child per filing)."""

    __tablename__ = "assistance_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True, index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    referral: Mapped[str | None] = mapped_column(String(64), index=True)
    child_name_enc: Mapped[str] = mapped_column(Text)
    child_key_hash: Mapped[str] = mapped_column(String(64), index=True)  # name + guardian phone
    child_age: Mapped[int] = mapped_column(Integer)
    hukou_code: Mapped[str] = mapped_column(String(12))
    hukou_name: Mapped[str] = mapped_column(String(100))
    residence_code: Mapped[str] = mapped_column(String(12), index=True)  # district of residence
    # The most specific known area (a referring committee's community, else the district):
    # staff see a request when this code lies inside their area.
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    residence_name: Mapped[str] = mapped_column(String(100))
    residence_detail_enc: Mapped[str] = mapped_column(Text)  # street as typed
    months_at_residence: Mapped[float] = mapped_column()
    guardian_name_enc: Mapped[str] = mapped_column(Text)
    guardian_relation: Mapped[str] = mapped_column(String(20))
    guardian_phone_enc: Mapped[str] = mapped_column(Text)
    guardian_phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    situations: Mapped[str] = mapped_column(String(200))  # comma-separated codes
    description_enc: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24), default="submitted", index=True)
    urgency: Mapped[str] = mapped_column(String(16), default="normal", index=True)
    consent_notice_version: Mapped[str] = mapped_column(String(20))
    consent_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("assistance_requests.id"))
    deletion_requested_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    # Personal fields overwritten and lookup hashes replaced (``ledger/retention.py``); the
    # non-identifying columns (category, district, dates, status) stay for statistics.
    anonymised_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # A parent asked for deletion but the case file must be kept: why (shown to staff and told
    # to the parent) and until when (None: until the case closes, then ``retention.case_days``).
    kept_reason: Mapped[str | None] = mapped_column(String(200))
    kept_until: Mapped[dt.date | None] = mapped_column()


class StatusChange(Base):
    """Every status a request has had, with who changed it and why."""

    __tablename__ = "status_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("assistance_requests.id"), index=True)
    status: Mapped[str] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(Text, default="")
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    notification_queued = False  # not stored: set by ledger.casework.change_status


class LedgerEntry(Base):
    """A request accepted into the priority-care ledger (重点关爱服务对象信息台账)."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("assistance_requests.id"), unique=True)
    locality: Mapped[str] = mapped_column(String(12), index=True)
    accepted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    next_visit_on: Mapped[dt.date | None] = mapped_column()
    next_review_on: Mapped[dt.date | None] = mapped_column(index=True)  # six-monthly review
    status: Mapped[str] = mapped_column(String(16), default="active")


class Visit(Base):
    """A home visit (走访探视) to a ledger child."""

    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    visited_on: Mapped[dt.date] = mapped_column()
    visitor: Mapped[str] = mapped_column(String(64))
    findings_enc: Mapped[str] = mapped_column(Text)
    next_visit_on: Mapped[dt.date | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEvent(Base):
    """Who did or saw what, and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str] = mapped_column(String(80))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class Committee(Base):
    """A community committee (社区居委会) that refers families with its own code."""

    __tablename__ = "committees"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # the deep-link payload
    name: Mapped[str] = mapped_column(String(100))
    locality_code: Mapped[str] = mapped_column(String(12), index=True)  # community, street or district
    locality_name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="")


class ConversationMessage(Base):
    """The transcript: each message in and out, encrypted; staff read it beside a request."""

    __tablename__ = "conversation_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # in / out
    text_enc: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TelegramUpdate(Base):
    """Telegram update ids already processed: a second delivery of one is ignored."""

    __tablename__ = "telegram_updates"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class WeChatMessage(Base):
    """WeChat callbacks already processed, by a keyed hash of their identity (a message's MsgId; an
    event's sender, time and kind): WeChat's retries of one are ignored (``bot/wechat``)."""

    __tablename__ = "wechat_messages"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class WeChatToken(Base):
    """The WeChat API access token every worker shares, one per account, refreshed by one of them at
    a time under the row's lock (``bot/wechat/tokens.py``)."""

    __tablename__ = "wechat_tokens"

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_enc: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    refreshed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class WeChatQrCode(Base):
    """A committee's WeChat referral QR code (带参数二维码, a permanent string scene = the committee
    code), one per account and committee, created once through WeChat's API (``tongban wechat
    qrcode``) and printed on the committee's poster beside the Telegram link."""

    __tablename__ = "wechat_qrcodes"

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    scene: Mapped[str] = mapped_column(String(64), primary_key=True)  # the committee code
    ticket: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(200))  # what the QR code encodes (http://weixin.qq.com/q/…)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OutboxMessage(Base):
    """A message to deliver to a parent: replies and status notifications.

    Written in the same transaction as the change that causes it, delivered afterwards in
    ``id`` order per conversation; ``dedupe_key`` makes each notification exist once.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # reply / notification
    dedupe_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    payload_enc: Mapped[str] = mapped_column(Text)  # JSON: op, text, buttons, message_id...
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending/sending/sent/blocked/failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # how it went, where the channel has more than one way: WeChat "passive" (the callback's reply),
    # "custom" (customer-service message), "template" (template message, outside the 48 hours)
    delivered_via: Mapped[str | None] = mapped_column(String(16))


class RateCounter(Base):
    """Events counted per client and time window (``ledger/ratelimit.py``); keys are hashed."""

    __tablename__ = "rate_counters"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False, index=True)
    hits: Mapped[int] = mapped_column(Integer)


class RetentionRun(Base):
    """One day's retention purge (``tongban ledger purge``): the first worker to insert the day's
    row runs it, the others skip; ``finished_at`` stays empty if it was interrupted."""

    __tablename__ = "retention_runs"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    worker: Mapped[str] = mapped_column(String(64), default="")
    summary: Mapped[str] = mapped_column(Text, default="")


class DataKeyCheck(Base):
    """A known value encrypted with the data key and its keyed hash (one row): a process whose
    key cannot decrypt it, or whose lookup hashes differ, refuses to start (``ledger/keys.py``)."""

    __tablename__ = "data_key_check"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    canary_enc: Mapped[str] = mapped_column(Text)
    canary_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    rotated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


# For the daily purge: old transcript messages, quiet conversations.
Index("ix_conversation_messages_at", ConversationMessage.__table__.c.at)
Index("ix_conversations_updated_at", Conversation.__table__.c.updated_at)
