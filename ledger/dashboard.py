"""The dashboard's counts for an area: requests by status, situation, area and month, the open
urgent records and handoffs, and the ledger's visits and reviews due."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from ledger.areas import area_clause, child_area_length
from ledger.cases import case_place_clause
from ledger.clock import day_start
from ledger.entries import REVIEW_DUE_WITHIN
from ledger.models import AssistanceRequest, HandoffRequest, LedgerEntry, UrgentRecord
from ledger.queue import situation_clause
from ledger.requests import SITUATION_LABELS



def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def month_expression(session: Session, column):
    """YYYY-MM of a timestamp in Beijing time, in either database."""
    if _dialect(session) == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+8 hours")


@dataclass
class Dashboard:
    by_status: list[tuple[str, int]]
    by_situation: list[tuple[str, int]]
    by_area: list[tuple[str, int]]
    by_month: list[tuple[str, int]]
    total: int
    open_urgent: int
    open_handoffs: int
    active_entries: int
    overdue_visits: int
    reviews_due: int


def dashboard(*, session: Session, user_area: str, today: dt.date, months: int = 12) -> Dashboard:
    in_area_ = area_clause(AssistanceRequest.area_code, user_area)
    sums = [func.coalesce(func.sum(case((situation_clause(AssistanceRequest.situations, code), 1), else_=0)), 0)
            for code in SITUATION_LABELS]
    by_status: dict[str, int] = {}
    situation_counts = [0] * len(SITUATION_LABELS)
    for status, n, *per_situation in session.execute(  # one pass for both
            select(AssistanceRequest.status, func.count(), *sums).where(in_area_).group_by(AssistanceRequest.status)):
        by_status[status] = n
        situation_counts = [a + int(b or 0) for a, b in zip(situation_counts, per_situation)]
    length = child_area_length(user_area)
    area_key = func.substr(AssistanceRequest.area_code, 1, length)
    by_area = session.execute(select(area_key, func.count()).where(in_area_).group_by(area_key)
                              .order_by(func.count().desc()).limit(30)).all()
    first_month = dt.date(today.year, today.month, 1)
    for _ in range(months - 1):
        first_month = (first_month - dt.timedelta(days=1)).replace(day=1)
    month = month_expression(session, AssistanceRequest.created_at)
    by_month = dict(session.execute(select(month, func.count())
                                    .where(in_area_, AssistanceRequest.created_at >= day_start(first_month))
                                    .group_by(month)).all())
    month_keys, cursor = [], first_month
    while cursor <= today:
        month_keys.append(f"{cursor:%Y-%m}")
        cursor = (cursor + dt.timedelta(days=32)).replace(day=1)
    entry_area = area_clause(LedgerEntry.locality, user_area)
    active = and_(entry_area, LedgerEntry.status == "active")
    count = lambda *conds: session.scalar(select(func.count()).select_from(LedgerEntry).where(*conds))  # noqa: E731
    return Dashboard(
        by_status=[(s, by_status.get(s, 0)) for s in ("submitted", "under_review", "accepted", "referred",
                                                      "not_eligible", "closed")],
        by_situation=list(zip(SITUATION_LABELS, situation_counts)),
        by_area=[(code, n) for code, n in by_area],
        by_month=[(m, by_month.get(m, 0)) for m in month_keys],
        total=sum(by_status.values()),
        open_urgent=session.scalar(select(func.count()).select_from(UrgentRecord).where(
            UrgentRecord.status == "new", case_place_clause(UrgentRecord, user_area))),
        open_handoffs=session.scalar(select(func.count()).select_from(HandoffRequest).where(
            HandoffRequest.status == "open", case_place_clause(HandoffRequest, user_area))),
        active_entries=count(active),
        overdue_visits=count(active, LedgerEntry.next_visit_on < today),
        reviews_due=count(active, LedgerEntry.next_review_on <= today + REVIEW_DUE_WITHIN),
    )
