"""The priority-care ledger as staff read it: pages of entries, the visits and reviews due, and the
rows of the export (decrypted)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.areas import area_clause
from ledger.clock import beijing_date
from ledger.crypto import DataCipher
from ledger.models import AssistanceRequest, LedgerEntry, Visit
from ledger.paging import Page
from ledger.queue import QUEUE_PAGE_SIZE

REVIEW_DUE_WITHIN = dt.timedelta(days=14)
LEDGER_VIEWS = {"active": "在册", "overdue": "走访已逾期", "review": "14天内需复核", "closed": "已结案", "all": "全部"}


def _last_visit():
    return (select(Visit.entry_id, func.max(Visit.visited_on).label("last_visit_on"))
            .group_by(Visit.entry_id).subquery())


def _ledger_select(last):
    return (select(LedgerEntry.id.label("entry_id"), LedgerEntry.locality, LedgerEntry.accepted_at,
                   LedgerEntry.next_visit_on, LedgerEntry.next_review_on, LedgerEntry.status.label("entry_status"),
                   AssistanceRequest.reference, AssistanceRequest.situations, AssistanceRequest.child_age,
                   AssistanceRequest.residence_name, last.c.last_visit_on)
            .join(AssistanceRequest, AssistanceRequest.id == LedgerEntry.request_id)
            .outerjoin(last, last.c.entry_id == LedgerEntry.id))


def ledger_page(*, session: Session, user_area: str, view: str, today: dt.date, page: int = 1,
                per_page: int = QUEUE_PAGE_SIZE, sub_area: str = "") -> Page:
    conditions = [area_clause(LedgerEntry.locality, user_area)]
    if sub_area and sub_area != user_area:
        conditions.append(area_clause(LedgerEntry.locality, sub_area))
    if view in ("active", "overdue", "review"):
        conditions.append(LedgerEntry.status == "active")
    if view == "overdue":
        conditions.append(LedgerEntry.next_visit_on < today)
    elif view == "review":
        conditions.append(LedgerEntry.next_review_on <= today + REVIEW_DUE_WITHIN)
    elif view == "closed":
        conditions.append(LedgerEntry.status == "closed")
    total = session.scalar(select(func.count()).select_from(LedgerEntry).where(*conditions))
    order = {"overdue": (LedgerEntry.next_visit_on.asc(),),
             "review": (LedgerEntry.next_review_on.asc(),)}.get(view, (LedgerEntry.accepted_at.desc(),))
    page = max(1, min(page, max(1, -(-total // per_page))))
    rows = session.execute(_ledger_select(_last_visit()).where(*conditions)
                           .order_by(*order, LedgerEntry.id).limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(rows), total, page, per_page)


def due_lists(*, session: Session, user_area: str, today: dt.date, limit: int = 200) -> tuple[list, list]:
    """(overdue visits, reviews due within 14 days) of the active ledger entries in the area."""
    base = [area_clause(LedgerEntry.locality, user_area), LedgerEntry.status == "active"]
    last = _last_visit()
    overdue = session.execute(_ledger_select(last).where(*base, LedgerEntry.next_visit_on < today)
                              .order_by(LedgerEntry.next_visit_on, LedgerEntry.id).limit(limit)).all()
    reviews = session.execute(_ledger_select(last).where(*base, LedgerEntry.next_review_on <= today + REVIEW_DUE_WITHIN)
                              .order_by(LedgerEntry.next_review_on, LedgerEntry.id).limit(limit)).all()
    return list(overdue), list(reviews)


def export_rows(*, session: Session, cipher: DataCipher, user_area: str, include_closed: bool = False,
                situation_labels: dict[str, str] | None = None, status_labels: dict[str, str] | None = None,
                batch: int = 1000):
    """Ledger rows for the export (decrypted; the caller audits the export). A generator."""
    last = _last_visit()
    conditions = [area_clause(LedgerEntry.locality, user_area)]
    if not include_closed:
        conditions.append(LedgerEntry.status == "active")
    query = (select(LedgerEntry, AssistanceRequest, last.c.last_visit_on)
             .join(AssistanceRequest, AssistanceRequest.id == LedgerEntry.request_id)
             .outerjoin(last, last.c.entry_id == LedgerEntry.id)
             .where(*conditions).order_by(LedgerEntry.accepted_at, LedgerEntry.id))
    labels = status_labels or {}
    for entry, request, last_visit_on in session.execute(query.execution_options(yield_per=batch)):
        detail = cipher.decrypt(request.residence_detail_enc) or ""
        yield {
            "reference": request.reference,
            "child_name": cipher.decrypt(request.child_name_enc),
            "child_age": request.child_age,
            "hukou": request.hukou_name,
            "residence": f"{request.residence_name} {detail}".strip(),
            "months_at_residence": request.months_at_residence,
            "guardian_name": cipher.decrypt(request.guardian_name_enc),
            "guardian_relation": request.guardian_relation,
            "guardian_phone": cipher.decrypt(request.guardian_phone_enc),
            "situations": [s for s in request.situations.split(",") if s],
            "area_code": request.area_code,
            "accepted_on": beijing_date(entry.accepted_at),
            "last_visit_on": last_visit_on,
            "next_visit_on": entry.next_visit_on,
            "next_review_on": entry.next_review_on,
            "status": labels.get(entry.status, entry.status),
        }
