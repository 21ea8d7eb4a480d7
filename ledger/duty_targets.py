"""How a person or an area is reached when an urgent record comes in: alert targets.

A target is a channel and its address — a WeCom group robot's key, a WeCom user id, an e-mail address,
a mainland mobile number — encrypted at rest (the address is as personal as a phone number, and a robot
key lets anyone post into the group), with a masked hint for the pages. A person's targets (or an
area's fallback contact's) are tried in ``position`` order, the next when one fails. A removed target
is only switched off: deliveries keep naming the target that took them.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.areas import NATIONAL, AreaDirectory, area_prefix, check_area_code, in_area
from ledger.audit import audit
from ledger.crypto import DataCipher
from ledger.duty_models import AlertTarget
from ledger.errors import StaffError
from ledger.staff_models import StaffUser

CHANNELS: dict[str, str] = {
    "wecom_robot": "企业微信群机器人",
    "wecom_app": "企业微信应用消息",
    "email": "电子邮件",
    "sms": "短信",
}
ROBOT_HOST = "qyapi.weixin.qq.com"
ROBOT_PATH = "/cgi-bin/webhook/send"
_ROBOT_KEY = re.compile(r"^[0-9a-f-]{20,64}$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^1[3-9]\d{9}$")
_WECOM_USER = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def normalise_address(channel: str, address: str) -> str:
    """The address to store for ``channel`` (a robot's key out of its webhook URL, a phone number
    without +86), or StaffError saying what is wrong with it."""
    address = (address or "").strip()
    if channel not in CHANNELS:
        raise StaffError(f"未知的通知渠道：{channel}（可选：{'、'.join(CHANNELS)}）")
    if not address:
        raise StaffError(f"请填写{CHANNELS[channel]}的地址")
    if channel == "wecom_robot":
        return _robot_key(address)
    if channel == "email":
        local, _, domain = address.rpartition("@")
        if len(address) > 254 or not _EMAIL.match(address):
            raise StaffError(f"电子邮件地址格式不正确：{address[:60]}")
        return f"{local}@{domain.lower()}"
    if channel == "sms":
        digits = re.sub(r"[\s-]", "", address)
        digits = re.sub(r"^(\+?86)(?=1\d{10}$)", "", digits)
        if not _PHONE.match(digits):
            raise StaffError("手机号码须为中国大陆 11 位手机号（可带 +86）")
        return digits
    if not _WECOM_USER.match(address):
        raise StaffError("企业微信成员账号（UserID）须为 1–64 个字母、数字或 _ . @ -")
    return address


def _robot_key(address: str) -> str:
    """A group robot's key, given alone or as the webhook URL WeCom shows when the robot is added."""
    if address.lower().startswith(("http://", "https://")):
        parts = urlsplit(address)
        keys = parse_qs(parts.query).get("key", [])
        if parts.scheme != "https" or parts.hostname != ROBOT_HOST or parts.path != ROBOT_PATH or len(keys) != 1:
            raise StaffError(f"群机器人的 Webhook 地址须为 https://{ROBOT_HOST}{ROBOT_PATH}?key=…")
        address = keys[0]
    key = address.strip().lower()
    if not _ROBOT_KEY.match(key):
        raise StaffError("群机器人的 key 格式不正确（应为 Webhook 地址中 key= 后面的一串字母数字）")
    return key


def address_hint(channel: str, address: str) -> str:
    """The masked form of a stored address the pages show: enough to tell targets apart."""
    if channel == "wecom_robot":
        return "…" + address[-4:]
    if channel == "email":
        local, _, domain = address.rpartition("@")
        return f"{local[:1]}***@{domain}"[:40]
    if channel == "sms":
        return f"{address[:3]}****{address[-4:]}"
    return address[:2] + "***"


def _check_user(user: StaffUser | None) -> StaffUser:
    if user is None:
        raise StaffError("没有这个用户")
    if not user.active:
        raise StaffError(f"账号 {user.username} 已停用")
    return user


