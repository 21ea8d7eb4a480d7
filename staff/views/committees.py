"""Community committees (社区居委会): referral codes, printable QR posters, referral counts, and their
WeChat QR codes while a WeChat account is configured (made through the ``CommitteeQrCodes`` the
composition root puts at ``app.state.wechat_qrcodes``, bot/wechat/qrcodes.py)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

import ledger.committees
from ledger.areas import AreaDirectory, area_name, check_area_code
from ledger.audit import audit
from ledger.errors import StaffError
from ledger.models import Committee
from staff import deep_link, poster, poster_font
from staff.auth import need, require_staff
from staff.common import PREFIX, Forbidden, FormErrors, NotFound, Staff, StaffPageError, render, runtime, text_field
from staff.views.casework import form_data

router = APIRouter()


class PosterUnavailable(StaffPageError):
    status_code = 409
    title = "海报暂时无法生成"


def bot_username(request: Request) -> str:
    """The bot's username for deep links: learnt at start (getMe) or from the settings."""
    rt = runtime(request)
    learnt = getattr(request.app.state, "telegram_bot_username", None) or getattr(rt, "bot_username", None)
    settings_name = getattr(getattr(rt.settings, "telegram", None), "bot_username", "")
    return (learnt or settings_name or "").strip().removeprefix("@")


def _link(request: Request, code: str) -> tuple[str | None, str]:
    """(deep link, problem) — the link is None when the bot username is missing or invalid."""
    try:
        return deep_link.deep_link(bot_username(request), code), ""
    except ValueError as exc:
        if not bot_username(request):
            return None, ("尚未配置机器人的用户名（设置项 TONGBAN_TELEGRAM__BOT_USERNAME），"
                          "二维码还无法指向机器人，海报暂不能下载。请联系系统管理员。")
        return None, str(exc)


def _wechat(request: Request):
    """The committees' WeChat QR codes (``app_id``, ``image_url(ticket)``, ``issue(code, actor=…)``),
    or None: no WeChat account configured."""
    return getattr(request.app.state, "wechat_qrcodes", None)


def _wechat_code(request: Request, session, committee: Committee):
    """The committee's stored WeChat QR code (``WeChatQrCode``), or None."""
    qrcodes = _wechat(request)
    if qrcodes is None:
        return None
    return ledger.committees.wechat_qrcode(session=session, app_id=qrcodes.app_id, scene=committee.code)


def _find(session, staff: Staff, committee_id: int) -> Committee:
    committee = session.get(Committee, committee_id)
    if committee is None or not staff.sees(committee.locality_code):
        raise NotFound()
    return committee


def _list_page(request: Request, staff: Staff, *, errors=None, values=None, status_code: int = 200):
    with runtime(request).db.session() as session:
        rows = ledger.committees.committees_with_counts(session=session, user_area=staff.area)
    _link_value, problem = _link(request, "CODE")
    return render(request, "committees.html", {"rows": rows, "errors": errors or {}, "values": values or {},
                                               "poster_problem": problem}, status_code=status_code)


@router.get("/committees", name="staff_committees")
def committees(request: Request, staff: Staff = Depends(require_staff)):
    return _list_page(request, staff)


def _locality(form, staff: Staff, errors: FormErrors, areas: AreaDirectory) -> str:
    code = "".join((form.get("locality_code") or "").split()) if isinstance(form.get("locality_code"), str) else ""
    if not code:
        errors.add("locality_code", "请填写所在地区代码（12 位社区代码，或 9 位街道代码）。")
        return ""
    try:
        code = check_area_code(code, areas=areas)
    except StaffError as exc:
        errors.add("locality_code", f"{exc}。")
        return ""
    if not staff.sees(code):
        errors.add("locality_code", "这个地区不在您的管辖范围内。")
        return ""
    return code


@router.post("/committees")
def create_committee(request: Request, staff: Staff = Depends(need("committees")), form=Depends(form_data)):
    errors = FormErrors()
    name = text_field(form, "name", errors, label="居委会名称", required=True, max_length=60)
    place = text_field(form, "locality_name", errors, label="社区或街道名称", required=True, max_length=100)
    code_text = text_field(form, "code", errors, label="推荐码", max_length=32)
    areas = runtime(request).areas
    locality = _locality(form, staff, errors, areas)
    if code_text and not ledger.committees.COMMITTEE_CODE.match(code_text):
        errors.add("code", "推荐码须为 4–32 位英文字母、数字、下划线或短横线；留空则自动生成。")
    values = {k: form.get(k) for k in ("name", "locality_name", "locality_code", "code") if isinstance(form.get(k), str)}
    if not errors:
        district = area_name(locality[:6], areas=areas)
        locality_name = place if place.startswith(district) else f"{district}{place}"
        try:
            with runtime(request).db.session() as session:
                committee = ledger.committees.create_committee(
                    session=session, name=name, locality_code=locality, locality_name=locality_name[:200],
                    code=code_text or None, actor=staff.username)
                committee_id = committee.id
        except StaffError as exc:
            errors.add("code", str(exc) + "。")
    if errors:
        return _list_page(request, staff, errors=errors, values=values, status_code=400)
    return RedirectResponse(f"{PREFIX}/committees/{committee_id}?done=created", status_code=303)


