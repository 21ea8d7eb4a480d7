"""Alerting the people on duty about an urgent record, and escalating until someone acknowledges.

Every urgent record gets one alert (``open_alert``; the unique ``urgent_record_id`` makes it one
whoever opens it): the ladder of whom to alert, worked out from the rosters at that moment
(``ledger.duty.ladder_for``), and the first step's deliveries. Unacknowledged ``escalate_after``
after a step, the next step is started (``escalate_due``; a conditional UPDATE on the step makes
it once among several workers, the unique (alert, step, recipient) makes each delivery once).
A step whose every delivery failed for good (no way to reach the person works) is not waited on:
the next starts at once.

Deliveries are sent like the outbox's messages (``ledger/outbox.py``): claimed with a lease that a
crashed sender loses, retried with the same back-off, given up after ``MAX_ATTEMPTS``. They are rows
of their own rather than outbox rows because the outbox delivers a parent's messages in order per
conversation: an alert must neither wait behind a parent's replies nor hold them up.

The acknowledgement link carries a token signed with the data key's keyed hash (no other secret to
keep), naming the delivery and an expiry; it acknowledges the alert once (the first to open it),
and afterwards only leads to the record. Nothing in an alert names the child or repeats the
parent's words: the kinds of danger, the area, the time, the reference and the link.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import re
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from ledger.audit import audit
from ledger.cases import DANGER_KIND_LABELS, case_places
from ledger.clock import aware, utcnow
from ledger.crypto import DataCipher
from ledger.db import insert_ignore
from ledger.duty import ladder_for, target_address, targets_of
from ledger.duty_models import AlertDelivery, AlertTarget, UrgentAlert
from ledger.models import AssistanceRequest, UrgentRecord
from ledger.outbox import CLAIM_LEASE, MAX_ATTEMPTS, backoff
from ledger.services import urgent_reference
from ledger.staff_models import StaffUser

log = logging.getLogger(__name__)
ESCALATE_AFTER = dt.timedelta(minutes=10)
LINK_TTL = dt.timedelta(hours=24)
OPEN_WINDOW = dt.timedelta(days=1)  # records older than this when alerting starts (an upgrade) are not alerted
DELIVERIES = AlertDelivery.__table__


@dataclass(frozen=True)
class Target:
    id: int
    channel: str
    address: str


@dataclass(frozen=True)
class DeliveryJob:
    """A claimed delivery with what the sender needs: where to send (targets in order), and the
    alert's facts — none of them personal."""

    id: int
    alert_id: int
    step: int  # 0-based
    steps: int
    recipient: str
    recipient_label: str
    targets: tuple[Target, ...]
    reference: str
    kinds: tuple[str, ...]  # labels
    area_code: str | None
    created_at: dt.datetime
    attempts: int


# ---------------------------------------------------------------- opening and escalating


def _to_open(now: dt.datetime):
    """Open urgent records of the last day without an alert."""
    has_alert = exists(select(UrgentAlert.id).where(UrgentAlert.urgent_record_id == UrgentRecord.id))
    return and_(UrgentRecord.status == "new", UrgentRecord.created_at >= now - OPEN_WINDOW, ~has_alert)


def _to_escalate(now: dt.datetime):
    """Unacknowledged alerts whose next step is due."""
    return and_(UrgentAlert.acknowledged_at.is_(None), UrgentAlert.next_step_at <= now)


def records_to_alert(session: Session, *, now: dt.datetime | None = None, limit: int = 100) -> list[int]:
    """Open urgent records of the last day that have no alert yet, oldest first."""
    return list(session.scalars(select(UrgentRecord.id).where(_to_open(now or utcnow()))
                                .order_by(UrgentRecord.id).limit(limit)))


def work_waiting(connection, *, now: dt.datetime | None = None) -> bool:
    """Whether a pass has anything to do — a record to alert, a step due, a delivery due — in one
    read (no write lock: on SQLite an idle loop must not take the writers' lock every second)."""
    now = now or utcnow()
    due = or_(exists(select(UrgentRecord.id).where(_to_open(now))),
              exists(select(UrgentAlert.id).where(_to_escalate(now))),
              exists(select(AlertDelivery.id).where(_due(now))))
    return bool(connection.execute(select(due)).scalar())


