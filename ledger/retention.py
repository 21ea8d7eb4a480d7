"""The daily retention purge: what is past its keeping period is deleted or anonymised.

``purge`` (``tongban ledger purge``, and once a day by ``tongban serve``) deletes or anonymises
what is past the periods in ``RetentionSettings``; ``dry_run`` only counts. Each kind is worked
through in batches, each batch its own short transaction. Requests are anonymised with the rules of
a parent's erasure (``ledger/erasure.py``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
from dataclasses import dataclass, field

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ledger.clock import beijing_date, utcnow
from ledger.crypto import DataCipher
from ledger.db import Database, insert_ignore
from ledger.duty_models import AlertDelivery, UrgentAlert
from ledger.erasure import CASE_STATUSES_DONE, anonymise_request, case_reason, closed_on, period_text
from ledger.models import (AssistanceRequest, Conversation, ConversationMessage, HandoffRequest, OutboxMessage,
                           RateCounter, RetentionRun, StatusChange, TelegramUpdate, UrgentRecord, WeChatMessage)
from ledger.schema import METADATA
from ledger.settings import RetentionSettings
from ledger.staff_models import StaffCaseNote, StaffDraft, StaffLoginFailure

log = logging.getLogger(__name__)


KINDS = ("transcript_messages", "outbox_messages", "conversation_states", "conversations", "handoffs",
         "urgent_records", "urgent_texts", "requests_anonymised", "requests_dated", "telegram_updates",
         "wechat_messages", "login_failures", "staff_drafts", "rate_counters")


@dataclass
class PurgeReport:
    counts: dict[str, int] = field(default_factory=lambda: {kind: 0 for kind in KINDS})
    dry_run: bool = False

    def lines(self) -> list[str]:
        return [f"{kind}\t{self.counts[kind]}" for kind in KINDS]


def purge(db: Database, cipher: DataCipher, policy: RetentionSettings, *, now: dt.datetime | None = None,
          dry_run: bool = False) -> PurgeReport:
    """Delete or anonymise everything past its period (see ``RetentionSettings``)."""
    now = now or utcnow()
    report = PurgeReport(dry_run=dry_run)
    days = lambda n: now - dt.timedelta(days=n)  # noqa: E731
    batch = policy.batch_size

    def rows(kind: str, table, condition) -> None:
        """Delete the rows of ``table`` matching ``condition``, ``batch`` at a time."""
        key = next(iter(table.primary_key.columns)) if len(table.primary_key.columns) == 1 else None
        while True:
            with db.session() as session:
                if dry_run:
                    report.counts[kind] += session.scalar(select(func.count()).select_from(table).where(condition)) or 0
                    return
                if key is None:  # composite key (telegram_updates): one statement
                    report.counts[kind] += session.execute(delete(table).where(condition)).rowcount or 0
                    return
                ids = list(session.scalars(select(key).where(condition).order_by(key).limit(batch)))
                if ids:
                    try:
                        with session.begin_nested():
                            session.execute(delete(table).where(key.in_(ids), condition))
                    except IntegrityError:  # a row became referenced meanwhile (a parent wrote again)
                        log.info("retention: %s changed while purging; left for tomorrow", kind)
                        return
            report.counts[kind] += len(ids)
            if len(ids) < batch:
                return

    messages, outbox_rows = ConversationMessage.__table__, OutboxMessage.__table__
    rows("transcript_messages", messages, messages.c.at < days(policy.transcript_days))
    rows("outbox_messages", outbox_rows, and_(outbox_rows.c.status.in_(("sent", "failed", "blocked")),
                                              outbox_rows.c.created_at < days(policy.outbox_days)))
    _idle_states(db, cipher, days(policy.conversation_idle_days), batch, report)
    _handled_records(db, cipher, days, policy, batch, report, rows)
    _requests(db, cipher, now, policy, batch, report)
    _unused_conversations(db, days(policy.conversation_idle_days), batch, report, rows)
    updates = TelegramUpdate.__table__
    rows("telegram_updates", updates, updates.c.processed_at < days(policy.telegram_update_days))
    callbacks = WeChatMessage.__table__
    rows("wechat_messages", callbacks, callbacks.c.processed_at < days(policy.wechat_message_days))
    failures, drafts = StaffLoginFailure.__table__, StaffDraft.__table__
    rows("login_failures", failures, failures.c.at < days(policy.login_failure_days))
    rows("staff_drafts", drafts, drafts.c.expires_at < now)
    counters = RateCounter.__table__  # rate-limit windows (hashed client keys) older than two days
    rows("rate_counters", counters, counters.c.window_start < int(now.timestamp()) - 2 * 86_400)
    return report


def _idle_states(db: Database, cipher: DataCipher, before: dt.datetime, batch: int, report: PurgeReport) -> None:
    """A conversation quiet since ``before`` forgets its dialogue state (a half-filled form, the
    district); the row stays. A turn racing with this loses nothing: the version is checked."""
    table = Conversation.__table__
    # the token of an empty state (or one of under 16 bytes, which holds nothing personal) is this long
    condition = and_(table.c.updated_at < before, func.length(table.c.state_enc) > len(cipher.encrypt("{}")))
    last = 0
    while True:
        with db.session() as session:
            if report.dry_run:
                report.counts["conversation_states"] = session.scalar(
                    select(func.count()).select_from(table).where(condition)) or 0
                return
            found = session.execute(select(table.c.id, table.c.version, table.c.updated_at)
                                    .where(condition, table.c.id > last).order_by(table.c.id).limit(batch)).all()
            empty = cipher.encrypt("{}")
            for row_id, version, updated_at in found:
                # updated_at kept: the conversation is still as quiet as it was
                done = session.execute(update(table).where(table.c.id == row_id, table.c.version == version)
                                       .values(state_enc=empty, version=version + 1, updated_at=updated_at))
                report.counts["conversation_states"] += done.rowcount or 0
        if len(found) < batch:
            return
        last = found[-1][0]


def _handled_records(db: Database, cipher: DataCipher, days, policy: RetentionSettings, batch: int,
                     report: PurgeReport, rows) -> None:
    """Requests for a person and urgent records staff handled long ago go, with staff's notes on them;
    a deleted conversation's urgent records lose their text as soon as they are handled."""
    handoffs, urgent, notes = HandoffRequest.__table__, UrgentRecord.__table__, StaffCaseNote.__table__
    old_handoff = and_(handoffs.c.status != "open",
                       func.coalesce(handoffs.c.handled_at, handoffs.c.created_at) < days(policy.handoff_days))
    last_seen = urgent.c.last_seen_at if "last_seen_at" in urgent.c else urgent.c.created_at
    old_urgent = and_(urgent.c.status != "new",
                      func.coalesce(last_seen, urgent.c.created_at) < days(policy.urgent_days))
    for kind, table, condition, target_kind in (("handoffs", handoffs, old_handoff, "handoff"),
                                                ("urgent_records", urgent, old_urgent, "urgent")):
        # the notes first (no foreign key ties them to the record)
        note_condition = and_(notes.c.target_kind == target_kind,
                              notes.c.target_id.in_(select(table.c.id).where(condition)))
        if not report.dry_run:
            with db.session() as session:
                session.execute(delete(notes).where(note_condition))
                if target_kind == "urgent":  # the record's duty alert and its deliveries go with it
                    alerts = select(UrgentAlert.id).where(UrgentAlert.urgent_record_id.in_(
                        select(table.c.id).where(condition)))
                    session.execute(delete(AlertDelivery).where(AlertDelivery.alert_id.in_(alerts))
                                    .execution_options(synchronize_session=False))
                    session.execute(delete(UrgentAlert).where(UrgentAlert.id.in_(alerts))
                                    .execution_options(synchronize_session=False))
        rows(kind, table, condition)
    # urgent records of parents who asked for deletion while staff were still handling them
    deleted = select(Conversation.deletion_requested_at).where(Conversation.id == urgent.c.conversation_id)
    candidates = and_(urgent.c.status != "new", urgent.c.created_at <= deleted.scalar_subquery())
    with db.session() as session:
        found = session.execute(select(urgent.c.id, urgent.c.message_enc).where(candidates)).all()
    pending = [row_id for row_id, token in found if cipher.decrypt(token)]
    report.counts["urgent_texts"] += len(pending)
    if pending and not report.dry_run:
        for start in range(0, len(pending), batch):
            with db.session() as session:
                session.execute(update(urgent).where(urgent.c.id.in_(pending[start:start + batch]))
                                .values(message_enc=cipher.encrypt("")))


