"""Counts by status, situation, area and month, with server-rendered SVG charts."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request
from markupsafe import Markup
from sqlalchemy import select

import datetime as dt

import ledger.dashboard
from ledger import alert_status, clock, duty
from ledger.areas import AreaDirectory, area_clause, area_name, child_area_length
from ledger.duty_models import DutyShift
from ledger.models import Committee
from ledger.requests import SITUATION_LABELS, STATUS_LABELS
from staff.auth import require_staff
from staff.charts import bar_chart_svg, column_chart_svg
from staff.common import Staff, render, runtime
from staff.views.duty import GAP_DAYS, span_text

router = APIRouter()
ACK_WINDOW = dt.timedelta(days=30)  # the dashboard's time-to-acknowledge covers the alerts of the last 30 days


def _svg(markup: str) -> Markup:
    """An escaped chart from staff.charts, without inline style attributes (the CSP forbids them;
    staff.css sizes the charts)."""
    return Markup(re.sub(r'\sstyle="[^"]*"', "", markup))


def _area_label(code: str, names: dict[str, str], user_area: str, length: int, areas: AreaDirectory) -> str:
    if len(code) < length:
        return f"{area_name(code, names, areas=areas)}（直接受理）"
    return area_name(code, names, areas=areas)


@router.get("/dashboard", name="staff_dashboard")
def dashboard(request: Request, staff: Staff = Depends(require_staff)):
    today = clock.beijing_today()
    with runtime(request).db.session() as session:
        board = ledger.dashboard.dashboard(session=session, user_area=staff.area, today=today)
        now = clock.utcnow()
        acks = alert_status.ack_stats(session, user_area=staff.area, since=now - ACK_WINDOW)
        alert_health = alert_status.health(session, user_area=staff.area, now=now)
        duty_gaps, rostered = [], True
        if staff.can("duty"):  # the gaps ahead, before they happen (nobody on duty: alerts skip a level)
            duty_gaps = [(code, [span_text(b, e) for b, e in spans])
                         for code, spans in duty.areas_with_gaps(session, staff.area, now, GAP_DAYS)]
            rostered = session.scalar(select(DutyShift.id).where(area_clause(DutyShift.area_code, staff.area))
                                      .limit(1)) is not None
        names = dict(session.execute(select(Committee.locality_code, Committee.locality_name)
                                     .where(area_clause(Committee.locality_code, staff.area))).all())
    length = child_area_length(staff.area)
    status_data = [(STATUS_LABELS[s], n) for s, n in board.by_status]
    situation_data = [(SITUATION_LABELS.get(s, s), n) for s, n in board.by_situation]
    areas = runtime(request).areas
    area_data = [(_area_label(code, names, staff.area, length, areas), n) for code, n in board.by_area]
    month_data = [(m, n) for m, n in board.by_month]
    charts = {
        "status": _svg(bar_chart_svg("按状态", status_data)),
        "situation": _svg(bar_chart_svg("按困境情形（一份申请可有多项）", situation_data)),
        "area": _svg(bar_chart_svg("按地区", area_data)),
        "month": _svg(column_chart_svg("按提交月份（近 12 个月）", month_data)),
    }
    return render(request, "dashboard.html", {
        "board": board, "charts": charts, "status_data": status_data, "situation_data": situation_data,
        "area_data": area_data, "month_data": month_data, "today": today,
        "acks": acks, "alert_health": alert_health, "ack_window_days": ACK_WINDOW.days,
        "duty_gaps": duty_gaps, "rostered": rostered, "gap_days": GAP_DAYS,
    })