def record_area(session: Session, record: UrgentRecord) -> str | None:
    """The area whose rosters are alerted: the most precise place known — a request of the same
    conversation in the record's district names its community (the committee that referred the
    family), so the community's and the street's people on duty come first — else the district;
    None when unknown (the national admins are alerted)."""
    requested = set(session.scalars(select(AssistanceRequest.area_code)
                                    .where(AssistanceRequest.conversation_id == record.conversation_id)))
    if record.locality:
        inside = [code for code in requested if code and code.startswith(record.locality)]
        return max(inside, key=lambda code: (len(code), code)) if inside else record.locality
    places = case_places(session, record)
    return max(places, key=lambda code: (len(code), code)) if places else None


def open_alert(session: Session, record: UrgentRecord, *, now: dt.datetime | None = None,
               escalate_after: dt.timedelta = ESCALATE_AFTER) -> UrgentAlert | None:
    """The record's alert with its first step queued; None when another worker opened it first."""
    now = now or utcnow()
    area = record_area(session, record)
    ladder = ladder_for(session, area, now)
    inserted = insert_ignore(session.connection(), UrgentAlert.__table__, ["urgent_record_id"],
                             urgent_record_id=record.id, area_code=area, ladder=json.dumps(ladder, ensure_ascii=False),
                             step=0, next_step_at=None, created_at=now)
    if not inserted:
        return None
    alert = session.scalar(select(UrgentAlert).where(UrgentAlert.urgent_record_id == record.id))
    if ladder:
        _start_step(session, alert, 0, ladder, now=now, escalate_after=escalate_after)
    else:
        log.error("urgent record %s: nobody can be alerted (no roster, fallback or admin with a way to reach them)",
                  urgent_reference(record))
    return alert


def _start_step(session: Session, alert: UrgentAlert, index: int, ladder: list[dict], *, now: dt.datetime,
                escalate_after: dt.timedelta) -> None:
    connection = session.connection()
    for recipient in ladder[index]["recipients"]:
        insert_ignore(connection, DELIVERIES, ["alert_id", "step", "recipient"], alert_id=alert.id, step=index,
                      recipient=recipient, status="pending", attempts=0, next_attempt_at=now, created_at=now)
    alert.step = index
    alert.next_step_at = now + escalate_after if index + 1 < len(ladder) else None


def escalate_due(session: Session, *, now: dt.datetime | None = None,
                 escalate_after: dt.timedelta = ESCALATE_AFTER, limit: int = 100) -> int:
    """Start the next step of every unacknowledged alert whose time is up; how many were started.
    A record staff closed meanwhile stops its ladder."""
    now = now or utcnow()
    due = session.execute(select(UrgentAlert.id, UrgentAlert.step).where(_to_escalate(now))
                          .order_by(UrgentAlert.next_step_at, UrgentAlert.id).limit(limit)).all()
    started = 0
    for alert_id, step in due:
        alert = session.get(UrgentAlert, alert_id)
        record = session.get(UrgentRecord, alert.urgent_record_id)
        if record is None or record.status != "new":
            alert.next_step_at = None  # handled on the staff pages: nothing more to escalate
            continue
        ladder = json.loads(alert.ladder)
        if step + 1 >= len(ladder):
            alert.next_step_at = None
            continue
        moved = session.execute(update(UrgentAlert)
                                .where(UrgentAlert.id == alert_id, UrgentAlert.step == step,
                                       UrgentAlert.acknowledged_at.is_(None))
                                .values(step=step + 1).execution_options(synchronize_session=False))
        if moved.rowcount != 1:
            continue  # another worker escalated it
        session.refresh(alert)
        _start_step(session, alert, step + 1, ladder, now=now, escalate_after=escalate_after)
        started += 1
    session.flush()
    return started


# ---------------------------------------------------------------- delivering


def _due(now: dt.datetime):
    return or_(and_(AlertDelivery.status == "pending", AlertDelivery.next_attempt_at <= now),
               and_(AlertDelivery.status == "sending", AlertDelivery.next_attempt_at <= now - CLAIM_LEASE))


def claim_deliveries(session: Session, cipher: DataCipher, *, worker: str, now: dt.datetime | None = None,
                     limit: int = 20) -> list[DeliveryJob]:
    """Claim due deliveries (a crashed sender's after the lease) and return them ready to send.
    A delivery whose alert was acknowledged meanwhile is cancelled instead: nobody needs it."""
    now = now or utcnow()
    rows = session.execute(select(AlertDelivery.id, AlertDelivery.status, AlertDelivery.claimed_by)
                           .where(_due(now)).order_by(AlertDelivery.id).limit(limit)).all()
    jobs: list[DeliveryJob] = []
    for delivery_id, status, owner in rows:
        owned = (AlertDelivery.claimed_by.is_(None) if owner is None else AlertDelivery.claimed_by == owner)
        taken = session.execute(update(AlertDelivery)
                                .where(AlertDelivery.id == delivery_id, AlertDelivery.status == status, owned)
                                .values(status="sending", claimed_by=worker, next_attempt_at=now)
                                .execution_options(synchronize_session=False))
        if taken.rowcount != 1:
            continue
        delivery = session.get(AlertDelivery, delivery_id)  # loaded now, after the claim (only ids were read)
        alert = session.get(UrgentAlert, delivery.alert_id)
        if alert.acknowledged_at is not None:
            delivery.status, delivery.claimed_by = "cancelled", None
            continue
        job = _job(session, cipher, delivery, alert)
        if not job.targets:
            _fail_for_good(session, delivery, alert, "没有可用的提醒方式", now=now)
            continue
        jobs.append(job)
    session.flush()
    return jobs