def _detail_page(request: Request, staff: Staff, committee_id: int, *, errors=None, values=None,
                 wechat_error: str = "", status_code: int = 200):
    with runtime(request).db.session() as session:
        committee = _find(session, staff, committee_id)
        counted = ledger.committees.committees_with_counts(session=session, user_area=committee.locality_code)
        rows = [r for r in counted if r.committee.id == committee.id]
        wechat_code = _wechat_code(request, session, committee)
    link, problem = _link(request, committee.code)
    wechat = _wechat(request)
    return render(request, "committee.html", {
        "committee": committee, "counts": rows[0] if rows else ledger.committees.CommitteeRow(committee),
        "link": link, "poster_problem": problem, "errors": errors or {}, "wechat": wechat is not None,
        "wechat_code": wechat_code, "wechat_image": wechat.image_url(wechat_code.ticket) if wechat_code else None,
        "wechat_error": wechat_error,
        "values": values or {"name": committee.name, "locality_name": committee.locality_name,
                             "active": "1" if committee.active else "0"},
    }, status_code=status_code)


@router.get("/committees/{committee_id}", name="staff_committee")
def committee_page(request: Request, committee_id: int, staff: Staff = Depends(require_staff)):
    return _detail_page(request, staff, committee_id)


@router.post("/committees/{committee_id}")
def update_committee(request: Request, committee_id: int, staff: Staff = Depends(need("committees")),
                     form=Depends(form_data)):
    errors = FormErrors()
    name = text_field(form, "name", errors, label="居委会名称", required=True, max_length=60)
    place = text_field(form, "locality_name", errors, label="所在地区名称", required=True, max_length=200)
    active = form.get("active")
    if active not in ("0", "1"):
        errors.add("active", "请选择是否启用。")
    if errors:
        values = {k: form.get(k) for k in ("name", "locality_name", "active") if isinstance(form.get(k), str)}
        return _detail_page(request, staff, committee_id, errors=errors, values=values, status_code=400)
    with runtime(request).db.session() as session:
        committee = _find(session, staff, committee_id)
        changes = []
        for attr, value in (("name", name), ("locality_name", place), ("active", active == "1")):
            if getattr(committee, attr) != value:
                changes.append(f"{attr}={value}")
                setattr(committee, attr, value)
        if changes:
            audit(session, actor=staff.username, action="committee.update",
                  target=f"committee:{committee.id}", detail="; ".join(changes)[:500])
    return RedirectResponse(f"{PREFIX}/committees/{committee_id}?done=committee", status_code=303)


@router.post("/committees/{committee_id}/wechat-qrcode", name="staff_committee_wechat_qrcode")
def create_wechat_qrcode(request: Request, committee_id: int, staff: Staff = Depends(need("wechat"))):
    """Ask WeChat for the committee's QR code (the stored one stays: renewing is ``tongban wechat qrcode
    --renew``); audited by ``ledger.committees.save_wechat_qrcode``."""
    with runtime(request).db.session() as session:
        code = _find(session, staff, committee_id).code
    qrcodes = _wechat(request)
    if qrcodes is None:
        raise NotFound()  # no account configured: the page offers nothing to post
    try:
        qrcodes.issue(code, actor=staff.username)
    except StaffError as exc:
        return _detail_page(request, staff, committee_id, wechat_error=str(exc), status_code=409)
    return RedirectResponse(f"{PREFIX}/committees/{committee_id}?done=wechat", status_code=303)


def _poster(request: Request, staff: Staff, committee_id: int, fmt: str) -> Response:
    with runtime(request).db.session() as session:
        committee = _find(session, staff, committee_id)
        link, problem = _link(request, committee.code)
        wechat_code = _wechat_code(request, session, committee)
        if link is None and wechat_code is None:
            raise PosterUnavailable(problem)
        if not committee.active:
            raise Forbidden("这个居委会已停用，不能下载它的海报。")
        try:
            render_poster = poster.poster_png if fmt == "png" else poster.poster_pdf
            body = render_poster(link=link, committee_name=committee.name, area_name=committee.locality_name,
                                 code=committee.code, wechat_url=wechat_code.url if wechat_code else None)
        except poster_font.PosterFontError:
            raise PosterUnavailable("服务器上缺少中文字体，暂时无法生成 PNG 海报，请下载 PDF 版本。") from None
        except ValueError as exc:
            raise PosterUnavailable(str(exc)) from None
        audit(session, actor=staff.username, action="committee.poster", target=f"committee:{committee.id}",
              detail=f"{fmt} wechat" if wechat_code else fmt)
        filename = f"童伴海报-{committee.name}.{fmt}"
    media = "image/png" if fmt == "png" else "application/pdf"
    return Response(body, media_type=media, headers={
        "Content-Disposition": f"attachment; filename=\"poster-{committee.code}.{fmt}\"; "
                               f"filename*=UTF-8''{quote(filename)}"})


@router.get("/committees/{committee_id}/poster.png", name="staff_poster_png")
def poster_png(request: Request, committee_id: int, staff: Staff = Depends(require_staff)):
    return _poster(request, staff, committee_id, "png")


@router.get("/committees/{committee_id}/poster.pdf", name="staff_poster_pdf")
def poster_pdf(request: Request, committee_id: int, staff: Staff = Depends(require_staff)):
    return _poster(request, staff, committee_id, "pdf")
