"""The audit log: who did or saw what, and which events an admin of an area may read."""

from __future__ import annotations

import datetime as dt
import getpass

from sqlalchemy import func, literal, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ledger.areas import NATIONAL, area_clause, area_prefix
from ledger.clock import day_start, utcnow
from ledger.models import AssistanceRequest, AuditEvent
from ledger.paging import Page
from ledger.staff_models import StaffUser


def audit(session: Session, *, actor: str, action: str, target: str, detail: str = "",
          now: dt.datetime | None = None) -> None:
    session.add(AuditEvent(actor=(actor or "-")[:64], action=action[:40], target=(target or "-")[:80],
                           detail=detail, at=now or utcnow()))


def cli_actor() -> str:
    """Who ran a ``tongban`` command, as the audit log names them: ``cli:<login name>``."""
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "cli"


def audit_area_clause(user_area: str) -> ColumnElement[bool]:
    """The audit events an admin of ``user_area`` may read: those of the accounts of the area, and
    those about its requests and accounts (whoever did them). National: every event."""
    if not area_prefix(user_area):
        return true()
    in_area_ = area_clause(StaffUser.area_code, user_area)
    return or_(AuditEvent.actor.in_(select(StaffUser.username).where(in_area_)),
               AuditEvent.target.in_(select(literal("user:") + StaffUser.username).where(in_area_)),
               AuditEvent.target.in_(select(AssistanceRequest.reference)
                                     .where(area_clause(AssistanceRequest.area_code, user_area))))


def audit_page(*, session: Session, page: int = 1, per_page: int = 100, actor: str = "", action: str = "",
               target: str = "", since: dt.date | None = None, until: dt.date | None = None,
               user_area: str = NATIONAL) -> Page:
    conditions = [audit_area_clause(user_area)]
    if actor:
        conditions.append(AuditEvent.actor == actor)
    if action:
        conditions.append(AuditEvent.action.like(action.replace("%", "") + "%"))
    if target:
        conditions.append(AuditEvent.target == target)
    if since:
        conditions.append(AuditEvent.at >= day_start(since))
    if until:
        conditions.append(AuditEvent.at < day_start(until + dt.timedelta(days=1)))
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions))
    rows = list(session.scalars(select(AuditEvent).where(*conditions).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                                .limit(per_page).offset((page - 1) * per_page)))
    return Page(rows, total, page, per_page)
