"""The review queue: one page of the area's assistance requests, filtered, without personal fields;
and the references staff type to find a record."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ledger.areas import area_clause
from ledger.clock import day_start
from ledger.models import AssistanceRequest
from ledger.paging import Page
from ledger.services import CASE_PREFIXES

OPEN_STATUSES = ("submitted", "under_review")
QUEUE_PAGE_SIZE = 50
_REFERENCE = re.compile(r"^(LD-\d{4}-\d{6,}|%s)$" % "|".join(rf"{p}\d{{6,}}" for p in CASE_PREFIXES.values()))


def normalise_reference(text: str) -> str | None:
    """'ld-2026-000123 ' → 'LD-2026-000123'; None if it does not look like one of our references."""
    cleaned = re.sub(r"\s+", "", text or "").upper().replace("—", "-").replace("－", "-")
    return cleaned if _REFERENCE.match(cleaned) else None


@dataclass
class QueueFilter:
    status: str = "open"  # open (submitted + under review), all, or one status
    situation: str = ""
    area: str = ""  # narrows the user's area: a 6/9/12-digit code inside it
    since: dt.date | None = None
    until: dt.date | None = None
    reference: str = ""
    order: str = "newest"  # newest / oldest
    page: int = 1

_QUEUE_COLUMNS = (AssistanceRequest.id, AssistanceRequest.reference, AssistanceRequest.status,
                  AssistanceRequest.urgency, AssistanceRequest.situations, AssistanceRequest.area_code,
                  AssistanceRequest.residence_name, AssistanceRequest.child_age, AssistanceRequest.channel,
                  AssistanceRequest.referral, AssistanceRequest.created_at,
                  AssistanceRequest.deletion_requested_at)


def situation_clause(column, code: str) -> ColumnElement[bool]:
    """A comma-separated code list contains ``code``."""
    return (literal(",") + column + literal(",")).like(f"%,{code},%")


def _request_conditions(user_area: str, f: QueueFilter) -> list[ColumnElement[bool]]:
    conditions = [area_clause(AssistanceRequest.area_code, user_area)]
    if f.area and f.area != user_area:
        conditions.append(area_clause(AssistanceRequest.area_code, f.area))
    if f.status == "open":
        conditions.append(AssistanceRequest.status.in_(OPEN_STATUSES))
    elif f.status and f.status != "all":
        conditions.append(AssistanceRequest.status == f.status)
    if f.situation:
        conditions.append(situation_clause(AssistanceRequest.situations, f.situation))
    if f.since:
        conditions.append(AssistanceRequest.created_at >= day_start(f.since))
    if f.until:
        conditions.append(AssistanceRequest.created_at < day_start(f.until + dt.timedelta(days=1)))
    if f.reference:
        conditions.append(AssistanceRequest.reference == f.reference)
    return conditions


def queue_page(*, session: Session, user_area: str, f: QueueFilter, per_page: int = QUEUE_PAGE_SIZE) -> Page:
    """One page of requests (no personal fields): the filter's conditions, the area in the SQL."""
    conditions = _request_conditions(user_area, f)
    total = session.scalar(select(func.count()).select_from(AssistanceRequest).where(*conditions))
    order = (AssistanceRequest.created_at.asc(), AssistanceRequest.id.asc()) if f.order == "oldest" else \
        (AssistanceRequest.created_at.desc(), AssistanceRequest.id.desc())
    page = max(1, min(f.page, max(1, -(-total // per_page))))
    rows = session.execute(select(*_QUEUE_COLUMNS).where(*conditions).order_by(*order)
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(rows), total, page, per_page)
