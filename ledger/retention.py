"""Deletion that happens: a parent's erasure request, and the daily retention purge.

``erase_conversation`` runs inside the turn in which a parent confirms 删除我的信息. In that one
transaction it deletes the conversation's transcript and every outbox copy of what the bot sent
them, empties the reasons of their requests for a person and the texts of urgent records staff
have finished handling, and decides for each assistance request the conversation filed:

- **anonymised now** — nobody has opened a case file on it (not accepted into the priority-care
  ledger, not referred to another department, not an urgent case) or its keeping period is over:
  names, phone, street and description are overwritten, the lookup hashes replaced, staff notes in
  its history blanked and the link to the conversation cut; category, district, age, dates and
  status stay, for statistics;
- **kept** — a case file: ``deletion_requested_at`` is set and ``kept_reason`` / ``kept_until``
  say why and until when, for staff (the request page) and for the parent (the bot's reply).

Its :class:`ErasureReport` is what the bot tells the parent, item by item. ``erasure_plan`` gives
the same report without changing anything (the confirmation question).

``purge`` (``tongban ledger purge``, and once a day by ``tongban serve``) deletes or anonymises
what is past the periods in ``RetentionSettings``; ``dry_run`` only counts. Each kind is worked
through in batches, each batch its own short transaction.
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
from sqlalchemy.orm import Session

from ledger.clock import beijing_date, utcnow
from ledger.crypto import DataCipher
from ledger.db import Database, insert_ignore
from ledger.keys import ERASED_HASH_PREFIX
from ledger.models import (AssistanceRequest, AuditEvent, Conversation, ConversationMessage, HandoffRequest,
                           LedgerEntry, OutboxMessage, RateCounter, RetentionRun, StatusChange, TelegramUpdate,
                           UrgentRecord, Visit)
from ledger.schema import METADATA
from ledger.settings import RetentionSettings
from ledger.staff_models import StaffCaseNote, StaffDraft, StaffLoginFailure

log = logging.getLogger(__name__)

CASE_STATUSES_DONE = ("closed", "not_eligible")
ERASED_NOTE = "（内容已按删除要求清除）"
REASON_LEDGER = "已纳入重点关爱服务对象台账，是民政部门的个案档案"
REASON_REFERRED = "已转介给相关部门办理，转介记录属于个案档案"
REASON_URGENT = "涉及孩子人身安全的紧急情况，处理记录需要留存"
URGENT_OPEN_REASON = "工作人员还在处理这条涉及孩子安全的紧急消息"


# --- what a request's keeping depends on ------------------------------------------------------
def case_reason(session: Session, request: AssistanceRequest) -> str | None:
    """Why ``request`` is a case file that must be kept (None: it is not one)."""
    if session.scalar(select(LedgerEntry.id).where(LedgerEntry.request_id == request.id)) is not None:
        return REASON_LEDGER
    if request.status == "referred" or session.scalar(
            select(StatusChange.id).where(StatusChange.request_id == request.id,
                                          StatusChange.status == "referred").limit(1)) is not None:
        return REASON_REFERRED
    if request.urgency == "urgent":
        return REASON_URGENT
    return None


def closed_on(session: Session, request: AssistanceRequest) -> dt.date | None:
    """The (Beijing) day the request was closed or found not eligible; None while it is open."""
    if request.status not in CASE_STATUSES_DONE:
        return None
    last = session.scalar(select(func.max(StatusChange.changed_at)).where(StatusChange.request_id == request.id))
    return beijing_date(last or request.created_at)


@dataclass(frozen=True)
class KeptRequest:
    reference: str
    reason: str
    until: dt.date | None  # None: until the case closes, then ``case_days`` more


@dataclass
class ErasureReport:
    """What a parent's erasure deleted (or, from ``erasure_plan``, would delete) and what it keeps."""

    transcript_messages: int = 0
    outbox_messages: int = 0
    handoffs_cleared: list[str] = field(default_factory=list)  # H- references whose reason was deleted
    urgent_texts_deleted: int = 0
    urgent_kept: int = 0  # open urgent records: their text is kept until staff have handled them
    anonymised: list[str] = field(default_factory=list)  # LD- references
    kept: list[KeptRequest] = field(default_factory=list)
    case_days: int = 0

    def deleted_lines(self) -> list[str]:
        lines = ["本对话的聊天记录和对话状态（所在地区、没填完的申请等）"]
        if self.outbox_messages:
            lines.append("我们发给您的消息在服务器上的副本")
        if self.anonymised:
            lines.append(f"帮扶申请 {'、'.join(self.anonymised)} 里孩子和监护人的姓名、电话、详细地址和情况说明"
                         "（只留下不能认出您家的统计信息：地区、类别、年龄、日期）")
        if self.handoffs_cleared:
            lines.append(f"人工帮助请求 {'、'.join(self.handoffs_cleared)} 里您写的内容")
        if self.urgent_texts_deleted:
            lines.append(f"已处理完的紧急求助消息原文（{self.urgent_texts_deleted} 条）")
        return lines

    def kept_lines(self) -> list[str]:
        years = _years(self.case_days)
        lines = []
        for kept in self.kept:
            until = (f"保存到 {kept.until:%Y年%m月%d日}，到期删除其中的个人信息" if kept.until
                     else f"保存到结案后{years}，到期删除其中的个人信息")
            lines.append(f"帮扶申请 {kept.reference}：{kept.reason}，{until}。工作人员能看到您的删除要求")
        if self.urgent_kept:
            lines.append(f"紧急求助消息（{self.urgent_kept} 条）：{URGENT_OPEN_REASON}，处理完后删除")
        return lines

    def parent_text(self, *, done: bool) -> str:
        head = "已删除：" if done else "将删除："
        out = [head, *(f"· {line}" for line in self.deleted_lines())]
        kept = self.kept_lines()
        if kept:
            out.append("按规定需要保留：" if done else "以下按规定需要保留，不会删除：")
            out += [f"· {line}" for line in kept]
        return "\n".join(out)