def _requests(db: Database, cipher: DataCipher, now: dt.datetime, policy: RetentionSettings, batch: int,
              report: PurgeReport) -> None:
    """Closed (or not eligible) requests past their period are anonymised: ``request_days`` after
    closing, or ``case_days`` for case files; a kept request that has closed gets its date."""
    today = beijing_date(now)
    closed_at = (select(func.max(StatusChange.changed_at)).where(StatusChange.request_id == AssistanceRequest.id)
                 .scalar_subquery())
    condition = and_(AssistanceRequest.anonymised_at.is_(None), AssistanceRequest.status.in_(CASE_STATUSES_DONE),
                     closed_at < now - dt.timedelta(days=min(policy.request_days, policy.case_days)))
    dated = and_(AssistanceRequest.anonymised_at.is_(None), AssistanceRequest.kept_reason.is_not(None),
                 AssistanceRequest.kept_until.is_(None), AssistanceRequest.status.in_(CASE_STATUSES_DONE))
    last = 0
    while True:
        with db.session() as session:
            found = session.scalars(select(AssistanceRequest).where(or_(condition, dated), AssistanceRequest.id > last)
                                    .order_by(AssistanceRequest.id).limit(batch)).all()
            for request in found:
                reason = case_reason(session, request)
                closed = closed_on(session, request)
                period = policy.case_days if reason else policy.request_days
                until = closed + dt.timedelta(days=period)
                if until <= today:
                    report.counts["requests_anonymised"] += 1
                    if not report.dry_run:
                        anonymise_request(session, cipher, request, now=now, actor="system:retention",
                                          note=f"保存期限已到（结案后{period_text(period)}），个人信息已清除。")
                elif request.kept_reason and request.kept_until is None:
                    report.counts["requests_dated"] += 1
                    if not report.dry_run:
                        request.kept_until = until
        if len(found) < batch:
            return
        last = found[-1].id


