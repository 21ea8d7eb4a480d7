"""The queue, a request's page (details, transcript, status changes, visits), urgent records
and handoff requests."""

from __future__ import annotations


from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from actions.slots import STORED
from ledger import alert_status, alerting, casework, clock
from ledger.accounts import LIGHT_STATUSES
from ledger.areas import NATIONAL
from ledger.audit import audit
from ledger.cases import add_case_note, case_notes, case_places, case_visible, open_cases_page
from ledger.casework import CaseworkError, TRANSITIONS
from ledger.committees import locality_names
from ledger.models import AssistanceRequest, HandoffRequest, StatusChange, UrgentRecord, Visit
from ledger.queue import QueueFilter, normalise_reference, queue_page
from ledger.requests import SITUATION_LABELS, STATUS_LABELS, committee_by_code
from ledger.services import case_of_reference, handoff_reference, urgent_reference
from staff.auth import need, require_staff, take_draft
from staff.common import (PREFIX, FormErrors, NotFound, Staff, area_filter, date_field, page_number, query_date,
                          render, runtime, text_field)
from staff.export import cell_text

router = APIRouter()

QUEUE_STATUSES = {"open": "待处理（已提交、审核中）", "all": "全部", **STATUS_LABELS}


async def form_data(request: Request):
    return await request.form()


# ------------------------------------------------------------------ the queue

@router.get("/", name="staff_queue")
def queue(request: Request, staff: Staff = Depends(require_staff)):
    params = request.query_params
    errors = FormErrors()
    status = params.get("status", "open")
    if status not in QUEUE_STATUSES:
        errors.add("status", "请选择列表中的状态。")
        status = "open"
    situation = params.get("situation", "")
    if situation and situation not in SITUATION_LABELS:
        errors.add("situation", "请选择列表中的困境情形。")
        situation = ""
    area = area_filter(params.get("area"), staff, errors)
    since = query_date(request, "since", errors, "开始日期")
    until = query_date(request, "until", errors, "结束日期")
    if since and until and since > until:
        errors.add("until", "结束日期不能早于开始日期。")
    order = "oldest" if params.get("order") == "oldest" else "newest"
    q = (params.get("q") or "").strip()
    reference = ""
    if q:
        found = normalise_reference(q)
        if found is None:
            errors.add("q", "请输入完整的编号，例如 LD-2026-000123、H-000012 或 U-000003。")
        elif case := case_of_reference(found):
            kind, number = case
            return RedirectResponse(f"{PREFIX}/{CASE_PAGES[kind]}/{number}", status_code=303)
        else:
            reference, status = found, "all"
    f = QueueFilter(status=status, situation=situation, area=area, since=since, until=until,
                    reference=reference, order=order, page=page_number(request))
    rt = runtime(request)
    national = staff.area == NATIONAL
    with rt.db.session() as session:
        page = queue_page(session=session, user_area=staff.area, f=f)
        cases = {"user_area": staff.area, "sub_area": area}
        # every open urgent record is reachable: paged, with the exact count (never a silent limit)
        urgent = open_cases_page(session=session, kind="urgent", page=page_number(request, "upage"),
                                 place="known" if national and not area else "all", **cases)
        unknown = None
        if national and not area:  # no place known at all: the national admins assign them
            unknown = open_cases_page(session=session, kind="urgent", place="unknown",
                                      page=page_number(request, "xpage"), **cases)
        handoffs = open_cases_page(session=session, kind="handoff", page=page_number(request, "hpage"),
                                   **cases)
        names = locality_names(session, [row.area_code for row in page.rows])
    return render(request, "queue.html", {
        "page": page, "urgent": urgent, "unknown": unknown, "handoffs": handoffs, "f": f, "q": q,
        "errors": errors, "names": names, "statuses": QUEUE_STATUSES, "area_value": params.get("area", ""),
    }, status_code=400 if errors else 200)


# ------------------------------------------------------------------ one request

def allowed_statuses(staff: Staff, current: str) -> list[str]:
    return [s for s in TRANSITIONS.get(current, ()) if staff.can("decide") or s in LIGHT_STATUSES]