def _years(days: int) -> str:
    return f"{days // 365}年" if days % 365 == 0 else f"{days}天"


# --- a parent's erasure -------------------------------------------------------------------
def erasure_plan(session: Session, conversation_id: int, now: dt.datetime | None = None,
                 policy: RetentionSettings | None = None) -> ErasureReport:
    """What ``erase_conversation`` would do now, changing nothing."""
    return _erasure(session, None, conversation_id, now or utcnow(), policy or RetentionSettings(), apply=False)


def erase_conversation(session: Session, cipher: DataCipher, conversation_id: int, now: dt.datetime | None = None,
                       policy: RetentionSettings | None = None) -> ErasureReport:
    """Erase what the parent of ``conversation_id`` left with us, in the caller's transaction (the
    caller clears the conversation state itself). See the module's docstring."""
    return _erasure(session, cipher, conversation_id, now or utcnow(), policy or RetentionSettings(), apply=True)


def _erasure(session: Session, cipher: DataCipher | None, conversation_id: int, now: dt.datetime,
             policy: RetentionSettings, *, apply: bool) -> ErasureReport:
    report = ErasureReport(case_days=policy.case_days)
    in_conversation = ConversationMessage.conversation_id == conversation_id
    report.transcript_messages = session.scalar(select(func.count()).select_from(ConversationMessage)
                                                .where(in_conversation)) or 0
    report.outbox_messages = session.scalar(select(func.count()).select_from(OutboxMessage)
                                            .where(OutboxMessage.conversation_id == conversation_id)) or 0
    if apply:
        session.execute(delete(ConversationMessage).where(in_conversation).execution_options(synchronize_session=False))
        session.execute(delete(OutboxMessage).where(OutboxMessage.conversation_id == conversation_id)
                        .execution_options(synchronize_session=False))
    empty = cipher.encrypt("") if apply else ""
    for handoff in session.scalars(select(HandoffRequest).where(HandoffRequest.conversation_id == conversation_id)
                                   .order_by(HandoffRequest.id)):
        report.handoffs_cleared.append(f"H-{handoff.id:06d}")
        if apply:
            handoff.reason_enc = empty
    for record in session.scalars(select(UrgentRecord).where(UrgentRecord.conversation_id == conversation_id)
                                  .order_by(UrgentRecord.id)):
        if record.status == "new":
            report.urgent_kept += 1  # staff must still act on it
        else:
            report.urgent_texts_deleted += 1
            if apply:
                record.message_enc = empty
    today = beijing_date(now)
    requests = session.scalars(select(AssistanceRequest).where(AssistanceRequest.conversation_id == conversation_id)
                               .order_by(AssistanceRequest.id)).all()
    actor = f"parent:{conversation_id}"
    for request in requests:
        reason = case_reason(session, request)
        closed = closed_on(session, request) if reason else None
        until = closed + dt.timedelta(days=policy.case_days) if closed else None
        if reason and (until is None or until > today):
            report.kept.append(KeptRequest(request.reference, reason, until))
            if apply:
                request.deletion_requested_at = now
                request.kept_reason, request.kept_until = reason[:200], until
                note = (f"家长要求删除个人信息。因{reason}，依法保留"
                        + (f"至 {until:%Y-%m-%d}" if until else f"至结案后{_years(policy.case_days)}") + "，到期匿名化。")
                session.add(StatusChange(request_id=request.id, status=request.status, note=note, changed_by="parent",
                                         changed_at=now))
                session.add(AuditEvent(actor=actor, action="request.deletion_requested", target=request.reference,
                                       detail=f"kept: {reason}", at=now))
        else:
            report.anonymised.append(request.reference)
            if apply:
                request.deletion_requested_at = now
                anonymise_request(session, cipher, request, now=now, actor=actor,
                                  note="家长要求删除个人信息：姓名、电话、地址和情况说明已清除。")
    return report


