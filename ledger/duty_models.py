"""Tables of the duty alerts (migration ``0010_duty``): who is on duty where and when, how each person
or area is reached, and what was sent for each urgent record, step by step.

- ``duty_shifts``: the weekly pattern of an area (district / street / community), in Beijing time;
  ``rank`` orders the people on duty at the same time (1 is alerted first).
- ``duty_exceptions``: a span (UTC instants) in which a person is on duty besides the pattern
  (``on_duty``) or is not, whatever the pattern says (leave, sickness).
- ``alert_targets``: how a person (``user_id``) or, as the area's fallback contact, an area
  (``area_code``, no user) is reached: a channel and its address (a WeCom robot key, a WeCom user
  id, an e-mail address, a phone number; encrypted), tried in ``position`` order, the next when one
  fails. Each keeps its last success and its last error, which the staff pages show.
- ``urgent_alerts``: one per urgent record: the ladder worked out when the record came in (JSON: the
  steps, each a person or an area's fallback, the last every admin of the area and above), the step
  reached, when the next one is due unless someone acknowledges, and who acknowledged when.
- ``alert_deliveries``: one alert to one recipient at one step (unique: several workers send each
  step once), delivered like the outbox's rows (a claim with a lease, retries with back-off); ``via``
  names the target that took it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.clock import utcnow
from ledger.models import Base


class DutyShift(Base):
    """A person on duty for an area every week on ``weekday`` (0 = Monday) from ``start_minute`` to
    ``end_minute`` (minutes after midnight, Beijing time; an end at or before the start runs past
    midnight into the next day)."""

    __tablename__ = "duty_shifts"
    __table_args__ = (Index("ix_duty_shifts_area_day", "area_code", "weekday"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_code: Mapped[str] = mapped_column(String(12))
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DutyException(Base):
    """From ``starts_at`` to ``ends_at`` the person is on duty for the area (``on_duty``, at ``rank``)
    or off it, whatever the weekly pattern says."""

    __tablename__ = "duty_exceptions"
    __table_args__ = (Index("ix_duty_exceptions_area_span", "area_code", "ends_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_code: Mapped[str] = mapped_column(String(12))
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True)
    rank: Mapped[int] = mapped_column(Integer, default=1)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AlertTarget(Base):
    """One way to reach a person (``user_id``) or an area's fallback contact (``area_code``)."""

    __tablename__ = "alert_targets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    area_code: Mapped[str | None] = mapped_column(String(12), index=True)
    channel: Mapped[str] = mapped_column(String(20))  # wecom_robot / wecom_app / email / sms
    address_enc: Mapped[str] = mapped_column(Text)
    address_hint: Mapped[str] = mapped_column(String(40), default="")  # masked, for the pages
    position: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_ok_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(300))
    last_error_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class UrgentAlert(Base):
    """The alerting of one urgent record: its ladder, the step reached, the acknowledgement."""

    __tablename__ = "urgent_alerts"
    __table_args__ = (Index("ix_urgent_alerts_due", "acknowledged_at", "next_step_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    urgent_record_id: Mapped[int] = mapped_column(ForeignKey("urgent_records.id"), unique=True)
    area_code: Mapped[str | None] = mapped_column(String(12))
    ladder: Mapped[str] = mapped_column(Text)  # JSON list of steps
    step: Mapped[int] = mapped_column(Integer, default=0)
    next_step_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AlertDelivery(Base):
    """One alert to one recipient at one step of an urgent record's ladder."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("alert_id", "step", "recipient", name="uq_alert_deliveries_step"),
                      Index("ix_alert_deliveries_due", "status", "next_attempt_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("urgent_alerts.id"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    recipient: Mapped[str] = mapped_column(String(40))  # user:<id> / area:<code>
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending/sending/sent/failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    via_target_id: Mapped[int | None] = mapped_column(ForeignKey("alert_targets.id"))
    via: Mapped[str | None] = mapped_column(String(20))
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
