"""Committees' WeChat referral QR codes (带参数二维码): one permanent string-scene code per account and
committee, its scene the committee's referral code, so that following the account through it
(``subscribe`` with ``qrscene_<code>``, or ``SCAN``) attributes the family to the committee
(``incoming.py``). Made once through ``qrcode/create`` and kept in ``wechat_qrcodes``; asked again,
the stored one is answered unless it is to be renewed. Used by ``tongban wechat qrcode`` and the
staff committee page (which the composition root hands a ``CommitteeQrCodes``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from wechatpy.client.api.qrcode import WeChatQRCode

from bot.wechat.api import SendError, WeChatApi, explain
from ledger.committees import committee_for_qrcode, save_wechat_qrcode, wechat_qrcode
from ledger.db import Database
from ledger.errors import StaffError

PERMANENT_STRING_SCENE = "QR_LIMIT_STR_SCENE"
_URL = re.compile(r"https?://[!-~]{1,190}")  # what the column keeps (200), printable ASCII


class QrCodeRefused(StaffError):
    """No QR code: an unknown or stopped committee, or WeChat's refusal (``code``: its errcode)."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class CommitteeQrCode:
    committee: str  # the committee's name
    scene: str  # its referral code
    ticket: str
    url: str  # what the QR code encodes (the poster prints it)
    created: bool  # made now (False: the one stored before)

    @property
    def image_url(self) -> str:
        return image_url(self.ticket)


def image_url(ticket: str) -> str:
    """WeChat's own picture of a QR code (``https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=…``)."""
    return WeChatQRCode.get_url(ticket)


class CommitteeQrCodes:
    image_url = staticmethod(image_url)

    def __init__(self, *, api: WeChatApi, db: Database):
        self.api = api
        self.db = db

    @property
    def app_id(self) -> str:
        return self.api.appid

    def issue(self, code: str, *, actor: str, renew: bool = False) -> CommitteeQrCode:
        """The QR code of the active committee ``code``: the stored one, or (none stored, or
        ``renew``) a new one from WeChat, stored. Raises ``StaffError`` (``QrCodeRefused``)."""
        with self.db.session() as session:
            committee = committee_for_qrcode(session=session, code=code)
            name, scene = committee.name, committee.code
            stored = wechat_qrcode(session=session, app_id=self.app_id, scene=scene)
            if stored is not None and not renew:
                return CommitteeQrCode(name, scene, stored.ticket, stored.url, created=False)
        ticket, url = self._create(scene)  # no transaction held while WeChat answers
        with self.db.session() as session:
            committee = committee_for_qrcode(session=session, code=scene)
            row = save_wechat_qrcode(session=session, committee=committee, app_id=self.app_id, ticket=ticket,
                                     url=url, replace=renew, actor=actor)
            return CommitteeQrCode(name, scene, row.ticket, row.url, created=row.ticket == ticket)

    def _create(self, scene: str) -> tuple[str, str]:
        request = {"action_name": PERMANENT_STRING_SCENE, "action_info": {"scene": {"scene_str": scene}}}
        try:
            answer = self.api.call(lambda: self.api.qrcode.create(request))
        except SendError as exc:
            raise QrCodeRefused(explain(exc), exc.code) from exc
        ticket = answer.get("ticket") if isinstance(answer, dict) else None
        url = answer.get("url") if isinstance(answer, dict) else None
        if not (isinstance(ticket, str) and 0 < len(ticket) <= 200 and isinstance(url, str) and _URL.fullmatch(url)):
            raise QrCodeRefused(f"微信的回答里没有可用的二维码，请稍后再试。（WeChat's answer has no usable "
                                f"ticket and url: {str(answer)[:120]}）")
        return ticket, url
