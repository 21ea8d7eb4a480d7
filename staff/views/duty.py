"""An area's duty roster in the staff app (值班, ``/staff/duty?area=CODE``; issue 18): the weekly shifts
by weekday, the exceptions ahead, who is on duty now, the ladder an urgent record coming in now would
climb, the gaps of the next 7 days (nobody on duty) shown *before* they happen, and the area's
fallback contacts (their test and remove buttons, and people's own targets: ``duty_targets.py``).

Everyone signed in sees the rosters of their own area (a sub-area may be picked); the ``duty``
permission (admins, civil-affairs staff) changes them. Ids travel in the forms, not in the paths; a
roster, shift or exception outside the user's area is answered as missing (404), a change without
the permission is refused (403). Times are typed and shown in Beijing time.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from ledger import clock, duty
from ledger.accounts import list_users
from ledger.areas import NATIONAL, AreaDirectory, area_clause, check_area_code
from ledger.duty_models import AlertTarget, DutyException, DutyShift
from ledger.errors import StaffError
from ledger.staff_models import StaffUser
from staff.auth import need, require_staff
from staff.common import PREFIX, FormErrors, NotFound, Staff, render, runtime, text_field
from staff.views import duty_targets
from staff.views.casework import form_data
from staff.views.duty_targets import form_int, form_values, target_fields, target_rows, test_outcome, visible_user

router = APIRouter()

GAP_DAYS = 7  # how far ahead the pages look for gaps
NOTICES = {
    "shift": "班次已添加。",
    "shift_removed": "班次已删除。",
    "exception": "例外时段已添加。",
    "exception_removed": "例外时段已删除。",
    **duty_targets.NOTICES,
}
_MOMENT = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{2})(?::00)?$")
_CODE_SHAPE = "地区代码须为 6 位（区县）、9 位（街道）或 12 位（社区）数字。"


# ------------------------------------------------------------------ Beijing time for people

def moment_text(value: dt.datetime) -> str:
    """2026-12-25（周五）18:00, Beijing time."""
    local = clock.aware(value).astimezone(clock.BEIJING)
    return f"{local:%Y-%m-%d}（{duty.WEEKDAYS[local.weekday()]}）{local:%H:%M}"


def span_text(begins: dt.datetime, ends: dt.datetime) -> str:
    """A span of instants as staff read it: the end's date only when it differs from the start's."""
    first, last = (clock.aware(v).astimezone(clock.BEIJING) for v in (begins, ends))
    if first.date() == last.date():
        return f"{moment_text(begins)}–{last:%H:%M}"
    return f"{moment_text(begins)} 至 {moment_text(ends)}"


def parse_moment(text: str) -> dt.datetime:
    """"2026-12-24 18:00" (or the browser's "2026-12-24T18:00"), Beijing time; ValueError otherwise."""
    match = _MOMENT.match((text or "").strip())
    if not match:
        raise ValueError(text)
    year, month, day, hour, minute = (int(g) for g in match.groups())
    return dt.datetime(year, month, day, hour, minute, tzinfo=clock.BEIJING)


# ------------------------------------------------------------------ areas, people, targets

def _area_code(value: str | None, staff: Staff, areas: AreaDirectory) -> tuple[str, str]:
    """(roster area, problem) from what was typed or linked: empty → the user's own area ('' for a
    national user, who picks one). Outside the user's area: NotFound, as for a record."""
    code = "".join((value or "").split())
    if not code:
        return ("" if staff.area == NATIONAL else staff.area), ""
    if not (code.isdigit() and len(code) in (6, 9, 12)):
        return "", _CODE_SHAPE
    if not staff.sees(code):
        raise NotFound("没有找到这个地区的值班表，或它不在您的管辖范围内。")
    try:
        return check_area_code(code, areas=areas), ""
    except StaffError as exc:
        return "", f"{exc}。"


def _posted_area(form, staff: Staff, areas: AreaDirectory) -> str:
    """The roster area a form posts (a hidden field): anything but an area of the user's is a 404."""
    value = form.get("area")
    code, problem = _area_code(value if isinstance(value, str) else "", staff, areas)
    if problem or not code:
        raise NotFound()
    return code




def _rank(form, name: str, errors: FormErrors) -> int:
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        return 1
    if not (text.isdigit() and 1 <= int(text) <= duty.MAX_RANK):
        errors.add(name, f"顺序须为 1–{duty.MAX_RANK} 的整数（1 最先提醒）。")
        return 1
    return int(text)


def _clock(form, name: str, errors: FormErrors, *, label: str, end: bool = False) -> int:
    text = text_field(form, name, errors, label=label, required=True, max_length=5)
    if text and name not in errors:
        try:
            return duty.parse_clock(text, end=end)
        except StaffError as exc:
            errors.add(name, f"{label}{exc}。")
    return 0


def _moment(form, name: str, errors: FormErrors, *, label: str) -> dt.datetime | None:
    text = text_field(form, name, errors, label=label, required=True, max_length=20)
    if text and name not in errors:
        try:
            return parse_moment(text)
        except ValueError:
            errors.add(name, f"{label}的格式不对，请按“2026-12-24 18:00”这样填写（北京时间）。")
    return None




def _candidates(session, staff: Staff, area: str) -> list[StaffUser]:
    """The active accounts of the user's area who may be on ``area``'s roster (their own area contains
    it or lies inside it)."""
    return [u for u in list_users(session, staff.area) if u.active
            and (u.area_code == NATIONAL or area.startswith(u.area_code) or u.area_code.startswith(area))]


def _reachable(session, user_ids: set[int]) -> set[int]:
    """Who of ``user_ids`` has an active target (the others are skipped by the ladder)."""
    if not user_ids:
        return set()
    return set(session.scalars(select(AlertTarget.user_id).where(AlertTarget.user_id.in_(user_ids),
                                                                   AlertTarget.active.is_(True)).distinct()))


def _users(session, ids: set[int]) -> dict[int, StaffUser]:
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(select(StaffUser).where(StaffUser.id.in_(ids)))}