def _unused_conversations(db: Database, before: dt.datetime, batch: int, report: PurgeReport, rows) -> None:
    """A conversation quiet since ``before`` that nothing refers to any more (no request, record,
    message or transcript) is deleted outright, with the encrypted sender id."""
    table = Conversation.__table__
    condition = [table.c.updated_at < before]
    for other in METADATA.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column is table.c.id:
                condition.append(~exists().where(fk.parent == table.c.id))
    rows("conversations", table, and_(*condition))


# --- once a day, by one worker ---------------------------------------------------------------
def run_daily(db: Database, cipher: DataCipher, policy: RetentionSettings, *, now: dt.datetime | None = None,
              worker: str | None = None) -> PurgeReport | None:
    """The day's purge, unless another worker (or process) has already started it today."""
    now = now or utcnow()
    worker = worker or f"{socket.gethostname()}:{os.getpid()}"
    day = beijing_date(now)
    with db.session() as session:
        claimed = insert_ignore(session.connection(), RetentionRun.__table__, ["day"], day=day, started_at=now,
                                worker=worker[:64], summary="")
    if not claimed:
        return None
    report = purge(db, cipher, policy, now=now)
    with db.session() as session:
        session.execute(update(RetentionRun).where(RetentionRun.day == day)
                        .values(finished_at=utcnow(), summary=json.dumps(report.counts)))
    log.info("retention purge: %s", ", ".join(f"{k}={v}" for k, v in report.counts.items() if v))
    return report
