"""Ledger operations used by the dialogue engine (keyword-only, no HTTP or Telegram)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

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


def create_urgent_record(*, session: Session, cipher: DataCipher, conversation_id: int, channel: str,
                         locality: str | None, kinds: list[str], detected_by: str,
                         message: str) -> UrgentRecord:
    record = UrgentRecord(conversation_id=conversation_id, channel=channel, locality=locality,
                          kinds=",".join(kinds) or "unspecified", detected_by=detected_by,
                          message_enc=cipher.encrypt(message[:4000]))
    session.add(record)
    session.flush()
    return record


def handoff_reference(request: HandoffRequest) -> str:
    return f"H-{request.id:06d}"
