"""Community committees (社区居委会): their referral codes, the requests each referred, the names
they give the streets and communities, and their WeChat QR codes as stored (``wechat_qrcodes``; made
through WeChat's API by ``bot/wechat/qrcodes.py``)."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from ledger.areas import area_clause
from ledger.audit import audit
from ledger.clock import utcnow
from ledger.errors import StaffError
from ledger.db import insert_ignore
from ledger.models import AssistanceRequest, Committee, WeChatQrCode

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
COMMITTEE_CODE = re.compile(r"^[A-Za-z0-9_-]{4,32}$")


def new_committee_code(session: Session) -> str:
    for _ in range(20):
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
        if session.scalar(select(func.count()).select_from(Committee).where(Committee.code == code)) == 0:
            return code
    raise StaffError("无法生成推荐码，请重试")


@dataclass
class CommitteeRow:
    committee: Committee
    requests: int = 0
    families: int = 0
    accepted: int = 0


def committees_with_counts(*, session: Session, user_area: str, include_inactive: bool = True) -> list[CommitteeRow]:
    conditions = [area_clause(Committee.locality_code, user_area)]
    if not include_inactive:
        conditions.append(Committee.active.is_(True))
    committees = list(session.scalars(select(Committee).where(*conditions)
                                      .order_by(Committee.locality_code, Committee.name, Committee.id)))
    if not committees:
        return []
    codes = [c.code for c in committees]
    counts = {code: (n, fam, acc) for code, n, fam, acc in session.execute(
        select(AssistanceRequest.referral, func.count(),
               func.count(func.distinct(AssistanceRequest.guardian_phone_hash)),
               func.coalesce(func.sum(case((AssistanceRequest.status == "accepted", 1), else_=0)), 0))
        .where(AssistanceRequest.referral.in_(codes)).group_by(AssistanceRequest.referral))}
    return [CommitteeRow(c, *counts.get(c.code, (0, 0, 0))) for c in committees]


def create_committee(*, session: Session, name: str, locality_code: str, locality_name: str, code: str | None,
                     actor: str, now: dt.datetime | None = None) -> Committee:
    code = (code or "").strip() or new_committee_code(session)
    if not COMMITTEE_CODE.match(code):
        raise StaffError("推荐码须为 4–32 位字母、数字、下划线或短横线")
    if session.scalar(select(func.count()).select_from(Committee).where(func.lower(Committee.code) == code.lower())):
        raise StaffError(f"推荐码 {code} 已被使用，请换一个")
    committee = Committee(code=code, name=name, locality_code=locality_code, locality_name=locality_name,
                          active=True, created_at=now or utcnow(), created_by=actor)
    session.add(committee)
    session.flush()
    audit(session, actor=actor, action="committee.create", target=f"committee:{committee.id}",
          detail=f"code={code} locality={locality_code}")
    return committee


def locality_names(session: Session, codes) -> dict[str, str]:
    """Names the committees table knows for street and community codes (the gazetteer stops at districts)."""
    wanted = sorted({c for c in codes if c and len(c) > 6})
    if not wanted:
        return {}
    return dict(session.execute(select(Committee.locality_code, func.min(Committee.locality_name))
                                .where(Committee.locality_code.in_(wanted)).group_by(Committee.locality_code)).all())


def active_committee_codes(*, session: Session) -> list[str]:
    return list(session.scalars(select(Committee.code).where(Committee.active.is_(True)).order_by(Committee.code)))


def committee_for_qrcode(*, session: Session, code: str) -> Committee:
    """The active committee whose referral code is ``code`` (letter case aside: codes are unique so);
    a ``StaffError`` that says why not otherwise."""
    code = (code or "").strip()
    committee = None
    if COMMITTEE_CODE.match(code):
        committee = session.scalar(select(Committee).where(func.lower(Committee.code) == code.lower()))
    if committee is None:
        shown = "".join(c for c in code[:40] if c.isprintable())
        raise StaffError(f"没有推荐码为“{shown}”的居委会，请核对推荐码（可在工作人员平台的“社区居委会”页面查看）")
    if not committee.active:
        raise StaffError(f"居委会“{committee.name}”（{committee.code}）已停用，不能为它生成二维码")
    return committee


def wechat_qrcode(*, session: Session, app_id: str, scene: str) -> WeChatQrCode | None:
    """The stored QR code of the account ``app_id`` for the committee code ``scene``, if any."""
    return session.get(WeChatQrCode, (app_id, scene))


def save_wechat_qrcode(*, session: Session, committee: Committee, app_id: str, ticket: str, url: str,
                       replace: bool, actor: str) -> WeChatQrCode:
    """Store the QR code WeChat made for ``committee``; the one already stored stays unless
    ``replace`` (a second one made meanwhile by someone else is not stored over it). Audited."""
    table = WeChatQrCode.__table__
    connection = session.connection()
    done = "created" if insert_ignore(connection, table, ["app_id", "scene"], app_id=app_id, scene=committee.code,
                                      ticket=ticket, url=url, created_at=utcnow()) else None
    if done is None and replace:
        connection.execute(update(table).where(table.c.app_id == app_id, table.c.scene == committee.code)
                           .values(ticket=ticket, url=url, created_at=utcnow()))
        done = "renewed"
    if done:
        audit(session, actor=actor, action="committee.wechat_qrcode", target=f"committee:{committee.id}",
              detail=f"{done} app_id={app_id}")
    session.expire_all()  # the row as the statements above left it
    return wechat_qrcode(session=session, app_id=app_id, scene=committee.code)