# ------------------------------------------------------------------ the roster page

def _roster_page(request: Request, staff: Staff, area: str, *, area_error: str = "", errors=None, values=None,
                 failed: str = "", status_code: int = 200):
    rt = runtime(request)
    now = clock.utcnow()
    context: dict = {"area": area, "area_error": area_error, "errors": errors or {}, "values": values or {},
                     "failed": failed, "gap_days": GAP_DAYS, "weekdays": duty.WEEKDAYS,
                     "channels": duty.CHANNELS, "now_text": moment_text(now), "can_manage": staff.can("duty"),
                     "notice": NOTICES.get(request.query_params.get("done", ""))}
    with rt.db.session() as session:
        context["rostered"] = list(session.scalars(
            select(DutyShift.area_code).where(area_clause(DutyShift.area_code, staff.area))
            .distinct().order_by(DutyShift.area_code).limit(200)))
        if area:
            shifts = duty.shifts_of(session, area)
            exceptions = duty.exceptions_of(session, area, now)
            present = duty.on_duty(session, area, now)
            ladder = duty.ladder_for(session, area, now)
            ids = {s.user_id for s in shifts} | {e.user_id for e in exceptions}
            ids |= {int(r[5:]) for step in ladder for r in step["recipients"] if r.startswith("user:")}
            people = _users(session, ids)
            reachable = _reachable(session, ids)

            def who(user_id: int) -> str:
                user = people.get(user_id)
                return duty.person_label(user) if user else f"账号 {user_id}"

            days = [{"name": name, "shifts": [
                {"id": s.id, "text": duty.shift_text(s), "person": who(s.user_id), "rank": s.rank,
                 "active": people[s.user_id].active if s.user_id in people else False,
                 "reachable": s.user_id in reachable} for s in shifts if s.weekday == day]}
                for day, name in enumerate(duty.WEEKDAYS)]
            area_targets = target_rows(duty.targets_of(session, area_code=area))
            context.update({
                "days": days, "has_shifts": bool(shifts),
                "exceptions": [{"id": e.id, "person": who(e.user_id), "on": e.on_duty, "rank": e.rank,
                                "span": span_text(e.starts_at, e.ends_at), "note": e.note,
                                "current": clock.aware(e.starts_at) <= now} for e in exceptions],
                "present": [{"name": duty.person_label(u), "reachable": u.id in reachable} for u in present],
                "ladder": [{"label": step["label"], "names": [
                    who(int(r[5:])) if r.startswith("user:") else duty.area_label(r[5:]) for r in step["recipients"]]}
                    for step in ladder],
                "gaps": [span_text(b, e) for b, e in duty.roster_gaps(session, area, now, GAP_DAYS)],
                "area_targets": area_targets, "test_result": test_outcome(request, area_targets),
                "candidates": [(u.username, f"{duty.person_label(u)}（{u.username}）")
                               for u in _candidates(session, staff, area)] if staff.can("duty") else [],
            })
    return render(request, "duty.html", context, status_code=status_code)


@router.get("/duty", name="staff_duty")
def roster(request: Request, staff: Staff = Depends(require_staff)):
    area, problem = _area_code(request.query_params.get("area"), staff, runtime(request).areas)
    if problem:
        return _roster_page(request, staff, "" if staff.area == NATIONAL else staff.area, area_error=problem,
                            values={"area": request.query_params.get("area", "")}, status_code=400)
    return _roster_page(request, staff, area)


