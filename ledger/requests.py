"""Assistance requests: filing (with duplicate detection), listing, deletion requests.

Keyword-only functions over a SQLAlchemy session; personal fields are encrypted with the
cipher and matched by keyed hashes, never decrypted here except for the parent's own view.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.clock import utcnow
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
# The situations of the ledger's list (shared/DOMAIN.md), in their order, with the names staff read (the
# pages, the export); a request stores their codes comma-separated. The one vocabulary: the form offers
# these codes, and nlu reads them in a parent's words (tests/test_form_validation.py).
SITUATION_LABELS = {
    "family_hardship": "家庭生活困难",
    "disability": "自身残疾",
    "guardianship_gap": "监护缺失",
    "vagrancy": "流浪",
    "psych_behavior": "心理和行为异常",
    "self_request": "主动提出救助帮扶需求",
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
    return child_key_of(cipher, data.child_name, data.guardian_phone)


def child_key_of(cipher: DataCipher, child_name: str, guardian_phone: str) -> str:
    """The keyed hash that finds a second filing for the same child (recomputed on key rotation)."""
    return cipher.lookup_hash(f"child:{child_name}|{guardian_phone}")


def phone_hash(cipher: DataCipher, guardian_phone: str) -> str:
    return cipher.lookup_hash(f"phone:{guardian_phone}")


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
    """Store a request, or — the same child filed again from the same conversation within 30 days —
    merge it into the earlier one. The same child from another conversation is a new request
    linked to the earlier one for staff (``duplicate_of_id``): who files must never learn another
    family's reference by typing their child's name and phone."""
    now = now or utcnow()
    key = child_key(cipher, data)
    earlier = session.scalar(
        select(AssistanceRequest)
        .where(AssistanceRequest.child_key_hash == key, AssistanceRequest.duplicate_of_id.is_(None),
               AssistanceRequest.created_at >= now - DUPLICATE_WINDOW)
        .order_by(AssistanceRequest.id)
    )
    if earlier is not None and (conversation_id is None or earlier.conversation_id != conversation_id):
        request = _new_request(session, cipher, data, key, conversation_id=conversation_id, channel=channel,
                               referral=referral, urgency=urgency, now=now)
        request.duplicate_of_id = earlier.id
        session.add(StatusChange(request_id=request.id, status="submitted", changed_by="system",
                                 note=f"可能与 {earlier.reference} 是同一个孩子（另一个对话提交），请核对后合并。",
                                 changed_at=now))
        return Filed(request, None)
    if earlier is not None:
        session.add(StatusChange(request_id=earlier.id, status=earlier.status, changed_by="parent",
                                 note="家长在30天内再次提交了同一个孩子的申请，已合并到本申请。", changed_at=now))
        return Filed(earlier, earlier)
    return Filed(_new_request(session, cipher, data, key, conversation_id=conversation_id, channel=channel,
                              referral=referral, urgency=urgency, now=now), None)


def _new_request(session: Session, cipher: DataCipher, data: RequestData, key: str, *, conversation_id: int | None,
                 channel: str, referral: str | None, urgency: str, now: dt.datetime) -> AssistanceRequest:
    request = AssistanceRequest(
        reference=f"tmp-{uuid.uuid4().hex[:14]}", conversation_id=conversation_id, channel=channel,
        referral=referral, child_name_enc=cipher.encrypt(data.child_name), child_key_hash=key,
        child_age=data.child_age, hukou_code=data.hukou["code"], hukou_name=data.hukou["name"],
        residence_code=data.residence["code"], residence_name=data.residence["name"],
        area_code=area_of(session=session, residence_code=data.residence["code"], referral=referral),
        residence_detail_enc=cipher.encrypt(data.residence.get("text", "")),
        months_at_residence=data.months_at_residence, guardian_name_enc=cipher.encrypt(data.guardian_name),
        guardian_relation=data.guardian_relation, guardian_phone_enc=cipher.encrypt(data.guardian_phone),
        guardian_phone_hash=phone_hash(cipher, data.guardian_phone),
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
    return request


def requests_of(*, session: Session, conversation_id: int,
                references: list[str] | None = None) -> list[AssistanceRequest]:
    """The conversation's requests, plus earlier ones its filings were merged into."""
    condition = AssistanceRequest.conversation_id == conversation_id
    if references:
        condition = condition | AssistanceRequest.reference.in_(references)
    return list(session.scalars(select(AssistanceRequest).where(condition).order_by(AssistanceRequest.id)))


def requests_since(*, session: Session, conversation_id: int, since: dt.datetime) -> int:
    """Requests this conversation filed since ``since`` (for the daily quota)."""
    return session.scalar(select(func.count()).select_from(AssistanceRequest).where(
        AssistanceRequest.conversation_id == conversation_id, AssistanceRequest.created_at >= since)) or 0

