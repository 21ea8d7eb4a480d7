"""The duty alerts' loop: every ``poll_seconds`` each worker of ``tongban serve``

1. opens the alert of every new urgent record (``ledger.alerting.open_alert``: the ladder from the
   rosters, the first step queued — once, whichever worker gets there first);
2. starts the next step of the alerts nobody acknowledged in time (``escalate_due``);
3. claims the deliveries due and sends each through its recipient's targets in order, the next
   target when one fails (``AlertFailed``), recording how it went and each target's last success or
   error (staff see broken keys and logins on their pages and in ``/healthz``).

Sends run on a few threads of the loop's own; the database work runs in short transactions between
them. The clock is injectable (tests: an emergency at 02:00 on a Sunday, escalation after the delay).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from alerts import AlertFailed, AlertMessage
from ledger import alert_status, alerting
from ledger.areas import AreaDirectory, area_name
from ledger.clock import utcnow
from ledger.crypto import DataCipher
from ledger.db import Database
from ledger.models import UrgentRecord

log = logging.getLogger(__name__)
SEND_THREADS = 4
HEALTH_EVERY = dt.timedelta(seconds=15)


def worker_id() -> str:
    return f"alerts:{socket.gethostname()[:24]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class PassResult:
    opened: int = 0
    escalated: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0


@dataclass(frozen=True)
class _Outcome:
    job: alerting.DeliveryJob
    sent_by: alerting.Target | None
    errors: list[tuple[alerting.Target, AlertFailed]]
    at: dt.datetime


class DutyAlerter:
    """One worker's alert loop (``start``/``stop``), or one pass at a time (``once``, for tests)."""

    def __init__(self, db: Database, cipher: DataCipher, *, channels: dict, areas: AreaDirectory,
                 public_url: str, escalate_after: dt.timedelta = alerting.ESCALATE_AFTER,
                 link_ttl: dt.timedelta = alerting.LINK_TTL, poll_seconds: float = 1.0,
                 clock: Callable[[], dt.datetime] = utcnow, worker: str | None = None):
        self.db, self.cipher, self.channels, self.areas = db, cipher, channels, areas
        self.public_url = public_url.rstrip("/")
        self.escalate_after, self.link_ttl, self.poll_seconds = escalate_after, link_ttl, poll_seconds
        self.clock = clock
        self.worker = worker or worker_id()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(SEND_THREADS, thread_name_prefix="tongban-alert-send")
        self.first_pass = threading.Event()  # set once the running loop has looked (its health known)
        self.health: dict | None = None  # ``/healthz``'s line, refreshed every ``HEALTH_EVERY``
        self._health_at: dt.datetime | None = None

    # ------------------------------------------------------------ running

    def start(self) -> "DutyAlerter":
        self._thread = threading.Thread(target=self._run, name="tongban-duty-alerts", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.once()
            except Exception:  # noqa: BLE001 - logged; the next pass tries again
                log.exception("duty alerts: a pass failed; trying again")
            self.first_pass.set()
            self._stop.wait(self.poll_seconds)

    # ------------------------------------------------------------ one pass

    def once(self) -> PassResult:
        result = PassResult()
        now = self.clock()
        if self._health_at is None or now - self._health_at >= HEALTH_EVERY:
            self._check_health(now)
        with self.db.reading() as session:
            idle = not alerting.work_waiting(session.connection(), now=now)
        if idle:
            return result
        with self.db.session() as session:
            for record_id in alerting.records_to_alert(session, now=now):
                record = session.get(UrgentRecord, record_id)
                if alerting.open_alert(session, record, now=now, escalate_after=self.escalate_after) is not None:
                    result.opened += 1
        with self.db.session() as session:
            result.escalated = alerting.escalate_due(session, now=now, escalate_after=self.escalate_after)
        while True:
            with self.db.session() as session:
                # as many as there are threads: a claim is renewed before each target is tried, and
                # one waiting its turn in the pool for longer than the lease would be taken over
                jobs = alerting.claim_deliveries(session, self.cipher, worker=self.worker, now=self.clock(),
                                                 limit=SEND_THREADS)
            if not jobs:
                break
            outcomes = list(self._pool.map(self._send, jobs))
            self._record(outcomes, result)
        return result

    def _check_health(self, now: dt.datetime) -> None:
        with self.db.reading() as session:
            found = alert_status.health(session, now=now)
        self.health = {"ok": found["ok"], "failed_24h": found["failed"], "overdue": found["overdue"],
                       "unreached_24h": found["unreached"], "failing_targets": len(found["broken_targets"])}
        self._health_at = now
        if not found["ok"]:
            log.warning("duty alerts are failing: %s", self.health)

    def message(self, job: alerting.DeliveryJob, now: dt.datetime) -> AlertMessage:
        token = alerting.ack_token(self.cipher, job.id, now=now, ttl=self.link_ttl)
        return AlertMessage(reference=job.reference, kinds=list(job.kinds),
                            area=area_name(job.area_code, areas=self.areas) if job.area_code else "地区不明",
                            at=job.created_at, step=job.step + 1, steps=job.steps, recipient=job.recipient_label,
                            link=f"{self.public_url}/staff/alerts/ack/{token}",
                            escalate_minutes=int(self.escalate_after.total_seconds() // 60))

    def _send(self, job: alerting.DeliveryJob) -> _Outcome:
        message = self.message(job, self.clock())
        errors: list[tuple[alerting.Target, AlertFailed]] = []
        for number, target in enumerate(job.targets):
            if number:
                self._renew(job.id)
            channel = self.channels.get(target.channel)
            if channel is None:
                errors.append((target, AlertFailed(f"本服务未配置{target.channel}提醒方式", permanent=True)))
                continue
            try:
                channel.send(target.address, message)
            except AlertFailed as error:
                log.warning("alert %s via %s target %s failed: %s", job.reference, target.channel, target.id,
                            error.reason)
                errors.append((target, error))
                continue
            except Exception as error:  # noqa: BLE001 - an adapter's bug must not stop the fallback
                log.exception("alert %s via %s: unexpected error", job.reference, target.channel)
                errors.append((target, AlertFailed(f"发送出错：{type(error).__name__}", permanent=False)))
                continue
            return _Outcome(job, target, errors, self.clock())
        return _Outcome(job, None, errors, self.clock())

    def _renew(self, delivery_id: int) -> None:
        """Keep the claim of a delivery still being tried (its next target)."""
        with self.db.session() as session:
            alerting.renew_claim(session, delivery_id=delivery_id, worker=self.worker, now=self.clock())

    def _record(self, outcomes: list[_Outcome], result: PassResult) -> None:
        # rows locked in one order by every worker (targets by id, then deliveries by id): two
        # workers recording at once wait for each other instead of deadlocking
        targets: dict[int, tuple[str | None, dt.datetime]] = {}
        for outcome in sorted(outcomes, key=lambda o: o.at):
            for target, error in outcome.errors:
                targets[target.id] = (error.reason, outcome.at)
            if outcome.sent_by is not None:
                targets[outcome.sent_by.id] = (None, outcome.at)
        with self.db.session() as session:
            for target_id in sorted(targets):
                error, at = targets[target_id]
                alerting.target_result(session, target_id=target_id, error=error, now=at)
            for outcome in sorted(outcomes, key=lambda o: o.job.id):
                if outcome.sent_by is not None:
                    if alerting.delivery_sent(session, delivery_id=outcome.job.id, target=outcome.sent_by,
                                              worker=self.worker, now=outcome.at):
                        result.sent += 1
                    continue
                permanent = all(error.permanent for _, error in outcome.errors)
                reasons = "；".join(f"{t.channel}：{e.reason}" for t, e in outcome.errors) or "没有可用的提醒方式"
                alerting.delivery_failed(session, delivery_id=outcome.job.id, error=reasons, permanent=permanent,
                                         worker=self.worker, now=outcome.at)
                if permanent:
                    result.failed += 1
                else:
                    result.retried += 1
