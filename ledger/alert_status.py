"""What staff see of the duty alerts (``ledger/alerting.py`` sends them): an urgent record's ladder
step by step, the time to acknowledge, and whether alerts are getting through — for the record's page,
the dashboard and ``/healthz``."""

from __future__ import annotations

import datetime as dt
import json
from statistics import median

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from ledger.areas import area_clause, area_prefix
from ledger.cases import case_place_clause
from ledger.clock import aware, utcnow
from ledger.duty_models import AlertDelivery, AlertTarget, UrgentAlert
from ledger.models import UrgentRecord
from ledger.staff_models import StaffUser

FAILING_WINDOW = dt.timedelta(hours=24)


ALERT_CHANNEL_LABELS = {"wecom_robot": "企业微信群机器人", "wecom_app": "企业微信应用消息", "email": "电子邮件",
                        "sms": "短信"}
STATUS_LABELS = {"pending": "待发送", "sending": "发送中", "sent": "已送达", "failed": "发送失败", "cancelled": "已确认，未再发送"}


def timeline(session: Session, alert: UrgentAlert) -> list[dict]:
    """The ladder step by step, for the record's page: each step's recipients, how each delivery
    went (channel, time, error), and which steps were never needed."""
    ladder = json.loads(alert.ladder)
    deliveries = session.scalars(select(AlertDelivery).where(AlertDelivery.alert_id == alert.id)
                                 .order_by(AlertDelivery.step, AlertDelivery.id)).all()
    by_step: dict[int, list[AlertDelivery]] = {}
    for delivery in deliveries:
        by_step.setdefault(delivery.step, []).append(delivery)
    steps = []
    for index, step in enumerate(ladder):
        labels = step.get("labels", {})
        steps.append({"number": index + 1, "label": step.get("label", ""), "reached": index <= alert.step,
                      "deliveries": [{"recipient": labels.get(d.recipient) or step.get("label", d.recipient), "status": d.status,
                                      "status_label": STATUS_LABELS.get(d.status, d.status), "via": d.via,
                                      "sent_at": aware(d.sent_at) if d.sent_at else None, "error": d.last_error,
                                      "attempts": d.attempts}
                                     for d in by_step.get(index, [])]})
    return steps


def ack_stats(session: Session, *, user_area: str, since: dt.datetime) -> dict:
    """Time to acknowledge the area's alerts since ``since`` (minutes): how many, acknowledged,
    median and slowest; and how many are waiting now."""
    rows = session.execute(select(UrgentAlert.created_at, UrgentAlert.acknowledged_at)
                           .join(UrgentRecord, UrgentRecord.id == UrgentAlert.urgent_record_id)
                           .where(UrgentAlert.created_at >= since,
                                  case_place_clause(UrgentRecord, user_area))).all()
    minutes = sorted((aware(acked) - aware(created)).total_seconds() / 60 for created, acked in rows if acked)
    waiting = sum(1 for _, acked in rows if acked is None)
    return {"alerts": len(rows), "acknowledged": len(minutes), "waiting": waiting,
            "median_minutes": round(median(minutes), 1) if minutes else None,
            "max_minutes": round(minutes[-1], 1) if minutes else None}


def health(session: Session, *, user_area: str | None = None, now: dt.datetime | None = None) -> dict:
    """Whether alerts are getting through (the records of ``user_area``; None: all): deliveries
    given up in the last day, ones overdue by more than a minute, open records of the last day that
    reached nobody (an empty ladder, or every step failed), and targets whose last attempt failed.
    ``ok`` false when any."""
    now = now or utcnow()
    since = now - FAILING_WINDOW
    scoped = user_area is not None and bool(area_prefix(user_area))
    alerts = select(UrgentAlert.id).join(UrgentRecord, UrgentRecord.id == UrgentAlert.urgent_record_id)
    if scoped:
        alerts = alerts.where(case_place_clause(UrgentRecord, user_area))

    def deliveries(*conditions) -> int:
        query = select(func.count()).select_from(AlertDelivery).where(*conditions)
        if scoped:
            query = query.where(AlertDelivery.alert_id.in_(alerts))
        return session.scalar(query) or 0

    failed = deliveries(AlertDelivery.status == "failed", AlertDelivery.created_at >= since)
    overdue = deliveries(AlertDelivery.status.in_(("pending", "sending")),
                         AlertDelivery.created_at <= now - dt.timedelta(minutes=1))
    reaching = exists(select(AlertDelivery.id).where(AlertDelivery.alert_id == UrgentAlert.id,
                                                     AlertDelivery.status.in_(("pending", "sending", "sent"))))
    unreached = session.scalar(select(func.count()).select_from(
        alerts.where(UrgentRecord.status == "new", UrgentAlert.created_at >= since,
                     UrgentAlert.acknowledged_at.is_(None), UrgentAlert.next_step_at.is_(None), ~reaching)
        .subquery())) or 0
    broken = select(AlertTarget).where(AlertTarget.active.is_(True), AlertTarget.last_error_at.is_not(None),
                                       or_(AlertTarget.last_ok_at.is_(None),
                                           AlertTarget.last_ok_at < AlertTarget.last_error_at))
    if scoped:
        broken = broken.where(or_(area_clause(AlertTarget.area_code, user_area),
                                  AlertTarget.user_id.in_(select(StaffUser.id)
                                                          .where(area_clause(StaffUser.area_code, user_area)))))
    broken_targets = list(session.scalars(broken.order_by(AlertTarget.id)))
    return {"ok": not (failed or overdue or unreached or broken_targets), "failed": failed, "overdue": overdue,
            "unreached": unreached, "broken_targets": broken_targets}