def _find_request(session, staff: Staff, reference: str, *, lock: bool = False) -> AssistanceRequest:
    """The request if the user may see it (else 404); ``lock`` before changing it."""
    ref = normalise_reference(reference)
    row = casework.find_request(session=session, reference=ref, lock=lock) if ref and ref.startswith("LD-") else None
    if row is None or not staff.sees(row.area_code):
        raise NotFound()
    return row


def request_answers(row: AssistanceRequest, cipher) -> dict[str, list[dict]]:
    """The parent's answers as staff read them, in the groups and order the form declares
    (actions/slots.py: the staff's label, the columns, decrypted), written as the export writes them."""
    groups: dict[str, list[dict]] = {}
    for slot in STORED:
        values = [cipher.decrypt(getattr(row, column.name)) if column.encrypted else getattr(row, column.name)
                  for column in slot.stored.columns]
        value = values[0] if len(values) == 1 else " ".join(str(v or "") for v in values).strip()
        groups.setdefault(slot.about, []).append({"id": slot.name.replace("_", "-"), "label": slot.staff_title,
                                                  "text": cell_text(slot.stored.field, value)})
    return groups


def _request_context(session, rt, row: AssistanceRequest, staff: Staff) -> dict:
    cipher = rt.cipher
    history = list(session.scalars(select(StatusChange).where(StatusChange.request_id == row.id)
                                   .order_by(StatusChange.changed_at, StatusChange.id)))
    notices = casework.status_notices(session=session, changes=history)
    entry = casework.entry_of(session=session, request=row)
    visits = []
    if entry is not None:
        for visit in session.scalars(select(Visit).where(Visit.entry_id == entry.id)
                                     .order_by(Visit.visited_on.desc(), Visit.id.desc())):
            visits.append({"visited_on": visit.visited_on, "visitor": visit.visitor,
                           "findings": cipher.decrypt(visit.findings_enc), "next_visit_on": visit.next_visit_on})
    transcript, hidden = [], 0
    if row.conversation_id is not None:
        visible = casework.transcript_for_area(session=session, cipher=cipher, conversation_id=row.conversation_id,
                                               user_area=staff.area)
        transcript, hidden = visible.messages, visible.hidden
    committee = committee_by_code(session=session, code=row.referral) if row.referral else None
    merged_into = session.get(AssistanceRequest, row.duplicate_of_id) if row.duplicate_of_id else None
    names = locality_names(session, [row.area_code])
    return {"req": row, "answers": request_answers(row, cipher), "history": history, "notices": notices,
            "entry": entry, "visits": visits,
            "transcript": transcript, "transcript_hidden": hidden, "committee": committee, "merged_into": merged_into,
            "allowed": allowed_statuses(staff, row.status), "today": clock.beijing_today(), "names": names}


def _render_request(request: Request, staff: Staff, reference: str, *, errors: FormErrors | None = None,
                    values: dict | None = None, form_name: str = "", status_code: int = 200):
    rt = runtime(request)
    with rt.db.session() as session:
        row = _find_request(session, staff, reference)
        draft = take_draft(request, staff, session)
        context = _request_context(session, rt, row, staff)
        audit(session, actor=staff.username, action="request.view", target=row.reference)
    if draft:
        values, form_name = draft, draft.get("_form", "")
    context.update({"errors": errors or {}, "values": values or {}, "form_name": form_name,
                    "restored": bool(draft)})
    return render(request, "request.html", context, status_code=status_code)


@router.get("/requests/{reference}", name="staff_request")
def request_page(request: Request, reference: str, staff: Staff = Depends(require_staff)):
    return _render_request(request, staff, reference)


