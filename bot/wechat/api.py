"""WeChat's API as the channel uses it: wechatpy's ``WeChatClient`` on the configured host, its token
the shared one (``bot/wechat/tokens.py``): customer-service messages (客服消息), template messages
(模板消息), the menu and QR codes through ``call``.

wechatpy's own token handling does not fit several workers: its ``fetch_access_token`` asks
``api.weixin.qq.com`` whatever ``API_BASE_URL`` says, keeps the token in the process, and on an
invalid token (40001, 42001) it refreshes and retries without end. Here the client runs with
``auto_retry=False``; ``call`` (every request: messages, templates, the menu, QR codes) refreshes once
through the shared token and tries once more. Everything here blocks (wechatpy uses ``requests``)
except ``send_async``: the customer-service messages of the channel's delivery, built by wechatpy's
message API as ever but carried by aiohttp on the event loop (``requests`` in a thread cost several
times the CPU per message, as it did for Telegram: bench/results/wechat_throughput.md), WeChat's
answer read by wechatpy's own result handling.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Awaitable, Callable, TypeVar

import aiohttp
import requests
from wechatpy import WeChatClient
from wechatpy.client.api import WeChatMessage
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
KEEPALIVE = 2.0  # seconds an idle connection to the API is kept for the next message
Blocking = Callable[..., Awaitable]  # runs a blocking function in a thread: ``await blocking(function, *args)``


class SendError(Exception):
    """A request WeChat did not take (a message, a menu, a QR code): ``code`` is its errcode (None: no
    answer, not JSON, or no access token)."""

    def __init__(self, code: int | None, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def retry(self) -> bool:
        """Worth trying again later (unreachable, busy, the quota, a token that would not refresh)."""
        return self.code in (None, SYSTEM_BUSY, RATE_LIMITED) or self.code in TOKEN_ERRORS


class _Drafts:
    """Stands in for the client under wechatpy's API classes: the endpoint and JSON body they would
    post, returned instead of posted (``send_async`` carries them)."""

    def post(self, endpoint: str, **kwargs) -> tuple[str, dict]:
        return endpoint, kwargs.get("data") or {}


class _Answer:
    """What wechatpy's result handling reads of a response: the body (no ``requests`` request here)."""

    def __init__(self, status: int, content: bytes):
        self.status_code = status
        self.content = content
        self.request = None


