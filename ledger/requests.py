"""Assistance requests: filing (with duplicate detection), listing, deletion requests.

Keyword-only functions over a SQLAlchemy session; personal fields are encrypted with the
cipher and matched by keyed hashes, never decrypted here except for the parent's own view.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.crypto import DataCipher
from ledger.models import AssistanceRequest, AuditEvent, Committee, StatusChange

CONSENT_NOTICE_VERSION = "2026-11-v1"
DUPLICATE_WINDOW = dt.timedelta(days=30)
STATUS_LABELS = {
    "submitted": "已提交，等待审核",
    "under_review": "审核中",
    "accepted": "已纳入重点关爱台账",
    "referred": "已转介到相关部门",
    "not_eligible": "不符合条件",
    "closed": "已结案",
}


@dataclass(frozen=True)
class RequestData:
    """A validated form, as the parent gave it."""

    child_name: str
    child_age: int
    hukou: dict  # {"code", "name", "text"}
    residence: dict
    months_at_residence: float
    guardian_name: str
    guardian_relation: str
    guardian_phone: str
    situations: list[str]
    description: str
    consent_at: dt.datetime


@dataclass(frozen=True)
class Filed:
    request: AssistanceRequest
    duplicate_of: AssistanceRequest | None  # set when this filing was merged into an earlier one


def child_key(cipher: DataCipher, data: RequestData) -> str:
    return cipher.lookup_hash(f"child:{data.child_name}|{data.guardian_phone}")


def area_of(*, session: Session, residence_code: str, referral: str | None) -> str:
    """The most specific area a request belongs to: the referring committee's community when it
    lies in the district the family lives in, else that district."""
    if referral:
        committee = committee_by_code(session=session, code=referral)
        if committee is not None and committee.locality_code[:6] == residence_code[:6]:
            return committee.locality_code
    return residence_code


def committee_by_code(*, session: Session, code: str) -> Committee | None:
    return session.scalar(select(Committee).where(Committee.code == code, Committee.active.is_(True)))


def file_request(*, session: Session, cipher: DataCipher, data: RequestData, conversation_id: int | None,
                 channel: str, referral: str | None = None, urgency: str = "normal",
                 now: dt.datetime | None = None) -> Filed:
    """Store a request, or — for the same child within 30 days — link it to the earlier one."""
    now = now or dt.datetime.now(dt.timezone.utc)
    key = child_key(cipher, data)
    earlier = session.scalar(
        select(AssistanceRequest)
        .where(AssistanceRequest.child_key_hash == key, AssistanceRequest.duplicate_of_id.is_(None),
               AssistanceRequest.created_at >= now - DUPLICATE_WINDOW)
        .order_by(AssistanceRequest.id)
    )
    if earlier is not None:
        session.add(StatusChange(request_id=earlier.id, status=earlier.status, changed_by="parent",
                                 note="家长在30天内再次提交了同一个孩子的申请，已合并到本申请。", changed_at=now))
        return Filed(earlier, earlier)
    request = AssistanceRequest(
        reference=f"tmp-{uuid.uuid4().hex[:14]}", conversation_id=conversation_id, channel=channel,
        referral=referral, child_name_enc=cipher.encrypt(data.child_name), child_key_hash=key,
        child_age=data.child_age, hukou_code=data.hukou["code"], hukou_name=data.hukou["name"],
        residence_code=data.residence["code"], residence_name=data.residence["name"],
        area_code=area_of(session=session, residence_code=data.residence["code"], referral=referral),
        residence_detail_enc=cipher.encrypt(data.residence.get("text", "")),
        months_at_residence=data.months_at_residence, guardian_name_enc=cipher.encrypt(data.guardian_name),
        guardian_relation=data.guardian_relation, guardian_phone_enc=cipher.encrypt(data.guardian_phone),
        guardian_phone_hash=cipher.lookup_hash(f"phone:{data.guardian_phone}"),
        situations=",".join(data.situations), description_enc=cipher.encrypt(data.description),
        status="submitted", urgency=urgency, consent_notice_version=CONSENT_NOTICE_VERSION,
        consent_at=data.consent_at, created_at=now,
    )
    session.add(request)
    session.flush()
    request.reference = f"LD-{now:%Y}-{request.id:06d}"
    session.add(StatusChange(request_id=request.id, status="submitted", changed_by="parent",
                             note="家长通过对话提交", changed_at=now))
    session.add(AuditEvent(actor=f"parent:{conversation_id}", action="request.create",
                           target=request.reference))
    session.flush()
    return Filed(request, None)


def requests_of(*, session: Session, conversation_id: int,
                references: list[str] | None = None) -> list[AssistanceRequest]:
    """The conversation's requests, plus earlier ones its filings were merged into."""
    condition = AssistanceRequest.conversation_id == conversation_id
    if references:
        condition = condition | AssistanceRequest.reference.in_(references)
    return list(session.scalars(select(AssistanceRequest).where(condition).order_by(AssistanceRequest.id)))


def mark_for_deletion(*, session: Session, conversation_id: int, now: dt.datetime | None = None) -> int:
    """Flag the conversation's requests for staff: the law may require keeping case records."""
    now = now or dt.datetime.now(dt.timezone.utc)
    rows = requests_of(session=session, conversation_id=conversation_id)
    for row in rows:
        row.deletion_requested_at = now
        session.add(AuditEvent(actor=f"parent:{conversation_id}", action="request.deletion_requested",
                               target=row.reference))
    return len(rows)