def add_target(session: Session, cipher: DataCipher, *, user: StaffUser | None = None, area_code: str | None = None,
               channel: str, address: str, position: int | None = None, actor: str,
               user_area: str = NATIONAL, areas: AreaDirectory | None = None) -> AlertTarget:
    """A new way to reach ``user`` or, as its fallback contact, the area ``area_code`` (exactly one of
    the two), inside the acting user's ``user_area``; appended after the owner's targets unless
    ``position`` says where (1 is tried first). ``areas``: check that the area exists."""
    if (user is None) == (area_code is None):
        raise StaffError("通知方式须属于一个人或一个地区（二者选一）")
    if user is not None:
        user = _check_user(user)
        if not in_area(user.area_code, user_area):
            raise StaffError(f"账号 {user.username} 不在您的管辖范围内")
        owner = AlertTarget.user_id == user.id
    else:
        area_code = (area_code or "").strip()
        if areas is not None:
            area_code = check_area_code(area_code, areas=areas)
        elif not area_prefix(area_code):
            raise StaffError("地区联系人须属于一个区县、街道或社区，不能是全国")
        if not in_area(area_code, user_area):
            raise StaffError(f"地区 {area_code} 不在您的管辖范围内")
        owner = AlertTarget.area_code == area_code
    address = normalise_address(channel, address)
    existing = list(session.scalars(select(AlertTarget).where(owner, AlertTarget.active.is_(True))))
    if any(t.channel == channel and cipher.decrypt(t.address_enc) == address for t in existing):
        raise StaffError(f"已有相同的{CHANNELS[channel]}地址")
    if position is None:
        position = (session.scalar(select(func.max(AlertTarget.position)).where(owner)) or 0) + 1
    elif not 1 <= position <= 99:
        raise StaffError("顺序须为 1–99")
    target = AlertTarget(user_id=user.id if user is not None else None, area_code=area_code, channel=channel,
                         address_enc=cipher.encrypt(address), address_hint=address_hint(channel, address),
                         position=position, active=True, created_by=(actor or "-")[:64])
    session.add(target)
    session.flush()
    audit(session, actor=actor, action="duty.target.add", target=_owner_name(user, area_code),
          detail=f"target={target.id} channel={channel} hint={target.address_hint} position={position}")
    return target


def _owner_name(user: StaffUser | None, area_code: str | None) -> str:
    """The audit log's target of a change to someone's targets (``user:<name>``, which the area's
    admins read) or an area's (``area:<code>``)."""
    return f"user:{user.username}" if user is not None else f"area:{area_code}"


def remove_target(session: Session, cipher: DataCipher, *, target_id: int, actor: str, user_area: str) -> AlertTarget:
    """Switch a target off and forget its address (the row stays, with its channel and masked hint:
    deliveries name it). Outside ``user_area``: as if it did not exist."""
    target = session.get(AlertTarget, target_id)
    user = session.get(StaffUser, target.user_id) if target is not None and target.user_id is not None else None
    place = user.area_code if user is not None else target.area_code if target is not None else None
    if target is None or not target.active or not in_area(place, user_area):
        raise StaffError(f"没有通知方式 {target_id}")
    target.active = False
    target.address_enc = cipher.encrypt("")
    audit(session, actor=actor, action="duty.target.remove", target=_owner_name(user, target.area_code),
          detail=f"target={target.id} channel={target.channel} hint={target.address_hint}")
    return target


def targets_of(session: Session, *, user_id: int | None = None, area_code: str | None = None,
               active_only: bool = True) -> list[AlertTarget]:
    """A person's or an area's targets in the order they are tried (neither given: everyone's, people's
    first, by owner)."""
    query = select(AlertTarget)
    if user_id is not None:
        query = query.where(AlertTarget.user_id == user_id)
    if area_code is not None:
        query = query.where(AlertTarget.area_code == area_code)
    if active_only:
        query = query.where(AlertTarget.active.is_(True))
    return list(session.scalars(query.order_by(AlertTarget.user_id.is_(None), AlertTarget.user_id,
                                               AlertTarget.area_code, AlertTarget.position, AlertTarget.id)))


def target_address(cipher: DataCipher, target: AlertTarget) -> str:
    """The address a channel sends to (decrypted; never shown on a page or logged)."""
    return cipher.decrypt(target.address_enc)
