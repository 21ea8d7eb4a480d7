"""The ledger list, the visit reminders (overdue visits, reviews due) and the ledger export."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from ledger import clock
from ledger.areas import area_clause
from ledger.audit import audit
from ledger.committees import locality_names
from ledger.entries import LEDGER_VIEWS, REVIEW_DUE_WITHIN, due_lists, export_rows, ledger_page
from ledger.models import LedgerEntry
from staff import export
from staff.auth import need, require_staff
from staff.common import ENTRY_STATUS_LABELS, FormErrors, Staff, area_filter, page_number, render, runtime
from staff.views.casework import form_data

router = APIRouter()

EXPORT_FORMATS = {"csv": ("text/csv; charset=utf-8", "csv"),
                  "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")}


@router.get("/ledger", name="staff_ledger")
def ledger_list(request: Request, staff: Staff = Depends(require_staff)):
    errors = FormErrors()
    view = request.query_params.get("view", "active")
    if view not in LEDGER_VIEWS:
        errors.add("view", "请选择列表中的范围。")
        view = "active"
    area = area_filter(request.query_params.get("area"), staff, errors)
    today = clock.beijing_today()
    with runtime(request).db.session() as session:
        page = ledger_page(session=session, user_area=staff.area, view=view, today=today,
                           page=page_number(request), sub_area=area)
        names = locality_names(session, [row.locality for row in page.rows])
    return render(request, "ledger.html", {"page": page, "view": view, "views": LEDGER_VIEWS,
                                           "today": today, "errors": errors, "names": names,
                                           "area_value": request.query_params.get("area", "")},
                  status_code=400 if errors else 200)


@router.get("/visits", name="staff_visits")
def visit_reminders(request: Request, staff: Staff = Depends(require_staff)):
    today = clock.beijing_today()
    with runtime(request).db.session() as session:
        overdue, reviews = due_lists(session=session, user_area=staff.area, today=today)
        names = locality_names(session, [row.locality for row in overdue + reviews])
    return render(request, "visits.html", {"overdue": overdue, "reviews": reviews, "today": today,
                                           "review_until": today + REVIEW_DUE_WITHIN, "names": names})


def _export_counts(session, staff: Staff) -> tuple[int, int]:
    area = area_clause(LedgerEntry.locality, staff.area)
    active = session.scalar(select(func.count()).select_from(LedgerEntry).where(area, LedgerEntry.status == "active"))
    total = session.scalar(select(func.count()).select_from(LedgerEntry).where(area))
    return active, total


@router.get("/export", name="staff_export")
def export_form(request: Request, staff: Staff = Depends(need("export"))):
    with runtime(request).db.session() as session:
        active, total = _export_counts(session, staff)
    return render(request, "export.html", {"active": active, "total": total,
                                           "columns": export.LEDGER_COLUMNS})


@router.post("/export")
def export_ledger(request: Request, staff: Staff = Depends(need("export")), form=Depends(form_data)):
    fmt = form.get("format")
    if fmt not in EXPORT_FORMATS:
        with runtime(request).db.session() as session:
            active, total = _export_counts(session, staff)
        return render(request, "export.html", {"active": active, "total": total, "columns": export.LEDGER_COLUMNS,
                                               "errors": {"format": "请选择导出格式（CSV 或 Excel）。"}},
                      status_code=400)
    include_closed = form.get("include_closed") == "1"
    rt = runtime(request)
    with rt.db.session() as session:
        rows = list(export_rows(session=session, cipher=rt.cipher, user_area=staff.area,
                                include_closed=include_closed, status_labels=ENTRY_STATUS_LABELS))
        audit(session, actor=staff.username, action="ledger.export", target=f"area:{staff.area}",
              detail=f"format={fmt} rows={len(rows)} closed={'yes' if include_closed else 'no'}")
    body = export.ledger_csv(rows) if fmt == "csv" else export.ledger_xlsx(rows)
    media_type, extension = EXPORT_FORMATS[fmt]
    stamp = dt.datetime.now(clock.BEIJING).strftime("%Y%m%d-%H%M")
    filename = f"重点关爱台账-{staff.area}-{stamp}.{extension}"
    ascii_name = f"ledger-{staff.area}-{stamp}.{extension}"
    return Response(body, media_type=media_type, headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"})
