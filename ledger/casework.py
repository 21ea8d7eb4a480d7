"""Casework on assistance requests: status changes, the ledger entry, visits, the transcript.

Every change is written with its audit event and, for status changes, the parent's
notification in the outbox, in the caller's transaction. Used by the staff app and by the
``tongban ledger`` commands; errors are :class:`CaseworkError` with a message staff can read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import outbox
from ledger.areas import in_area
from ledger.clock import aware, beijing_date, utcnow
from ledger.crypto import DataCipher
from ledger.models import (AssistanceRequest, AuditEvent, Conversation, ConversationMessage, LedgerEntry,
                           OutboxMessage, StatusChange, Visit)
from ledger.reply import NOTIFICATION, Reply
from ledger.requests import STATUS_LABELS

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "submitted": ("under_review", "accepted", "referred", "not_eligible", "closed"),
    "under_review": ("accepted", "referred", "not_eligible", "closed"),
    "accepted": ("closed",),
    "referred": ("closed",),
    "not_eligible": ("closed",),
    "closed": (),
}
FIRST_VISIT_WITHIN = dt.timedelta(days=14)
REVIEW_MONTHS = 6
MAX_NOTE = 2000

# What the parent is told (the staff note is internal and is not sent).
PARENT_MESSAGES = {
    "under_review": "工作人员已开始审核，可能会通过电话或上门了解情况，请留意来电。",
    "accepted": "孩子已纳入重点关爱服务对象台账。儿童主任或民政工作人员会定期走访，并帮您对接需要的服务。",
    "referred": "您的申请已转介给相关部门办理，他们会与您联系。",
    "not_eligible": "经审核，目前不符合纳入重点关爱台账的条件。您仍可以随时问我各项服务怎么办理，或请工作人员说明原因。",
    "closed": "这份申请已结案。如果还有困难，可以随时重新提交申请或找工作人员。",
}

# The status in at most five characters: a template message's "phrase" field (bot/wechat/template.py).
STATUS_SHORT = {"submitted": "已提交", "under_review": "审核中", "accepted": "已纳入台账", "referred": "已转介",
                "not_eligible": "不符合条件", "closed": "已结案"}


class CaseworkError(ValueError):
    """A change that is not allowed; the message is in Chinese and safe to show."""


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _clean_note(note: str | None) -> str:
    note = (note or "").strip()
    if not note:
        raise CaseworkError("请填写说明（每次变更状态都需要说明原因）。")
    if len(note) > MAX_NOTE:
        raise CaseworkError(f"说明太长了，请控制在 {MAX_NOTE} 字以内。")
    return note


def change_status(*, session: Session, cipher: DataCipher, request: AssistanceRequest, status: str, note: str,
                  actor: str, first_visit_on: dt.date | None = None, now: dt.datetime | None = None) -> StatusChange:
    """Move a request to ``status`` with a required note; accepting opens its ledger entry.

    The request's row is locked first (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the
    transaction already holds the database's write lock) and its status read again, so two
    concurrent changes run one after the other and the second sees what the first did."""
    now = now or utcnow()
    lock_request(session=session, request=request)
    if status not in STATUS_LABELS:
        raise CaseworkError("没有这个状态。")
    allowed = TRANSITIONS.get(request.status, ())
    if status not in allowed:
        raise CaseworkError(f"“{STATUS_LABELS.get(request.status, request.status)}”的申请不能改为"
                            f"“{STATUS_LABELS[status]}”。")
    note = _clean_note(note)
    today = beijing_date(now)
    if status == "accepted":
        first_visit_on = first_visit_on or today + FIRST_VISIT_WITHIN
        if first_visit_on < today:
            raise CaseworkError("首次走访日期不能早于今天。")
        if first_visit_on > add_months(today, REVIEW_MONTHS):
            raise CaseworkError("首次走访日期不能晚于半年复核日期。")
        session.add(LedgerEntry(request_id=request.id, locality=request.area_code, accepted_at=now,
                                next_visit_on=first_visit_on, next_review_on=add_months(today, REVIEW_MONTHS),
                                status="active"))
    elif status == "closed":
        entry = session.scalar(select(LedgerEntry).where(LedgerEntry.request_id == request.id))
        if entry is not None:
            entry.status = "closed"
    request.status = status
    change = StatusChange(request_id=request.id, status=status, note=note, changed_by=actor, changed_at=now)
    session.add(change)
    session.flush()
    session.add(AuditEvent(actor=actor, action="request.status", target=request.reference,
                           detail=f"{status}", at=now))
    change.notification_queued = queue_status_notification(session=session, cipher=cipher, request=request,
                                                           change=change)
    return change


def queue_status_notification(*, session: Session, cipher: DataCipher, request: AssistanceRequest,
                              change: StatusChange) -> bool:
    """Put the parent's message about ``change`` in the outbox, once, for the channel the parent
    wrote on to deliver; False if it cannot be sent."""
    if request.conversation_id is None:
        return False
    conversation = session.get(Conversation, request.conversation_id)
    if conversation is None:
        return False
    return outbox.notify(session=session, cipher=cipher, conversation=conversation,
                         reply=status_notification(request, change), summary=status_summary(request, change),
                         dedupe_key=f"status:{change.id}")


@dataclass(frozen=True)
class Notice:
    """How a status change's message to the parent went (the staff's request page)."""

    channel: str
    status: str  # the outbox row's: pending, sending, sent, failed, blocked
    via: str | None  # how it was delivered, where the channel has more than one way
    sent_at: dt.datetime | None
    error: str | None


def status_notices(*, session: Session, changes: list[StatusChange]) -> dict[int, Notice]:
    """The parent's notification of each of ``changes`` that has one, by the change's id."""
    keys = {f"status:{change.id}": change.id for change in changes}
    if not keys:
        return {}
    rows = session.execute(select(OutboxMessage.dedupe_key, OutboxMessage.channel, OutboxMessage.status,
                                  OutboxMessage.delivered_via, OutboxMessage.sent_at, OutboxMessage.last_error)
                           .where(OutboxMessage.dedupe_key.in_(list(keys))))
    return {keys[row.dedupe_key]: Notice(row.channel, row.status, row.delivered_via, aware(row.sent_at),
                                         row.last_error) for row in rows}


def status_notification(request: AssistanceRequest, change: StatusChange) -> Reply:
    """What the parent is told of a status change (the staff note is internal and is not sent)."""
    return Reply(f"您的帮扶申请 {request.reference} 有新进展：{STATUS_LABELS[change.status]}。\n"
                 f"{PARENT_MESSAGES.get(change.status, '')}\n发送“查进度”可以随时查看。", kind=NOTIFICATION)


def status_summary(request: AssistanceRequest, change: StatusChange) -> dict[str, str]:
    """The same notification as a few short fields, for a channel that sends a form of fixed fields
    where it may not send text (a WeChat template message outside the 48 hours)."""
    return {"title": "您的帮扶申请有新进展", "reference": request.reference,
            "status": STATUS_LABELS[change.status], "status_short": STATUS_SHORT[change.status],
            "time": aware(change.changed_at).isoformat(), "next": "回到对话发送“查进度”可查看详情"}


def entry_of(*, session: Session, request: AssistanceRequest) -> LedgerEntry | None:
    return session.scalar(select(LedgerEntry).where(LedgerEntry.request_id == request.id))


def record_visit(*, session: Session, cipher: DataCipher, entry: LedgerEntry, visited_on: dt.date, visitor: str,
                 findings: str, next_visit_on: dt.date | None, actor: str, review_done: bool = False,
                 now: dt.datetime | None = None) -> Visit:
    """A home visit (走访探视); ``review_done`` also completes the six-monthly review."""
    now = now or utcnow()
    today = beijing_date(now)
    visitor = (visitor or "").strip()
    findings = (findings or "").strip()
    if entry.status != "active":
        raise CaseworkError("这条台账记录已结案，不能再登记走访。")
    if visited_on > today:
        raise CaseworkError("走访日期不能晚于今天。")
    if visited_on < add_months(today, -12):
        raise CaseworkError("走访日期太早了，请核对（只能登记一年内的走访）。")
    if not visitor:
        raise CaseworkError("请填写走访人。")
    if len(visitor) > 64:
        raise CaseworkError("走访人姓名太长了。")
    if not findings:
        raise CaseworkError("请填写走访情况。")
    if len(findings) > 5000:
        raise CaseworkError("走访情况请控制在 5000 字以内。")
    if next_visit_on is not None and next_visit_on <= visited_on:
        raise CaseworkError("下次走访日期应晚于本次走访日期。")
    visit = Visit(entry_id=entry.id, visited_on=visited_on, visitor=visitor,
                  findings_enc=cipher.encrypt(findings), next_visit_on=next_visit_on, created_at=now)
    session.add(visit)
    entry.next_visit_on = next_visit_on
    if review_done:
        entry.next_review_on = add_months(visited_on, REVIEW_MONTHS)
    session.flush()
    session.add(AuditEvent(actor=actor, action="visit.create", target=f"entry:{entry.id}",
                           detail="review" if review_done else "", at=now))
    return visit


def transcript(*, session: Session, cipher: DataCipher, conversation_id: int,
               limit: int = 500) -> list[tuple[str, str, dt.datetime]]:
    """The conversation's messages, oldest first (the newest ``limit``)."""
    rows = session.scalars(select(ConversationMessage)
                           .where(ConversationMessage.conversation_id == conversation_id)
                           .order_by(ConversationMessage.id.desc()).limit(limit)).all()
    return [(r.direction, cipher.decrypt(r.text_enc) or "", r.at) for r in reversed(rows)]