def _job(session: Session, cipher: DataCipher, delivery: AlertDelivery, alert: UrgentAlert) -> DeliveryJob:
    record = session.get(UrgentRecord, alert.urgent_record_id)
    ladder = json.loads(alert.ladder)
    kind, _, key = delivery.recipient.partition(":")
    if kind == "user":  # an account disabled since the ladder was worked out is not alerted
        person = session.get(StaffUser, int(key))
        rows = targets_of(session, user_id=person.id) if person is not None and person.active else []
    else:
        rows = targets_of(session, area_code=key)
    targets = tuple(Target(t.id, t.channel, target_address(cipher, t)) for t in rows)
    labels = ladder[delivery.step].get("labels", {}) if delivery.step < len(ladder) else {}
    kinds = tuple(DANGER_KIND_LABELS.get(k, DANGER_KIND_LABELS["unspecified"]) for k in record.kinds.split(",") if k)
    return DeliveryJob(id=delivery.id, alert_id=alert.id, step=delivery.step, steps=len(ladder),
                       recipient=delivery.recipient,
                       recipient_label=labels.get(delivery.recipient) or ladder[delivery.step].get("label", ""),
                       targets=targets, reference=urgent_reference(record), kinds=kinds,
                       area_code=alert.area_code, created_at=aware(record.created_at), attempts=delivery.attempts)


def _claimed(delivery_id: int, worker: str):
    return and_(AlertDelivery.id == delivery_id, AlertDelivery.status == "sending", AlertDelivery.claimed_by == worker)


