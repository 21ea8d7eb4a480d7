"""A WeCom application's message (企业微信应用消息) to one member (``touser``: the target's address
is the member's UserID), through ``wechatpy.enterprise``'s client: a text card whose tap opens the
acknowledgement link, or plain text.

wechatpy's enterprise client fetches its token from ``qyapi.weixin.qq.com`` whatever its
``API_BASE_URL`` says and, with ``auto_retry``, retries an invalid token without end; here the
token comes from ``<base>/cgi-bin/gettoken`` (a proxy or the tests' fake) with the request timeout,
and a token WeCom calls invalid or expired (40014, 42001) is refreshed once and the message tried
once more. The token lives in the process (WeCom hands out the same one until it expires).

What a refusal means for the target: an unknown member or one outside the application's visible
range (81013, or ``invaliduser`` in the answer) is permanent — fix the target; a wrong secret or
corp id, a wrong AgentId, or this server's IP not among the application's trusted IPs (60020) is
permanent too — the settings are wrong and every WeCom target fails until they are fixed; the rate
limit, WeCom busy, no answer: temporary.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, TypeVar

import requests
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException

from alerts.base import AlertFailed
from alerts.message import AlertMessage

TOKEN_ERRORS = {40014, 42001}  # invalid / expired access_token
INVALID_USER = 81013  # user & party & tag all invalid (or outside the application's range)
# The configuration's refusals, each with what to fix.
SETTINGS_ERRORS = {
    40001: "企业微信应用的 Secret 不对（请核对 TONGBAN_ALERTS__WECOM_SECRET）",
    40013: "企业微信的企业 ID（CorpID）不对",
    40056: "企业微信应用的 AgentId 不对",
    60020: "本服务器的 IP 不在企业微信应用的“企业可信IP”中",
    301002: "这个 Secret 不属于所配置的应用（AgentId）",
}
T = TypeVar("T")
TEMPORARY = {-1: "企业微信系统繁忙", 45009: "企业微信接口调用太频繁", 45033: "企业微信接口并发调用太多"}


class _Client(WeChatClient):
    """wechatpy's enterprise client on ``base_url`` (``…/cgi-bin/``), its token fetched there."""

    def __init__(self, corp_id: str, secret: str, *, base_url: str, timeout: float):
        super().__init__(corp_id, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = base_url  # wechatpy joins it with each endpoint ("message/send")
        self._token_lock = threading.Lock()

    @property
    def access_token(self) -> str:  # wechatpy reads it for every request
        with self._token_lock:
            return super().access_token

    def fetch_access_token(self) -> dict:
        """A token from ``<base>gettoken`` (``access_token`` None: ``requests`` leaves it out, so
        wechatpy does not ask for one to fetch one), kept as wechatpy keeps it."""
        result = self.get("gettoken", params={"corpid": self.corp_id, "corpsecret": self.secret,
                                              "access_token": None})
        expires_in = int(result.get("expires_in") or 7200)
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.expires_at = int(time.time()) + expires_in
        return result

    def refresh(self) -> None:
        with self._token_lock:
            self.session.delete(self.access_token_key)
            self.fetch_access_token()


class WeComAppChannel:
    """Sends the application's message to the member whose UserID is the target's address."""

    name = "wecom_app"

    def __init__(self, *, corp_id: str, agent_id: int, secret: str,
                 base_url: str = "https://qyapi.weixin.qq.com", timeout: float = 5.0,
                 message_type: str = "textcard"):
        self.agent_id = agent_id
        self.message_type = message_type
        self.client = _Client(corp_id, secret, base_url=base_url.rstrip("/") + "/cgi-bin/",
                              timeout=timeout)

    def send(self, address: str, message: AlertMessage) -> None:
        user_id = address.strip()
        if not user_id or "|" in user_id:
            raise AlertFailed("企业微信成员账号（UserID）格式不对", permanent=True)
        try:
            answer = _call(lambda: self._send(user_id, message))
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise _failure(exc) from exc
            try:
                _call(self.client.refresh)
                answer = _call(lambda: self._send(user_id, message))
            except WeChatClientException as again:
                raise _failure(again) from again
        if user_id in str(answer.get("invaliduser") or "").split("|"):
            raise _invalid_user()

    def _send(self, user_id: str, message: AlertMessage) -> dict:
        if self.message_type == "text":
            return self.client.message.send_text(self.agent_id, user_id, message.text())
        return self.client.message.send_text_card(self.agent_id, user_id, message.title(),
                                                  message.summary(), message.link, btntxt="接手")


def _call(request: Callable[[], T]) -> T:
    """One request to WeCom (with the token's, when it needs one): no answer → AlertFailed;
    WeCom's refusal stays wechatpy's ``WeChatClientException`` for the caller to read."""
    try:
        return request()
    except requests.Timeout as exc:
        raise AlertFailed("企业微信接口没有及时响应，稍后重试") from exc
    except requests.RequestException as exc:
        raise AlertFailed(f"连接不上企业微信接口（{type(exc).__name__}），稍后重试") from exc


def _invalid_user() -> AlertFailed:
    return AlertFailed("企业微信成员账号（UserID）无效，或不在应用的可见范围内，请核对这个接收方式",
                       permanent=True, code=INVALID_USER)


def _failure(exc: WeChatClientException) -> AlertFailed:
    code = exc.errcode
    if code is None:  # an HTTP error status: a proxy, WeCom down
        status = getattr(exc.response, "status_code", "?")
        return AlertFailed(f"企业微信接口返回 HTTP {status}，稍后重试", code=status)
    if code == INVALID_USER:
        return _invalid_user()
    if code in SETTINGS_ERRORS:
        return AlertFailed(f"{SETTINGS_ERRORS[code]}，请管理员检查企业微信应用的设置", permanent=True, code=code)
    if code in TEMPORARY:
        return AlertFailed(f"{TEMPORARY[code]}，稍后重试", code=code)
    if code in TOKEN_ERRORS:
        return AlertFailed("企业微信的 access_token 刷新后仍被拒绝，稍后重试", code=code)
    return AlertFailed(f"企业微信拒绝了消息：错误码 {code}（{str(exc.errmsg)[:100]}）", code=code)