@router.post("/requests/{reference}/status")
def change_status(request: Request, reference: str, staff: Staff = Depends(require_staff),
                  form=Depends(form_data)):
    rt = runtime(request)
    errors = FormErrors()
    status = form.get("status") if isinstance(form.get("status"), str) else ""
    note = text_field(form, "note", errors, label="说明", required=True, max_length=casework.MAX_NOTE,
                      multiline=True)
    first_visit_on = date_field(form, "first_visit_on", errors, label="首次走访日期")
    values = {k: form.get(k) for k in ("status", "note", "first_visit_on") if isinstance(form.get(k), str)}
    try:
        with rt.db.session() as session:
            row = _find_request(session, staff, reference, lock=True)  # concurrent changes wait here
            if status not in STATUS_LABELS:
                errors.add("status", "请选择新的状态。")
            elif status not in TRANSITIONS.get(row.status, ()):
                errors.add("status", f"“{STATUS_LABELS[row.status]}”的申请不能改为“{STATUS_LABELS[status]}”。")
            elif status not in allowed_statuses(staff, row.status):
                errors.add("status", "您的角色不能做出这项决定，请交由民政工作人员或儿童督导员办理。")
            if errors:
                raise CaseworkError("")
            casework.change_status(session=session, cipher=rt.cipher, request=row, status=status, note=note,
                                   actor=staff.username, first_visit_on=first_visit_on)
            reference = row.reference
    except CaseworkError as exc:
        if str(exc):
            errors.add("first_visit_on" if "走访" in str(exc) else "note", str(exc))
        return _render_request(request, staff, reference, errors=errors, values=values, form_name="status",
                               status_code=400)
    return RedirectResponse(f"{PREFIX}/requests/{reference}?done=status#history", status_code=303)


@router.post("/requests/{reference}/visits")
def record_visit(request: Request, reference: str, staff: Staff = Depends(need("visit")),
                 form=Depends(form_data)):
    rt = runtime(request)
    errors = FormErrors()
    visited_on = date_field(form, "visited_on", errors, label="走访日期", required=True)
    visitor = text_field(form, "visitor", errors, label="走访人", required=True, max_length=64)
    findings = text_field(form, "findings", errors, label="走访情况", required=True, max_length=5000, multiline=True)
    next_visit_on = date_field(form, "next_visit_on", errors, label="下次走访日期", required=True)
    review_done = form.get("review_done") == "1"
    values = {k: form.get(k) for k in ("visited_on", "visitor", "findings", "next_visit_on", "review_done")
              if isinstance(form.get(k), str)}
    try:
        with rt.db.session() as session:
            row = _find_request(session, staff, reference, lock=True)  # not while it is being closed
            entry = casework.entry_of(session=session, request=row)
            if entry is None:
                errors.add("visited_on", "这份申请尚未纳入台账，不能登记走访。")
            if errors:
                raise CaseworkError("")
            casework.record_visit(session=session, cipher=rt.cipher, entry=entry, visited_on=visited_on,
                                  visitor=visitor, findings=findings, next_visit_on=next_visit_on,
                                  review_done=review_done, actor=staff.username)
            reference = row.reference
    except CaseworkError as exc:
        message = str(exc)
        if message:
            field = "findings"
            if "下次" in message:
                field = "next_visit_on"
            elif "走访日期" in message or "结案" in message:
                field = "visited_on"
            elif "走访人" in message:
                field = "visitor"
            errors.add(field, message)
        return _render_request(request, staff, reference, errors=errors, values=values, form_name="visit",
                               status_code=400)
    return RedirectResponse(f"{PREFIX}/requests/{reference}?done=visit#visits", status_code=303)


# ------------------------------------------------------------------ urgent records and handoffs

_KINDS = {
    "urgent": (UrgentRecord, "new", "handled", "urgent.view", "urgent.handled", urgent_reference),
    "handoff": (HandoffRequest, "open", "handled", "handoff.view", "handoff.handled", handoff_reference),
}
CASE_PAGES = {"urgent": "urgent", "handoff": "handoffs"}  # each kind's page: /staff/<page>/<record id>


def _find_case(session, staff: Staff, kind: str, record_id: int, *, lock: bool = False):
    """The record if the user's area is responsible for it (its district, else the area of a request
    from the same conversation; unknown: national admins only) or — an urgent record — its duty alert
    reached them, else 404."""
    model = _KINDS[kind][0]
    record = session.get(model, record_id, with_for_update=True if lock else None, populate_existing=lock)
    if record is None:
        raise NotFound()
    if not case_visible(session, record, staff.area) and not (
            kind == "urgent" and alerting.is_recipient(session, record.id, staff.id)):  # alerted about it
        raise NotFound()
    return record