def anonymise_request(session: Session, cipher: DataCipher, request: AssistanceRequest, *, now: dt.datetime,
                      actor: str, note: str) -> None:
    """Overwrite the request's personal fields and hashes, blank the staff notes of its history and
    the findings of its visits, cut its link to the conversation; keep what counts, not who."""
    empty = cipher.encrypt("")
    request.child_name_enc = request.guardian_name_enc = request.guardian_phone_enc = empty
    request.residence_detail_enc = request.description_enc = empty
    request.child_key_hash = request.guardian_phone_hash = f"{ERASED_HASH_PREFIX}{request.id}"
    request.conversation_id = None
    request.anonymised_at = now
    request.kept_reason = None
    request.kept_until = None
    session.execute(update(StatusChange).where(StatusChange.request_id == request.id, StatusChange.note != "")
                    .values(note=ERASED_NOTE).execution_options(synchronize_session=False))
    entry_ids = select(LedgerEntry.id).where(LedgerEntry.request_id == request.id)
    session.execute(update(Visit).where(Visit.entry_id.in_(entry_ids)).values(findings_enc=empty)
                    .execution_options(synchronize_session=False))
    session.add(StatusChange(request_id=request.id, status=request.status, note=note, changed_by=actor.split(":")[0],
                             changed_at=now))
    session.add(AuditEvent(actor=actor, action="request.anonymised", target=request.reference, at=now))


# --- the daily purge ----------------------------------------------------------------------
KINDS = ("transcript_messages", "outbox_messages", "conversation_states", "conversations", "handoffs",
         "urgent_records", "urgent_texts", "requests_anonymised", "requests_dated", "telegram_updates",
         "login_failures", "staff_drafts", "rate_counters")


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
                                          note=f"保存期限已到（结案后{_years(period)}），个人信息已清除。")
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
