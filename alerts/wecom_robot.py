"""The WeCom group robot (企业微信群机器人): a markdown message to a group chat through the robot's
webhook, ``POST {base}/cgi-bin/webhook/send?key=KEY``. The key is the whole credential, so it is a
target's address (stored encrypted) and never appears in a reason; it is in the request's URL, which
httpx logs at INFO — ``tongban.logs.configure_logging`` keeps httpx at WARNING (tested).

WeCom answers ``{"errcode": 0}`` on success; 93000 means the key is not (or no longer) a robot's —
the robot was removed or the key mistyped: permanent, staff must fix the target; 45009 is the
robot's rate limit (20 messages a minute): try again later. No answer in time, an HTTP error or a
body that is not WeCom's JSON: temporary.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx

from alerts.base import AlertFailed
from alerts.message import AlertMessage

INVALID_KEY = 93000
RATE_LIMITED = 45009
_KEY = re.compile(r"^[0-9A-Fa-f-]{20,64}$")
MAX_BYTES = 4096  # WeCom's limit for a markdown message's content


def robot_key(address: str) -> str | None:
    """The key of a robot given as its key or as the webhook URL the group's robot page shows
    (``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``); None when it is neither."""
    address = address.strip()
    if address.startswith(("https://", "http://")):
        address = (parse_qs(urlsplit(address).query).get("key") or [""])[0]
    return address if _KEY.match(address) else None


class WeComRobotChannel:
    """Sends to the group whose robot key is the target's address."""

    name = "wecom_robot"

    def __init__(self, *, base_url: str = "https://qyapi.weixin.qq.com", timeout: float = 5.0,
                 transport: httpx.BaseTransport | None = None):
        self.url = base_url.rstrip("/") + "/cgi-bin/webhook/send"
        self._client = httpx.Client(timeout=timeout, transport=transport, trust_env=False)

    def send(self, address: str, message: AlertMessage) -> None:
        key = robot_key(address)
        if key is None:
            raise AlertFailed("群机器人的 webhook key 格式不对，请在群机器人设置中重新复制", permanent=True)
        content = message.markdown()
        if len(content.encode("utf-8")) > MAX_BYTES:  # never with our own text; WeCom would refuse it
            content = message.text()[:1300]
        body = {"msgtype": "markdown", "markdown": {"content": content}}
        try:
            response = self._client.post(self.url, params={"key": key}, json=body)
        except httpx.TimeoutException as exc:
            raise AlertFailed("企业微信群机器人接口没有及时响应，稍后重试") from exc
        except httpx.HTTPError as exc:
            raise AlertFailed(f"连接不上企业微信群机器人接口（{type(exc).__name__}），稍后重试") from exc
        _check(response)

    def close(self) -> None:
        self._client.close()


def _check(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise AlertFailed(f"企业微信群机器人接口返回 HTTP {response.status_code}，稍后重试",
                          code=response.status_code)
    try:
        answer = response.json()
        code = int(answer.get("errcode", -1))
    except (ValueError, AttributeError, TypeError) as exc:
        raise AlertFailed("企业微信群机器人接口的回答看不懂（不是 JSON），稍后重试") from exc
    if code == 0:
        return
    if code == INVALID_KEY:
        raise AlertFailed("群机器人的 webhook key 无效（机器人可能已被移出群聊或删除），请更新这个接收方式",
                          permanent=True, code=code)
    if code == RATE_LIMITED:
        raise AlertFailed("群机器人发送太频繁（每分钟最多 20 条），稍后重试", code=code)
    errmsg = str(answer.get("errmsg", ""))[:100]
    raise AlertFailed(f"企业微信群机器人拒绝了消息：错误码 {code}（{errmsg}）", code=code)
