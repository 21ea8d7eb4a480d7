"""Urgent records and requests for a person as staff work them: which area is responsible for each,
the open lists, and the notes written while handling them.

Urgent records and handoff requests carry the family's district, when the conversation knew it.
One without it is the area's whose requests came from the same conversation (the referring
committee's community, or the residence district); with neither, its place is unknown and it
is on the national admins' queue, in its own "地区未知" list.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, exists, func, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ledger.areas import area_clause, area_prefix, in_area
from ledger.clock import aware, utcnow
from ledger.crypto import DataCipher
from ledger.models import AssistanceRequest, HandoffRequest, UrgentRecord
from ledger.paging import Page
from ledger.staff_models import StaffCaseNote

CASE_PAGE_SIZE = 50
# The kinds of danger an urgent record stores (comma-separated, most certain first), with the names
# staff read. The one vocabulary: nlu's safety net finds exactly these kinds (tests/test_safety.py).
DANGER_KIND_LABELS = {"abuse": "暴力或虐待", "sexual_harm": "性侵害", "self_harm": "自伤或轻生", "missing": "走失或被拐",
                      "neglect": "无人照料", "medical": "急病或意外伤害", "online": "网络诱骗或勒索",
                      "danger": "眼前的危险", "unspecified": "未分类"}
CASE_KINDS = {"urgent": (UrgentRecord, "new"), "handoff": (HandoffRequest, "open")}  # kind → model, open status


def _requests_of(model):
    return select(AssistanceRequest.id).where(AssistanceRequest.conversation_id == model.conversation_id)


def case_place_clause(model, user_area: str) -> ColumnElement[bool]:
    """Urgent records / handoffs (``model``) the area is responsible for: their district inside it,
    or — none known — a request of the same conversation inside it. National: all."""
    if not area_prefix(user_area):
        return true()
    return or_(area_clause(model.locality, user_area),
               and_(model.locality.is_(None),
                    exists(_requests_of(model).where(area_clause(AssistanceRequest.area_code, user_area)))))


def unknown_place_clause(model) -> ColumnElement[bool]:
    """No district, and no request from the same conversation to take one from."""
    return and_(model.locality.is_(None), ~exists(_requests_of(model)))


def case_places(session: Session, record) -> list[str]:
    """The area codes an urgent record or handoff belongs to (empty: unknown)."""
    if record.locality:
        return [record.locality]
    return sorted(set(session.scalars(select(AssistanceRequest.area_code)
                                      .where(AssistanceRequest.conversation_id == record.conversation_id))))


def case_visible(session: Session, record, user_area: str) -> bool:
    if not area_prefix(user_area):
        return True
    return any(in_area(code, user_area) for code in case_places(session, record))


def open_cases_page(*, session: Session, kind: str, user_area: str, sub_area: str = "", page: int = 1,
                    per_page: int = CASE_PAGE_SIZE, place: str = "all") -> Page:
    """One page of the open urgent records (newest first) or handoffs (oldest first) of the area,
    with the exact total. ``place``: all / known / unknown (national admins see the unknown apart)."""
    model, open_status = CASE_KINDS[kind]
    conditions = [model.status == open_status, case_place_clause(model, user_area)]
    if sub_area and sub_area != user_area:
        conditions.append(case_place_clause(model, sub_area))
    if place == "unknown":
        conditions.append(unknown_place_clause(model))
    elif place == "known":
        conditions.append(~unknown_place_clause(model))
    total = session.scalar(select(func.count()).select_from(model).where(*conditions))
    page = max(1, min(page, max(1, -(-total // per_page))))
    request_area = (select(func.min(AssistanceRequest.area_code))
                    .where(AssistanceRequest.conversation_id == model.conversation_id)
                    .scalar_subquery().label("request_area"))
    columns = [model.id, model.locality, model.channel, model.created_at, request_area]
    if kind == "urgent":
        columns += [model.kinds, model.detected_by, model.stood_down_at]
        order = (model.created_at.desc(), model.id.desc())
    else:
        order = (model.created_at.asc(), model.id.asc())
    rows = session.execute(select(*columns).where(*conditions).order_by(*order)
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(rows), total, page, per_page)


def open_urgent_records(*, session: Session, user_area: str, sub_area: str = "", limit: int = CASE_PAGE_SIZE) -> list:
    """The first page of :func:`open_cases_page` for urgent records."""
    return open_cases_page(session=session, kind="urgent", user_area=user_area, sub_area=sub_area,
                           per_page=limit).rows


def open_handoffs(*, session: Session, user_area: str, sub_area: str = "", limit: int = CASE_PAGE_SIZE) -> list:
    return open_cases_page(session=session, kind="handoff", user_area=user_area, sub_area=sub_area,
                           per_page=limit).rows


# ------------------------------------------------------------------ case notes

def add_case_note(*, session: Session, cipher: DataCipher, kind: str, target_id: int, note: str, status: str,
                  actor: str, now: dt.datetime | None = None) -> StaffCaseNote:
    record = StaffCaseNote(target_kind=kind, target_id=target_id, note_enc=cipher.encrypt(note), status=status,
                           written_by=actor, written_at=now or utcnow())
    session.add(record)
    return record


def case_notes(*, session: Session, cipher: DataCipher, kind: str, target_id: int) -> list[dict]:
    rows = session.scalars(select(StaffCaseNote).where(StaffCaseNote.target_kind == kind,
                                                        StaffCaseNote.target_id == target_id)
                           .order_by(StaffCaseNote.written_at, StaffCaseNote.id))
    return [{"note": cipher.decrypt(r.note_enc), "status": r.status, "by": r.written_by, "at": aware(r.written_at)}
            for r in rows]
