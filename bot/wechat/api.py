"""WeChat's API as the channel uses it: wechatpy's ``WeChatClient`` on the configured host, its token
the shared one (``bot/wechat/tokens.py``): customer-service messages (客服消息), template messages
(模板消息), and any other call made through ``call``.

wechatpy's own token handling does not fit several workers: its ``fetch_access_token`` asks
``api.weixin.qq.com`` whatever ``API_BASE_URL`` says, keeps the token in the process, and on an
invalid token (40001, 42001) it refreshes and retries without end. Here the client runs with
``auto_retry=False``; ``call`` refreshes once through the shared token and tries once more.
Everything here blocks (wechatpy uses ``requests``): the channel calls it in a thread.
"""

from __future__ import annotations

import logging
from typing import Callable, TypeVar

import requests
from wechatpy import WeChatClient
from wechatpy.constants import WeChatErrorCode
from wechatpy.exceptions import WeChatClientException

from bot.wechat.tokens import SharedToken, TokenUnavailable, redact
from ledger.crypto import DataCipher
from ledger.db import Database

log = logging.getLogger(__name__)
TOKEN_ERRORS = {WeChatErrorCode.INVALID_CREDENTIAL.value, WeChatErrorCode.INVALID_ACCESS_TOKEN.value,
                WeChatErrorCode.EXPIRED_ACCESS_TOKEN.value}
OUTSIDE_48_HOURS = WeChatErrorCode.OUT_OF_RESPONSE_TIME_LIMIT.value  # 45015: the parent wrote over 48 h ago
TOO_MANY_REPLIES = WeChatErrorCode.OUT_OF_RESPONSE_COUNT_LIMIT.value  # 45047: over 20 since their last message
RATE_LIMITED = WeChatErrorCode.OUT_OF_API_FREQ_LIMIT.value  # 45009: the account's daily quota
NOT_FOLLOWING = WeChatErrorCode.REQUIRE_SUBSCRIBE.value  # 43004: they unfollowed the account
SYSTEM_BUSY = -1
T = TypeVar("T")


class SendError(Exception):
    """A call WeChat did not take: ``code`` is its errcode (None: no answer, or not JSON)."""

    def __init__(self, code: int | None, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def retry(self) -> bool:
        """Worth trying again later (unreachable, busy, the quota, a token that would not refresh)."""
        return self.code in (None, SYSTEM_BUSY, RATE_LIMITED) or self.code in TOKEN_ERRORS


class WeChatApi(WeChatClient):
    """wechatpy's client pointed at ``base_url`` (``…/cgi-bin/``), with the shared token."""

    def __init__(self, *, app_id: str, secret: str, base_url: str, db: Database, cipher: DataCipher,
                 timeout: float = 5.0):
        super().__init__(app_id, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = base_url  # wechatpy joins it with each endpoint ("message/custom/send")
        self.tokens = SharedToken(db=db, cipher=cipher, app_id=app_id, fetch=self.fetch_access_token)

    @property
    def access_token(self) -> str:  # wechatpy reads it for every request
        return self.tokens.current()

    def fetch_access_token(self) -> dict:
        """A new token from ``<base_url>token`` (``access_token`` given as None so that wechatpy does
        not ask for one: ``requests`` leaves out parameters that are None)."""
        return self.get("token", params={"grant_type": "client_credential", "appid": self.appid,
                                         "secret": self.secret, "access_token": None})

    # --- calls with the shared token ----------------------------------------------------------
    def call(self, request: Callable[[], T]) -> T:
        """``request()`` (one wechatpy call); WeChat saying the token is invalid → the shared token
        refreshed once and ``request()`` tried once more. Raises ``SendError``."""
        used = self._token()
        try:
            return self._attempt(request)
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise _error(exc) from exc
            log.info("WeChat says the access token is invalid (%s): refreshing it once", exc.errcode)
        try:
            self.tokens.refresh(used)
        except TokenUnavailable as exc:
            raise SendError(None, str(exc)[:300]) from exc
        try:
            return self._attempt(request)
        except WeChatClientException as exc:
            raise _error(exc) from exc

    def send(self, openid: str, payload: dict) -> None:
        """One rendered customer-service message (``{"text": …}``, or ``{"menu": msgmenu}``)."""
        if "menu" in payload:
            self.call(lambda: self.message.send_msg_menu(openid, payload["menu"]))
        else:
            self.call(lambda: self.message.send_text(openid, payload["text"]))

    def send_template(self, openid: str, template_id: str, data: dict, url: str | None = None) -> None:
        """One template message (模板消息): ``data`` is ``{key: {"value": …}}`` for the template's keys."""
        self.call(lambda: self.message.send_template(openid, template_id, data, url=url or None))

    def _token(self) -> str:
        try:
            return self.tokens.current()
        except TokenUnavailable as exc:
            raise SendError(None, str(exc)[:300]) from exc

    @staticmethod
    def _attempt(request: Callable[[], T]) -> T:
        """One request: WeChat's refusal raises wechatpy's ``WeChatClientException``, no answer
        ``SendError`` (the URL's token left out of its text)."""
        try:
            return request()
        except requests.RequestException as exc:
            raise SendError(None, redact(f"WeChat unreachable: {exc}")[:300]) from exc
        except TokenUnavailable as exc:  # the token expired meanwhile and none could be had
            raise SendError(None, str(exc)[:300]) from exc


def _error(exc: WeChatClientException) -> SendError:
    return SendError(exc.errcode, f"WeChat refused the message: {exc.errcode} {exc.errmsg}"[:300])