def delivery_sent(session: Session, *, delivery_id: int, target: Target, worker: str,
                  now: dt.datetime | None = None) -> bool:
    """Recorded as sent — if ``worker`` still holds the claim (False: another worker took it over
    after the lease ran out, and sends it too; logged, since the person gets it twice)."""
    now = now or utcnow()
    done = session.execute(update(AlertDelivery).where(_claimed(delivery_id, worker))
                           .values(status="sent", sent_at=now, claimed_by=None, via_target_id=target.id,
                                   via=target.channel, last_error=None).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        log.warning("alert delivery %s: sent by %s after its claim was taken over", delivery_id, worker)
    return done.rowcount == 1


def delivery_failed(session: Session, *, delivery_id: int, error: str, permanent: bool, worker: str,
                    now: dt.datetime | None = None) -> None:
    """Every target of the delivery failed this time: tried again with the back-off, or — every
    failure permanent (a wrong key, a refused login), or too many tries — given up, and the next
    step of the ladder started now instead of after the wait. Nothing when ``worker`` lost the claim."""
    now = now or utcnow()
    delivery = session.scalar(select(AlertDelivery).where(_claimed(delivery_id, worker)).with_for_update())
    if delivery is None:
        log.warning("alert delivery %s: failure by %s after its claim was taken over", delivery_id, worker)
        return
    attempts = delivery.attempts + 1
    if permanent or attempts >= MAX_ATTEMPTS:
        delivery.attempts = attempts
        _fail_for_good(session, delivery, session.get(UrgentAlert, delivery.alert_id), error, now=now)
        return
    delivery.status, delivery.claimed_by, delivery.attempts = "pending", None, attempts
    delivery.next_attempt_at, delivery.last_error = now + backoff(attempts), error[:300]


def _fail_for_good(session: Session, delivery: AlertDelivery, alert: UrgentAlert, error: str, *,
                   now: dt.datetime) -> None:
    delivery.status, delivery.claimed_by, delivery.last_error = "failed", None, error[:300]
    session.flush()
    if alert.acknowledged_at is None and alert.step == delivery.step:
        open_ones = session.scalar(select(func.count()).select_from(AlertDelivery)
                                   .where(AlertDelivery.alert_id == alert.id, AlertDelivery.step == delivery.step,
                                          AlertDelivery.status != "failed"))
        if not open_ones:  # nobody of this step can be reached: the next one now (unless it moved on)
            session.execute(update(UrgentAlert)
                            .where(UrgentAlert.id == alert.id, UrgentAlert.step == delivery.step,
                                   UrgentAlert.acknowledged_at.is_(None), UrgentAlert.next_step_at.is_not(None))
                            .values(next_step_at=now).execution_options(synchronize_session=False))


def target_result(session: Session, *, target_id: int, error: str | None = None,
                  now: dt.datetime | None = None) -> None:
    """Keep a target's last success or last error, which the staff pages show."""
    now = now or utcnow()
    values = dict(last_ok_at=now) if error is None else dict(last_error=error[:300], last_error_at=now)
    session.execute(update(AlertTarget).where(AlertTarget.id == target_id).values(**values)
                    .execution_options(synchronize_session=False))


def renew_claim(session: Session, *, delivery_id: int, worker: str, now: dt.datetime | None = None) -> bool:
    """Renew ``worker``'s claim of a delivery it is still trying (before each next target), so that
    only a stopped worker's claims are taken over, ``CLAIM_LEASE`` after its last renewal."""
    result = session.execute(update(AlertDelivery).where(_claimed(delivery_id, worker))
                             .values(next_attempt_at=now or utcnow()).execution_options(synchronize_session=False))
    return result.rowcount == 1


# ---------------------------------------------------------------- acknowledging


def ack_token(cipher: DataCipher, delivery_id: int, *, now: dt.datetime | None = None, ttl: dt.timedelta = LINK_TTL) -> str:
    expires = int(((now or utcnow()) + ttl).timestamp())
    body = f"{delivery_id}.{expires}"
    return f"{body}.{_signature(cipher, body)}"


def _signature(cipher: DataCipher, body: str) -> str:
    return cipher.lookup_hash(f"urgent-alert-ack:{body}")[:32]


_DIGITS = re.compile(r"^[0-9]{1,19}$")
_SIGNATURE = re.compile(r"^[0-9a-f]{32}$")


class BadLink(ValueError):
    """The link is not one we made, or it has expired (the message says which, for staff)."""


def read_ack_token(cipher: DataCipher, token: str, *, now: dt.datetime | None = None) -> int:
    """The delivery a link names; ``BadLink`` when it was altered or has expired."""
    parts = (token or "")[:100].split(".")
    if len(parts) != 3 or not (_DIGITS.match(parts[0]) and _DIGITS.match(parts[1]) and _SIGNATURE.match(parts[2])):
        raise BadLink("链接无效。")
    body = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_signature(cipher, body), parts[2]):
        raise BadLink("链接无效。")
    if int(parts[1]) < (now or utcnow()).timestamp():
        raise BadLink("链接已过期；请在工作台的紧急记录中查看并确认。")
    return int(parts[0])


def acknowledge(session: Session, *, alert: UrgentAlert, username: str, how: str = "",
                now: dt.datetime | None = None) -> bool:
    """The first acknowledgement stops the ladder and is audited (``urgent.acknowledged``, ``how``:
    the link, the page's button, a handling note) — True; later ones change nothing (False)."""
    now = now or utcnow()
    done = session.execute(update(UrgentAlert)
                           .where(UrgentAlert.id == alert.id, UrgentAlert.acknowledged_at.is_(None))
                           .values(acknowledged_at=now, acknowledged_by=username[:64], next_step_at=None)
                           .execution_options(synchronize_session=False))
    first = done.rowcount == 1
    if first:
        session.execute(update(AlertDelivery)
                        .where(AlertDelivery.alert_id == alert.id, AlertDelivery.status == "pending")
                        .values(status="cancelled").execution_options(synchronize_session=False))
        audit(session, actor=username, action="urgent.acknowledged",
              target=urgent_reference(session.get(UrgentRecord, alert.urgent_record_id)), detail=how, now=now)
    session.refresh(alert)
    return first


def is_recipient(session: Session, record_id: int, user_id: int) -> bool:
    """Whether the person was alerted about the record (a step of its ladder named them): they
    may open it even when it lies outside their own area — a community's child director on the
    street's roster is alerted about the street's other communities too."""
    return session.scalar(select(exists().where(
        AlertDelivery.alert_id == UrgentAlert.id, UrgentAlert.urgent_record_id == record_id,
        AlertDelivery.recipient == f"user:{user_id}"))) or False


def alert_of_record(session: Session, record_id: int) -> UrgentAlert | None:
    return session.scalar(select(UrgentAlert).where(UrgentAlert.urgent_record_id == record_id))
