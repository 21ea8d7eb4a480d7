"""SMS alerts through a provider (no provider is built in): ``SmsChannel`` checks the number and
hands the text to whichever ``SmsProvider`` the settings name by dotted path
(``sms_provider = "package.module:Class"``, constructed with ``sms_options`` as keywords).

A provider for a commercial SMS service (Aliyun, Tencent Cloud: a signature and an approved
template) is a small class with ``send(phone, text, message)``; it may ignore ``text`` and fill
its template's variables from ``message`` (reference, kinds, area, link) — docs/alerts.md shows
one. ``WebhookSmsProvider`` posts ``{"phone", "text"}`` as JSON to an HTTP gateway of one's own,
with a bearer token: self-hosters' relays and the tests use it.
"""

from __future__ import annotations

import importlib
import re
from typing import Any, Protocol, runtime_checkable

import httpx

from alerts.base import AlertFailed
from alerts.message import AlertMessage

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


@runtime_checkable
class SmsProvider(Protocol):
    """Sends one text to one mainland mobile number (11 digits, no +86); raises ``AlertFailed``
    (``permanent`` when the number or the account is refused, not when the service is down)."""

    def send(self, phone: str, text: str, message: AlertMessage) -> None: ...


def mobile_number(address: str) -> str | None:
    """The 11-digit mainland mobile number of ``address`` (spaces, dashes and +86 / 0086 allowed)."""
    digits = re.sub(r"[\s-]", "", address)
    for prefix in ("+86", "0086"):
        digits = digits.removeprefix(prefix)
    return digits if _MOBILE.match(digits) else None


class SmsChannel:
    """Texts the target's phone number through ``provider``."""

    name = "sms"

    def __init__(self, provider: SmsProvider):
        self.provider = provider

    def send(self, address: str, message: AlertMessage) -> None:
        phone = mobile_number(address)
        if phone is None:
            raise AlertFailed("手机号码格式不对（应为 11 位中国大陆手机号）", permanent=True)
        self.provider.send(phone, message.brief(), message)


def load_provider(path: str, options: dict[str, Any] | None = None) -> SmsProvider:
    """The provider class at ``path`` ("package.module:Class") built with ``options``. A wrong path
    or options raise ``ValueError`` at start-up, not at the first emergency."""
    module_name, _, class_name = path.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"sms_provider {path!r}: cannot import it ({exc})") from exc
    try:
        provider = cls(**(options or {}))
    except TypeError as exc:
        raise ValueError(f"sms_provider {path!r}: its options do not fit ({exc})") from exc
    if not isinstance(provider, SmsProvider):
        raise ValueError(f"sms_provider {path!r} has no send(phone, text, message) method")
    return provider


class WebhookSmsProvider:
    """POSTs ``{"phone": …, "text": …}`` to ``url`` with ``Authorization: Bearer <token>``; a 2xx
    answer is success. 401/403 and other 4xx (but 408 and 429) are permanent, the rest temporary."""

    def __init__(self, url: str, token: str = "", timeout: float = 5.0,
                 transport: httpx.BaseTransport | None = None):
        if not url.startswith(("https://", "http://")):
            raise ValueError("the SMS webhook's url is an http(s) address")
        self.url = url
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(timeout=timeout, headers=headers, transport=transport, trust_env=False)

    def __repr__(self) -> str:  # never the token
        return f"WebhookSmsProvider({self.url!r})"

    def send(self, phone: str, text: str, message: AlertMessage) -> None:
        try:
            response = self._client.post(self.url, json={"phone": phone, "text": text})
        except httpx.TimeoutException as exc:
            raise AlertFailed("短信网关没有及时响应，稍后重试") from exc
        except httpx.HTTPError as exc:
            raise AlertFailed(f"连接不上短信网关（{type(exc).__name__}），稍后重试") from exc
        status = response.status_code
        if status < 300:
            return
        if status in (401, 403):
            raise AlertFailed(f"短信网关拒绝了令牌（HTTP {status}）：请管理员核对短信设置", permanent=True,
                              code=status)
        if 400 <= status < 500 and status not in (408, 429):
            raise AlertFailed(f"短信网关拒绝了这条短信（HTTP {status}），请核对手机号码和短信设置",
                              permanent=True, code=status)
        raise AlertFailed(f"短信网关返回 HTTP {status}，稍后重试", code=status)

    def close(self) -> None:
        self._client.close()