FILING_TURN = dt.timedelta(seconds=60)  # the turn that filed a request is recorded right after it


@dataclass
class VisibleTranscript:
    messages: list[tuple[str, str, dt.datetime]]
    hidden: int  # messages left out: they belong to requests outside the reader's area


def transcript_for_area(*, session: Session, cipher: DataCipher, conversation_id: int, user_area: str,
                        limit: int = 500) -> VisibleTranscript:
    """The conversation's messages a user of ``user_area`` may read.

    One conversation can file requests in several areas (a family that moved, two children). Its
    messages are split at each filing: those after the previous filing up to and including the turn
    that filed a request (the reply that gives its reference) are that request's — they hold the
    form's answers. A reader sees the parts of the requests inside their area, and what was said
    outside any request's part (before the first filing is the first request's; after the last
    filing belongs to none); the parts of other areas' requests are left out and counted.
    """
    messages = session.execute(select(ConversationMessage.direction, ConversationMessage.text_enc,
                                      ConversationMessage.at)
                               .where(ConversationMessage.conversation_id == conversation_id)
                               .order_by(ConversationMessage.id.desc()).limit(limit)).all()
    messages = [(d, cipher.decrypt(t) or "", at) for d, t, at in reversed(messages)]
    filed = session.execute(select(AssistanceRequest.reference, AssistanceRequest.area_code,
                                   AssistanceRequest.created_at)
                            .where(AssistanceRequest.conversation_id == conversation_id)
                            .order_by(AssistanceRequest.created_at, AssistanceRequest.id)).all()
    if all(in_area(r.area_code, user_area) for r in filed):
        return VisibleTranscript(messages, 0)
    ends = []  # when each request's part ends: its filing turn (the reply naming it), else its time
    for r in filed:
        created = aware(r.created_at)
        end = created
        for direction, text, at in messages:
            at = aware(at)
            if created <= at <= created + FILING_TURN and direction == "out" and r.reference in text:
                end = at
                break
        ends.append(max(end, ends[-1]) if ends else end)
    shown, hidden = [], 0
    for message in messages:
        at = aware(message[2])
        owner = next((r for r, end in zip(filed, ends) if at <= end), None)
        if owner is None or in_area(owner.area_code, user_area):
            shown.append(message)
        else:
            hidden += 1
    return VisibleTranscript(shown, hidden)


def lock_request(*, session: Session, request: AssistanceRequest) -> None:
    """Lock ``request``'s row for the rest of the transaction and reload it (a no-op lock on SQLite,
    whose transactions here hold the write lock from their start)."""
    session.refresh(request, with_for_update=True)


def find_request(*, session: Session, reference: str, lock: bool = False) -> AssistanceRequest | None:
    """The request with ``reference``; ``lock``: its row locked for the transaction, as committed now."""
    query = select(AssistanceRequest).where(AssistanceRequest.reference == reference.strip())
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)