def _render_case(request: Request, staff: Staff, kind: str, record_id: int, *, errors=None, values=None,
                 status_code: int = 200):
    rt = runtime(request)
    model, open_status, _done, view_action, _handled, reference_of = _KINDS[kind]
    with rt.db.session() as session:
        record = _find_case(session, staff, kind, record_id)
        draft = take_draft(request, staff, session)
        text = rt.cipher.decrypt(record.message_enc if kind == "urgent" else record.reason_enc)
        visible = casework.transcript_for_area(session=session, cipher=rt.cipher,
                                               conversation_id=record.conversation_id, user_area=staff.area)
        notes = case_notes(session=session, cipher=rt.cipher, kind=kind, target_id=record.id)
        reference = reference_of(record)
        related = list(session.execute(
            select(AssistanceRequest.reference, AssistanceRequest.status, AssistanceRequest.area_code,
                   AssistanceRequest.created_at)
            .where(AssistanceRequest.conversation_id == record.conversation_id)
            .order_by(AssistanceRequest.id)).all())
        related = [r for r in related if staff.sees(r.area_code)]
        places = case_places(session, record)
        alert = alerting.alert_of_record(session, record.id) if kind == "urgent" else None
        steps = alert_status.timeline(session, alert) if alert else []
        audit(session, actor=staff.username, action=view_action, target=reference)
    return render(request, "case.html", {
        "kind": kind, "record": record, "text": text, "transcript": visible.messages,
        "transcript_hidden": visible.hidden, "places": places, "notes": notes,
        "reference": reference, "is_open": record.status == open_status, "related": related,
        "errors": errors or {}, "values": draft or values or {}, "restored": bool(draft),
        "alert": alert, "alert_steps": steps, "ack": request.query_params.get("ack", ""),
    }, status_code=status_code)


@router.get("/urgent/{record_id}", name="staff_urgent")
def urgent_page(request: Request, record_id: int, staff: Staff = Depends(require_staff)):
    return _render_case(request, staff, "urgent", record_id)


@router.get("/handoffs/{record_id}", name="staff_handoff")
def handoff_page(request: Request, record_id: int, staff: Staff = Depends(require_staff)):
    return _render_case(request, staff, "handoff", record_id)


def _handle_case(request: Request, staff: Staff, form, kind: str, record_id: int):
    rt = runtime(request)
    model, open_status, done_status, _view, handled_action, reference_of = _KINDS[kind]
    errors = FormErrors()
    note = text_field(form, "note", errors, label="处理情况", required=True, max_length=2000, multiline=True)
    status = form.get("status")
    if status not in (open_status, done_status):
        errors.add("status", "请选择处理结果。")
    if errors:
        values = {k: form.get(k) for k in ("note", "status") if isinstance(form.get(k), str)}
        return _render_case(request, staff, kind, record_id, errors=errors, values=values, status_code=400)
    with rt.db.session() as session:
        record = _find_case(session, staff, kind, record_id, lock=True)
        now = clock.utcnow()
        add_case_note(session=session, cipher=rt.cipher, kind=kind, target_id=record.id, note=note,
                      status=status, actor=staff.username, now=now)
        record.status = status
        alert = alerting.alert_of_record(session, record.id) if kind == "urgent" else None
        if alert is not None:  # writing a handling note acknowledges the duty alert too
            alerting.acknowledge(session, alert=alert, username=staff.username, how="note", now=now)
        if kind == "handoff" and status == done_status:
            record.handled_at, record.handled_by = now, staff.username
        audit(session, actor=staff.username, action=handled_action if status == done_status else f"{kind}.note",
              target=reference_of(record), now=now)
    path = "urgent" if kind == "urgent" else "handoffs"
    return RedirectResponse(f"{PREFIX}/{path}/{record_id}?done=handled", status_code=303)


@router.post("/urgent/{record_id}/handle")
def handle_urgent(request: Request, record_id: int, staff: Staff = Depends(require_staff), form=Depends(form_data)):
    return _handle_case(request, staff, form, "urgent", record_id)


@router.post("/handoffs/{record_id}/handle")
def handle_handoff(request: Request, record_id: int, staff: Staff = Depends(require_staff), form=Depends(form_data)):
    return _handle_case(request, staff, form, "handoff", record_id)
