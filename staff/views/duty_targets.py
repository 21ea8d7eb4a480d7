"""Alert targets in the staff app (issue 18): 我的提醒方式 (``/staff/alert-targets``), how the signed-in
user is alerted when on duty, and — for duty managers — the accounts of their area (``?user=NAME``);
the remove and test buttons also serve the areas' fallback contacts on the roster page
(``staff/views/duty.py``).

Every target shows its masked hint (never its address), its last success and its last error, and has a
"发送测试提醒" button (``Runtime.send_test_alert``): a wrong robot key or SMTP login shows here, not when
an emergency needs it. Everyone manages their own targets; the ``duty`` permission the targets of the
accounts and areas inside the user's area. Ids travel in the forms; a target or account outside the
area is answered as missing (404), one inside it without the permission is refused (403).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select

from ledger import clock, duty
from ledger.accounts import find_user, list_users
from ledger.audit import audit
from ledger.duty_models import AlertTarget
from ledger.errors import StaffError
from ledger.staff_models import StaffUser
from staff.auth import require_staff
from staff.common import PREFIX, Forbidden, FormErrors, NotFound, Staff, StaffPageError, render, runtime, text_field
from staff.views.casework import form_data

router = APIRouter()
TESTS_PER_HOUR_USER = 10
TESTS_PER_HOUR_TARGET = 5


class TooManyTests(StaffPageError):
    status_code = 429
    title = "请稍后再试"


NO_PERMISSION = "您的账号没有管理值班的权限（系统管理员、民政工作人员可以管理）。如需开通，请联系系统管理员。"
NOTICES = {
    "target": "提醒方式已添加。建议点“发送测试提醒”确认能收到。",
    "target_removed": "提醒方式已停用。",
}


# ------------------------------------------------------------------ shared with the roster page

def form_int(form, name: str) -> int | None:
    """A positive id a form posts (a hidden field), else None."""
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    return int(text) if text.isdigit() and len(text) < 10 else None


def visible_user(session, staff: Staff, name: str) -> StaffUser | None:
    """An account of the user's area by user name, else None."""
    user = find_user(session, name) if name else None
    return user if user is not None and staff.sees(user.area_code) else None


def form_values(form, names: tuple[str, ...]) -> dict[str, str]:
    """What was typed, to fill a refused form in again."""
    return {k: form.get(k) for k in names if isinstance(form.get(k), str)}


@dataclass(frozen=True)
class TargetRow:
    """A target as the pages show it: never its address, only the hint."""

    id: int
    channel: str
    hint: str
    position: int
    last_ok_at: dt.datetime | None
    last_error: str
    last_error_at: dt.datetime | None

    @property
    def failing(self) -> bool:
        """Its last try failed (no success since)."""
        return bool(self.last_error_at) and (self.last_ok_at is None or self.last_error_at > self.last_ok_at)


def target_rows(targets: list[AlertTarget]) -> list[TargetRow]:
    return [TargetRow(t.id, t.channel, t.address_hint, t.position, clock.aware(t.last_ok_at), t.last_error or "",
                      clock.aware(t.last_error_at)) for t in targets]


def test_outcome(request: Request, rows: list[TargetRow]) -> dict | None:
    """The outcome of the test alert just sent (``?done=tested|test_failed&target=ID``), for the page."""
    done, wanted = request.query_params.get("done"), request.query_params.get("target", "")
    if done not in ("tested", "test_failed") or not wanted.isdigit():
        return None
    row = next((r for r in rows if r.id == int(wanted)), None)
    return None if row is None else {"ok": done == "tested", "row": row}


def target_fields(form, errors: FormErrors) -> tuple[str, str]:
    channel = form.get("target_channel")
    if channel not in duty.CHANNELS:
        errors.add("target_channel", "请选择提醒渠道。")
        channel = ""
    label = duty.CHANNELS.get(channel, "提醒")
    address = text_field(form, "target_address", errors, label=f"{label}的地址", required=True, max_length=300)
    return channel, address


# ------------------------------------------------------------------ the pages

def _owner(session, staff: Staff, name: str | None) -> StaffUser:
    """Whose targets a page or form is about: the user's own, or (``duty``) an account of the area."""
    name = (name or "").strip()
    if not name or name.lower() == staff.username.lower():
        return session.get(StaffUser, staff.id)
    user = visible_user(session, staff, name)
    if user is None:
        raise NotFound("没有找到这个账号，或它不在您的管辖范围内。")
    if not staff.can("duty"):
        raise Forbidden(NO_PERMISSION)
    return user


def _targets_url(staff: Staff, owner: StaffUser | None, area: str | None = None, **params: str | int) -> str:
    """The page a target is shown on: its area's roster, the user's own targets, or an account's."""
    if owner is None:
        return f"{PREFIX}/duty?" + urlencode({"area": area, **params})
    if owner.id != staff.id:
        params = {"user": owner.username, **params}
    return f"{PREFIX}/alert-targets" + (f"?{urlencode(params)}" if params else "")