class WeChatApi(WeChatClient):
    """wechatpy's client pointed at ``base_url`` (``…/cgi-bin/``), with the shared token."""

    def __init__(self, *, app_id: str, secret: str, base_url: str, db: Database, cipher: DataCipher,
                 timeout: float = 5.0):
        super().__init__(app_id, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = base_url  # wechatpy joins it with each endpoint ("message/custom/send")
        self.tokens = SharedToken(db=db, cipher=cipher, app_id=app_id, fetch=self.fetch_access_token)
        self._drafts = WeChatMessage(_Drafts())
        self._session: aiohttp.ClientSession | None = None  # send_async's, made in the running loop

    @property
    def access_token(self) -> str:  # wechatpy reads it for every request
        return self.tokens.current()

    def fetch_access_token(self) -> dict:
        """A new token from ``<base_url>token`` (``access_token`` given as None so that wechatpy does
        not ask for one: ``requests`` leaves out parameters that are None)."""
        return self.get("token", params={"grant_type": "client_credential", "appid": self.appid,
                                         "secret": self.secret, "access_token": None})

    def call(self, request: Callable[[], T]) -> T:
        """``request()`` (a wechatpy API call) with the shared token: WeChat saying the token is invalid
        (40001, 40014, 42001) → one refresh and one more try. Raises ``SendError``."""
        used = self._token()
        try:
            return _attempt(request)
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise _error(exc) from exc
            log.info("WeChat says the access token is invalid (%s): refreshing it once", exc.errcode)
        try:
            self.tokens.refresh(used)
        except TokenUnavailable as exc:
            raise SendError(None, str(exc)[:300]) from exc
        try:
            return _attempt(request)
        except WeChatClientException as exc:
            raise _error(exc) from exc

    # --- customer-service messages -----------------------------------------------------------
    def send(self, openid: str, payload: dict) -> None:
        """One rendered message (``{"text": …}``, or ``{"menu": msgmenu}``); raises ``SendError``."""
        if "menu" in payload:
            self.call(lambda: self.message.send_msg_menu(openid, payload["menu"]))
        else:
            self.call(lambda: self.message.send_text(openid, payload["text"]))

    async def send_async(self, openid: str, payload: dict, blocking: Blocking) -> None:
        """``send`` on the event loop (aiohttp); ``blocking`` runs the token's database steps, when
        this process's copy is stale, in a thread. Raises ``SendError``."""
        if "menu" in payload:
            endpoint, data = self._drafts.send_msg_menu(openid, payload["menu"])
        else:
            endpoint, data = self._drafts.send_text(openid, payload["text"])
        used = self.tokens.cached() or await blocking(self._token)
        try:
            await self._post_async(endpoint, data, used)
            return
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise _error(exc) from exc
            log.info("WeChat says the access token is invalid (%s): refreshing it once", exc.errcode)
        try:
            token = await blocking(self.tokens.refresh, used)
        except TokenUnavailable as exc:
            raise SendError(None, str(exc)[:300]) from exc
        try:
            await self._post_async(endpoint, data, token)
        except WeChatClientException as exc:
            raise _error(exc) from exc

    async def _post_async(self, endpoint: str, data: dict, token: str) -> None:
        """One POST as wechatpy's ``_request`` makes it; its ``_handle_result`` reads the answer
        (``WeChatClientException`` for an errcode)."""
        if self._session is None or self._session.closed:
            # a kept-alive connection is dropped well before a server closes it as idle (uvicorn: 5 s),
            # so that a message is not written into a connection the server has just closed
            connector = aiohttp.TCPConnector(limit=32, keepalive_timeout=KEEPALIVE)
            self._session = aiohttp.ClientSession(connector=connector,
                                                  cookie_jar=aiohttp.DummyCookieJar(),
                                                  timeout=aiohttp.ClientTimeout(total=self.timeout))
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        try:
            async with self._session.post(f"{self.API_BASE_URL}{endpoint}", params={"access_token": token},
                                          data=body) as response:
                status, content = response.status, await response.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise SendError(None, redact(f"WeChat unreachable: {type(exc).__name__} {exc}")[:300]) from exc
        answer = _Answer(status, content)
        if status >= 400:  # a proxy, WeChat down: not WeChat's JSON answer (as wechatpy's raise_for_status)
            raise WeChatClientException(None, None, client=self, response=answer)
        self._handle_result(answer)

    async def close_async(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def send_template(self, openid: str, template_id: str, data: dict, url: str | None = None) -> None:
        """One template message (模板消息): ``data`` is ``{key: {"value": …}}`` for the template's keys."""
        self.call(lambda: self.message.send_template(openid, template_id, data, url=url or None))

    def _token(self) -> str:
        try:
            return self.tokens.current()
        except TokenUnavailable as exc:
            raise SendError(None, str(exc)[:300]) from exc


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
    if exc.errcode is None:  # an HTTP error status (a proxy, WeChat down), not WeChat's JSON answer
        return SendError(None, f"WeChat answered HTTP {getattr(exc.response, 'status_code', '?')}")
    return SendError(exc.errcode, f"WeChat refused the request: {exc.errcode} {exc.errmsg}"[:300])


# What an administrator can do about WeChat's usual refusals of the account's own requests.
_HINTS = {None: "连接不上微信接口，或取不到 access token：请检查 AppID、AppSecret、IP 白名单和网络",
          SYSTEM_BUSY: "微信系统繁忙，请稍后再试", RATE_LIMITED: "今天这个接口的调用次数已用完，请明天再试",
          40164: "本服务器的 IP 地址不在公众号的 IP 白名单中", 61004: "本服务器的 IP 地址不在公众号的 IP 白名单中",
          48001: "公众号没有这个接口的权限（自定义菜单和带参数二维码需要已认证的服务号）",
          40013: "AppID 无效", 40125: "AppSecret 无效",
          **dict.fromkeys(TOKEN_ERRORS, "access token 刷新后仍被拒绝（AppSecret 是否刚重置过？请稍后再试）")}


def explain(exc: SendError) -> str:
    """A refusal of the account's own requests (the menu, QR codes) for the administrator: what to
    check in Chinese, WeChat's own words after it."""
    hint = _HINTS.get(exc.code) or f"微信返回错误码 {exc.code}"
    return f"微信没有完成这项操作：{hint}。（{exc.message}）"
