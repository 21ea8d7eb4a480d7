"""Visit reminders: a few days before a ledger child's planned home visit (``next_visit_on``), the
parent is told that a child director or civil-affairs worker will phone to arrange it.

Migrant parents often do not answer calls from numbers they do not know; a word in the chat they
use makes the call expected. The reminder names the month and day only as a plan ("前后"): staff set
``next_visit_on`` as the date a visit is due, not an appointment agreed with the family. Nothing
in it comes from the case notes.

``queue_visit_reminders`` puts one notification per entry and planned date in the outbox
(``visit:<entry>:<date>`` as its dedupe key, so running it again, or in several workers, adds
nothing), through ``outbox.notify``: only for conversations on a channel that can push, not blocked.
Run inside ``tongban serve`` by the housekeeping thread (``tongban/runtime.py``), in daytime hours only.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import outbox
from ledger.clock import BEIJING, utcnow
from ledger.crypto import DataCipher
from ledger.models import AssistanceRequest, Conversation, LedgerEntry
from ledger.reply import NOTIFICATION, Reply

LEAD_DAYS = 3  # reminded this many days (or fewer) before the planned date
HOURS = range(9, 20)  # Beijing hours in which reminders are queued (they are delivered at once)


def visit_reminder(reference: str, day: dt.date) -> Reply:
    return Reply(f"您的帮扶申请 {reference}：儿童主任或民政工作人员计划在{day.month}月{day.day}日前后上门看望孩子，"
                 "会先打电话和您约时间，请留意来电。\n时间不方便或者电话号码换了，可以回复“人工”告诉工作人员。",
                 kind=NOTIFICATION)


def visit_summary(reference: str, day: dt.date) -> dict[str, str]:
    """The same reminder in short fields (``outbox.notify``'s summary: a WeChat template message)."""
    return {"title": "上门走访提醒", "reference": reference, "status": "计划上门走访", "status_short": "上门走访",
            "time": day.isoformat(), "next": "工作人员会先来电约时间，请留意"}


def queue_visit_reminders(*, session: Session, cipher: DataCipher, now: dt.datetime | None = None,
                          lead_days: int = LEAD_DAYS) -> int:
    """Queue the reminders due now; how many were new. Nothing outside ``HOURS`` (Beijing time)."""
    local = (now or utcnow()).astimezone(BEIJING)
    if local.hour not in HOURS:
        return 0
    today = local.date()
    rows = session.execute(
        select(LedgerEntry.id, LedgerEntry.next_visit_on, AssistanceRequest.reference, Conversation)
        .join(AssistanceRequest, AssistanceRequest.id == LedgerEntry.request_id)
        .join(Conversation, Conversation.id == AssistanceRequest.conversation_id)
        .where(LedgerEntry.status == "active", AssistanceRequest.anonymised_at.is_(None),
               LedgerEntry.next_visit_on > today,
               LedgerEntry.next_visit_on <= today + dt.timedelta(days=lead_days))
        .order_by(LedgerEntry.id)).all()
    queued = 0
    for entry_id, day, reference, conversation in rows:
        if outbox.notify(session=session, cipher=cipher, conversation=conversation,
                         reply=visit_reminder(reference, day), summary=visit_summary(reference, day),
                         dedupe_key=f"visit:{entry_id}:{day.isoformat()}"):
            queued += 1
    return queued