def _target(session, staff: Staff, form) -> tuple[AlertTarget, StaffUser | None]:
    """The active target a form names, with its owner (None: an area's): one outside the user's area is
    missing (404); someone else's or an area's without ``duty`` is refused (403)."""
    target_id = form_int(form, "target_id")
    target = session.get(AlertTarget, target_id) if target_id else None
    owner = session.get(StaffUser, target.user_id) if target is not None and target.user_id is not None else None
    if target is None or not target.active or (target.user_id is not None and owner is None):
        raise NotFound("没有找到这个提醒方式，或它不在您的管辖范围内。")
    if owner is not None and owner.id == staff.id:
        return target, owner
    if not staff.sees(owner.area_code if owner is not None else target.area_code):
        raise NotFound("没有找到这个提醒方式，或它不在您的管辖范围内。")
    if not staff.can("duty"):
        raise Forbidden(NO_PERMISSION)
    return target, owner


def _targets_page(request: Request, staff: Staff, name: str | None, *, errors=None, values=None,
                  status_code: int = 200):
    with runtime(request).db.session() as session:
        owner = _owner(session, staff, name)
        rows = target_rows(duty.targets_of(session, user_id=owner.id))
        accounts = []
        if staff.can("duty"):
            counts = dict(session.execute(select(AlertTarget.user_id, func.count()).where(
                AlertTarget.active.is_(True), AlertTarget.user_id.is_not(None)).group_by(AlertTarget.user_id)).all())
            accounts = [{"username": u.username, "name": duty.person_label(u), "role": u.role, "area": u.area_code,
                         "targets": counts.get(u.id, 0)} for u in list_users(session, staff.area) if u.active]
        owner_view = {"username": owner.username, "name": duty.person_label(owner), "own": owner.id == staff.id}
    return render(request, "duty_targets.html", {
        "owner": owner_view, "targets": rows, "channels": duty.CHANNELS, "accounts": accounts,
        "test_result": test_outcome(request, rows), "errors": errors or {}, "values": values or {},
        "notice": NOTICES.get(request.query_params.get("done", "")),
    }, status_code=status_code)


@router.get("/alert-targets", name="staff_alert_targets")
def alert_targets(request: Request, staff: Staff = Depends(require_staff)):
    return _targets_page(request, staff, request.query_params.get("user"))


@router.post("/alert-targets", name="staff_alert_targets_add")
def add_target(request: Request, staff: Staff = Depends(require_staff), form=Depends(form_data)):
    rt = runtime(request)
    name = form.get("user") if isinstance(form.get("user"), str) else ""
    errors = FormErrors()
    channel, address = target_fields(form, errors)
    with rt.db.session() as session:
        owner = _owner(session, staff, name)  # 403 / 404 before anything is checked or kept
    if not errors:
        try:
            with rt.db.session() as session:
                duty.add_target(session, rt.cipher, user=session.get(StaffUser, owner.id), channel=channel,
                                address=address, actor=staff.username, user_area=staff.area)
        except StaffError as exc:
            errors.add("target_address", f"{exc}。")
    if errors:
        return _targets_page(request, staff, name, errors=errors,
                             values=form_values(form, ("target_channel", "target_address")), status_code=400)
    return RedirectResponse(_targets_url(staff, owner, done="target"), status_code=303)


@router.post("/alert-targets/remove", name="staff_alert_targets_remove")
def remove_target(request: Request, staff: Staff = Depends(require_staff), form=Depends(form_data)):
    with runtime(request).db.session() as session:
        target, owner = _target(session, staff, form)
        url = _targets_url(staff, owner, target.area_code, done="target_removed")
        duty.remove_target(session, runtime(request).cipher, target_id=target.id, actor=staff.username,
                           user_area=staff.area)
    return RedirectResponse(url, status_code=303)


@router.post("/alert-targets/test", name="staff_alert_targets_test")
def send_test(request: Request, staff: Staff = Depends(require_staff), form=Depends(form_data)):
    """Send a test alert through one target now (blocking: a channel waits a few seconds at most); the
    outcome is kept on the target by the runtime and shown on the page the user came from."""
    rt = runtime(request)
    with rt.db.session() as session:
        target, owner = _target(session, staff, form)
        target_id, channel, hint, area = target.id, target.channel, target.address_hint, target.area_code
        audited = f"user:{owner.username}" if owner is not None else f"area:{target.area_code}"
    # a test goes to a real phone, mailbox or group: a few an hour per person and per target, so
    # the button is no way to flood someone (or a duty group's robot past its 20 a minute)
    verdict = rt.limiter.hit_all([(f"alert-test:user:{staff.id}", TESTS_PER_HOUR_USER, 3600),
                                  (f"alert-test:target:{target_id}", TESTS_PER_HOUR_TARGET, 3600)])
    if not verdict.allowed:
        raise TooManyTests(f"测试提醒发送得太频繁了，请 {max(1, verdict.retry_after // 60)} 分钟后再试。")
    error = rt.send_test_alert(target_id)
    with rt.db.session() as session:
        audit(session, actor=staff.username, action="duty.target.test", target=audited,
              detail=f"target={target_id} channel={channel} hint={hint} " + ("ok" if error is None else f"error={error}")[:300])
    url = _targets_url(staff, owner, area, done="tested" if error is None else "test_failed", target=target_id)
    return RedirectResponse(url, status_code=303)