def _back(area: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/duty?" + urlencode({"area": area, "done": done}), status_code=303)


@router.post("/duty/shifts", name="staff_duty_add_shift")
def add_shift(request: Request, staff: Staff = Depends(need("duty")), form=Depends(form_data)):
    rt = runtime(request)
    area = _posted_area(form, staff, rt.areas)
    errors = FormErrors()
    name = text_field(form, "shift_user", errors, label="值班人员", required=True, max_length=64)
    weekday = form.get("shift_weekday")
    if weekday not in [str(n) for n in range(7)]:
        errors.add("shift_weekday", "请选择星期。")
    _clock(form, "shift_start", errors, label="开始时间")
    _clock(form, "shift_end", errors, label="结束时间", end=True)
    rank = _rank(form, "shift_rank", errors)
    if not errors:
        try:
            with rt.db.session() as session:
                person = visible_user(session, staff, name)
                if person is None:
                    raise StaffError(f"没有账号 {name}，或它不在您的管辖范围内")
                duty.add_shift(session, area_code=area, user=person, weekday=int(weekday), start=form["shift_start"],
                               end=form["shift_end"], rank=rank, actor=staff.username, areas=rt.areas,
                               user_area=staff.area)
        except StaffError as exc:
            errors.add("shift", f"{exc}。")
    if errors:
        values = form_values(form, ("shift_user", "shift_weekday", "shift_start", "shift_end", "shift_rank"))
        return _roster_page(request, staff, area, errors=errors, values=values, failed="shift", status_code=400)
    return _back(area, "shift")


def _remove(request: Request, staff: Staff, form, model, field: str, what: str, remove, done: str):
    """Remove the shift or exception the form names (``field``), if it lies in the user's area."""
    row_id = form_int(form, field)
    with runtime(request).db.session() as session:
        row = session.get(model, row_id) if row_id else None
        if row is None or not staff.sees(row.area_code):
            raise NotFound(f"没有找到这个{what}，或它不在您的管辖范围内。")
        area = row.area_code
        remove(session, row.id, actor=staff.username, user_area=staff.area)
    return _back(area, done)


@router.post("/duty/shifts/remove", name="staff_duty_remove_shift")
def remove_shift(request: Request, staff: Staff = Depends(need("duty")), form=Depends(form_data)):
    return _remove(request, staff, form, DutyShift, "shift_id", "班次",
                   lambda session, row_id, **who: duty.remove_shift(session, shift_id=row_id, **who), "shift_removed")


@router.post("/duty/exceptions", name="staff_duty_add_exception")
def add_exception(request: Request, staff: Staff = Depends(need("duty")), form=Depends(form_data)):
    rt = runtime(request)
    area = _posted_area(form, staff, rt.areas)
    errors = FormErrors()
    name = text_field(form, "exc_user", errors, label="人员", required=True, max_length=64)
    kind = form.get("exc_kind")
    if kind not in ("on", "off"):
        errors.add("exc_kind", "请选择是加班在岗还是不在岗。")
    starts_at = _moment(form, "exc_from", errors, label="开始时间")
    ends_at = _moment(form, "exc_to", errors, label="结束时间")
    if starts_at and ends_at and ends_at <= starts_at:
        errors.add("exc_to", "结束时间须晚于开始时间。")
    rank = _rank(form, "exc_rank", errors)
    note = text_field(form, "exc_note", errors, label="备注", max_length=200)
    if not errors:
        try:
            with rt.db.session() as session:
                person = visible_user(session, staff, name)
                if person is None:
                    raise StaffError(f"没有账号 {name}，或它不在您的管辖范围内")
                duty.add_exception(session, area_code=area, user=person, starts_at=starts_at, ends_at=ends_at,
                                   on_duty=kind == "on", rank=rank, note=note, actor=staff.username,
                                   user_area=staff.area, areas=rt.areas)
        except StaffError as exc:
            errors.add("exception", f"{exc}。")
    if errors:
        values = form_values(form, ("exc_user", "exc_kind", "exc_from", "exc_to", "exc_rank", "exc_note"))
        return _roster_page(request, staff, area, errors=errors, values=values, failed="exception", status_code=400)
    return _back(area, "exception")


@router.post("/duty/exceptions/remove", name="staff_duty_remove_exception")
def remove_exception(request: Request, staff: Staff = Depends(need("duty")), form=Depends(form_data)):
    return _remove(request, staff, form, DutyException, "exception_id", "例外时段",
                   lambda session, row_id, **who: duty.remove_exception(session, exception_id=row_id, **who),
                   "exception_removed")


@router.post("/duty/targets", name="staff_duty_add_target")
def add_area_target(request: Request, staff: Staff = Depends(need("duty")), form=Depends(form_data)):
    """The area's fallback contact: alerted after the people on duty of its level."""
    rt = runtime(request)
    area = _posted_area(form, staff, rt.areas)
    errors = FormErrors()
    channel, address = target_fields(form, errors)
    if not errors:
        try:
            with rt.db.session() as session:
                duty.add_target(session, rt.cipher, area_code=area, channel=channel, address=address,
                                actor=staff.username, user_area=staff.area, areas=rt.areas)
        except StaffError as exc:
            errors.add("target_address", f"{exc}。")
    if errors:
        values = form_values(form, ("target_channel", "target_address"))
        return _roster_page(request, staff, area, errors=errors, values=values, failed="target", status_code=400)
    return _back(area, "target")
