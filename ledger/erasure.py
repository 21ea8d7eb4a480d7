"""A parent's erasure request (删除我的信息), and what a request's keeping depends on.

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
the same report without changing anything (the confirmation question). The daily purge
(``ledger/retention.py``) anonymises requests past their period with the same rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ledger.clock import beijing_date, utcnow
from ledger.crypto import DataCipher
from ledger.keys import ERASED_HASH_PREFIX
from ledger.models import (AssistanceRequest, AuditEvent, ConversationMessage, HandoffRequest, LedgerEntry,
                           OutboxMessage, StatusChange, UrgentRecord, Visit)
from ledger.services import handoff_reference
from ledger.settings import RetentionSettings

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
        years = period_text(self.case_days)
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


def period_text(days: int) -> str:
    """A keeping period as a parent reads it: 5年, or 400天."""
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
        report.handoffs_cleared.append(handoff_reference(handoff))
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
                        + (f"至 {until:%Y-%m-%d}" if until else f"至结案后{period_text(policy.case_days)}") + "，到期匿名化。")
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
