"""Ledger operations used by the dialogue engine (keyword-only, no HTTP or Telegram)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.clock import aware, utcnow
from ledger.crypto import DataCipher
from ledger.models import HandoffRequest, UrgentRecord


def create_handoff(*, session: Session, cipher: DataCipher, conversation_id: int, channel: str,
                   locality: str | None, reason: str) -> HandoffRequest:
    request = HandoffRequest(conversation_id=conversation_id, channel=channel, locality=locality,
                             reason_enc=cipher.encrypt(reason[:2000]))
    session.add(request)
    session.flush()
    return request


def open_handoff(*, session: Session, conversation_id: int) -> HandoffRequest | None:
    return session.scalar(select(HandoffRequest).where(
        HandoffRequest.conversation_id == conversation_id, HandoffRequest.status == "open"))


def handoffs_of(*, session: Session, conversation_id: int) -> list[HandoffRequest]:
    return list(session.scalars(select(HandoffRequest).where(
        HandoffRequest.conversation_id == conversation_id).order_by(HandoffRequest.id)))


URGENT_TEXT_CHARS = 8000  # an urgent record's messages, first and latest kept when repeats overflow it
DAY = dt.timedelta(days=1)


def create_urgent_record(*, session: Session, cipher: DataCipher, conversation_id: int, channel: str,
                         locality: str | None, kinds: list[str], detected_by: str, message: str,
                         per_day: int = 5, now: dt.datetime | None = None) -> UrgentRecord:
    """The conversation's urgent record: a new one, or — while one is still open, or once
    ``per_day`` records were opened today — that record again, with this message appended, its
    kinds merged, its repeat count raised (staff see it move up). A flood of emergencies from one
    conversation is one record; no emergency is ever dropped."""
    now = now or utcnow()
    found = session.scalar(select(UrgentRecord).where(UrgentRecord.conversation_id == conversation_id,
                                                      UrgentRecord.status == "new")
                           .order_by(UrgentRecord.id.desc()).limit(1).with_for_update())
    if found is None and urgent_records_since(session=session, conversation_id=conversation_id,
                                              since=now - DAY) >= per_day:
        found = session.scalar(select(UrgentRecord).where(UrgentRecord.conversation_id == conversation_id)
                               .order_by(UrgentRecord.id.desc()).limit(1).with_for_update())
    if found is None:
        record = UrgentRecord(conversation_id=conversation_id, channel=channel, locality=locality,
                              kinds=",".join(kinds) or "unspecified", detected_by=detected_by,
                              message_enc=cipher.encrypt(message[:URGENT_TEXT_CHARS]), created_at=now)
        session.add(record)
        session.flush()
        return record
    merged = [k for k in found.kinds.split(",") if k and k != "unspecified"]
    merged += [k for k in kinds if k not in merged]
    found.kinds = ",".join(merged)[:200] or "unspecified"
    found.locality = found.locality or locality
    found.status = "new"
    found.repeats = (found.repeats or 0) + 1
    found.last_seen_at = now
    found.stood_down_at = None  # a danger again: whatever the parent said before no longer holds
    _append_message(found, cipher, f"{now:%m-%d %H:%M} UTC 又发来", message)
    session.flush()
    return found


def latest_urgent_record(*, session: Session, conversation_id: int, since: dt.datetime) -> UrgentRecord | None:
    """The conversation's newest urgent record if it was opened or flagged again since ``since``."""
    record = session.scalar(select(UrgentRecord).where(UrgentRecord.conversation_id == conversation_id)
                            .order_by(UrgentRecord.id.desc()).limit(1).with_for_update())
    if record is None or aware(record.last_seen_at or record.created_at) < since:
        return None
    return record


def record_stand_down(*, session: Session, cipher: DataCipher, record: UrgentRecord, message: str,
                      now: dt.datetime | None = None) -> None:
    """The parent's word that the danger is over, added to the record for staff. The record stays
    in the queue (status unchanged): staff confirm with the family before they close it."""
    now = now or utcnow()
    record.stood_down_at = now
    _append_message(record, cipher, f"{now:%m-%d %H:%M} UTC 家长告知情况已解除", message)
    session.flush()


def record_follow_up(*, session: Session, cipher: DataCipher, record: UrgentRecord, message: str,
                     now: dt.datetime | None = None) -> None:
    """A later message of the parent about the emergency ("还没找到", "算了 不用了"), added to the record."""
    now = now or utcnow()
    _append_message(record, cipher, f"{now:%m-%d %H:%M} UTC 家长又说", message)
    session.flush()


def _append_message(record: UrgentRecord, cipher: DataCipher, label: str, message: str) -> None:
    """``message`` after the record's text under ``label``; the first and the latest kept when it overflows."""
    text = f"{cipher.decrypt(record.message_enc)}\n——（{label}）——\n{message}"
    if len(text) > URGENT_TEXT_CHARS:
        half = URGENT_TEXT_CHARS // 2
        text = text[:half] + "\n……\n" + text[-half:]
    record.message_enc = cipher.encrypt(text)


def urgent_records_since(*, session: Session, conversation_id: int, since: dt.datetime) -> int:
    return session.scalar(select(func.count()).select_from(UrgentRecord).where(
        UrgentRecord.conversation_id == conversation_id, UrgentRecord.created_at >= since)) or 0


def handoffs_since(*, session: Session, conversation_id: int, since: dt.datetime) -> int:
    return session.scalar(select(func.count()).select_from(HandoffRequest).where(
        HandoffRequest.conversation_id == conversation_id, HandoffRequest.created_at >= since)) or 0


# The references of the two kinds of case beside the requests' own (LD-2026-000123): a prefix and the
# record's number, six digits at least.
CASE_PREFIXES = {"handoff": "H-", "urgent": "U-"}


def handoff_reference(request: HandoffRequest) -> str:
    """The reference staff and the parent use for a request for a person (H-000012)."""
    return f"{CASE_PREFIXES['handoff']}{request.id:06d}"


def urgent_reference(record: UrgentRecord) -> str:
    """The reference staff use for an urgent record (U-000003)."""
    return f"{CASE_PREFIXES['urgent']}{record.id:06d}"


def case_of_reference(reference: str) -> tuple[str, int] | None:
    """(kind, record id) of a case's reference as the two functions above write it ("H-000012" →
    ("handoff", 12)); None for any other text (an assistance request's reference among them)."""
    for kind, prefix in CASE_PREFIXES.items():
        number = reference.removeprefix(prefix)
        if number != reference and number.isdigit():
            return kind, int(number)
    return None
