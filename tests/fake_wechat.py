"""A fake WeChat for tests: the API server the channel calls, and the parents' side of the callback.

``FakeWeChat`` is a small Starlette app on 127.0.0.1 (uvicorn in a thread, ``tests/live_server.py``)
with WeChat's wire format for what the channel uses::

    GET  /cgi-bin/token?grant_type=client_credential&appid=…&secret=…  → {"access_token", "expires_in"}
    POST /cgi-bin/message/custom/send?access_token=…  (customer-service text and msgmenu messages)
    POST /cgi-bin/message/template/send?access_token=…  (template messages; ids in ``templates``)
    POST /cgi-bin/menu/create, GET menu/get, GET menu/delete  (the custom menu: ``menu``)
    POST /cgi-bin/qrcode/create  (permanent string-scene QR codes → {"ticket", "url"}: ``qrcodes``)

A new token invalidates the one before it (as WeChat does). Errors are injected per call:
``fail_next(errcode)`` (45015 outside the 48 hours, 45009 the daily quota, 43004 unfollowed…; of
another endpoint with ``endpoint="menu/create"``…), ``expire_token()`` (the next call gets 40001),
``stop()``/``start()`` (unreachable). The menu and QR requests are kept in ``requests``.

``Parent`` posts what WeChat would post to the app's ``/wechat/callback``: the XML of a text, voice,
location, image or event, signed with the token, and in safe mode encrypted with wechatpy's
``WeChatCrypto`` (the test side of the crypto the channel checks).
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from typing import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from tests.live_server import RestartableServer

APP_ID = "wx5c1d9e2f7a3b4c6d"
SECRET = "test-app-secret"
TOKEN = "tongbantesttoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as the console shows it
ACCOUNT = "gh_0123456789ab"  # the account's original id (ToUserName)
ERRORS = {40001: "invalid credential, access_token is invalid or not latest",
          42001: "access_token expired", 43004: "require subscribe",
          45009: "reach max api daily quota limit",
          45015: "response out of time limit or subscription is canceled", 40008: "invalid message type",
          45047: "out of response count limit", 46003: "menu no exist", 40053: "invalid action info",
          48001: "api unauthorized", 40016: "invalid button size", 40037: "invalid template_id",
          47003: "argument invalid"}
SEND = "message/custom/send"
TEMPLATE = "message/template/send"
TEMPLATE_ID = "tpl-status-7f3a9c"  # the template the fake account has


class FakeWeChat(RestartableServer):
    def __init__(self, app_id: str = APP_ID, secret: str = SECRET):
        self.app_id = app_id
        self.secret = secret
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self.token: str | None = None  # the one valid token
        self.token_requests = 0
        self.calls: list[dict] = []  # every send: openid, message, the errcode answered
        self.sent: list[dict] = []  # the messages accepted, in order
        self.templates = {TEMPLATE_ID}  # the account's template ids
        self.template_sends: list[dict] = []  # template messages accepted, in order
        self.requests: list[dict] = []  # menu and QR code requests: endpoint, body (JSON), the errcode answered
        self.menu: dict | None = None  # the account's custom menu, as menu/create received it
        self.qrcodes: dict[str, dict] = {}  # scene → the last QR code made for it (ticket, url)
        self._to: dict[str, list[dict]] = {}  # the same, per openid (a benchmark reads them for 200 parents)
        self._faults: list[tuple[int, str, str | None]] = []
        super().__init__()
        self.app = Starlette(routes=[Route("/cgi-bin/token", self._token, methods=["GET"]),
                                     Route(f"/cgi-bin/{SEND}", self._send, methods=["POST"]),
                                     Route(f"/cgi-bin/{TEMPLATE}", self._template, methods=["POST"]),
                                     Route("/cgi-bin/menu/create", self._menu_create, methods=["POST"]),
                                     Route("/cgi-bin/menu/get", self._menu_get, methods=["GET"]),
                                     Route("/cgi-bin/menu/delete", self._menu_delete, methods=["GET"]),
                                     Route("/cgi-bin/qrcode/create", self._qrcode_create, methods=["POST"])])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/cgi-bin/"

    # --- faults ---------------------------------------------------------------------------
    def fail_next(self, errcode: int, times: int = 1, msgtype: str | None = None, endpoint: str = SEND) -> None:
        """The next ``times`` calls of ``endpoint`` (sends: of ``msgtype`` only, when given) are
        answered ``errcode``."""
        with self._lock:
            self._faults += [(errcode, endpoint, msgtype)] * times

    def expire_token(self) -> None:
        with self._lock:
            self.token = None

    # --- what the test reads -----------------------------------------------------------------
    def texts(self, openid: str) -> list[str]:
        with self._lock:
            return [m["text"]["content"] if m["msgtype"] == "text" else _menu_text(m["msgmenu"])
                    for m in self._to.get(openid, [])]

    def menus(self, openid: str) -> list[dict]:
        """The menu messages (msgmenu) the parent was sent."""
        with self._lock:
            return [m["msgmenu"] for m in self._to.get(openid, []) if m["msgtype"] == "msgmenu"]

    def wait_for(self, condition: Callable[[], object], timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"not met within {timeout} s: {condition}")
            time.sleep(0.02)

    def wait_sent(self, openid: str, count: int, timeout: float = 15.0) -> list[str]:
        self.wait_for(lambda: len(self.texts(openid)) >= count, timeout)
        return self.texts(openid)

    # --- the API ------------------------------------------------------------------------------
    async def _token(self, request: Request) -> JSONResponse:
        params = request.query_params
        if params.get("grant_type") != "client_credential" or params.get("appid") != self.app_id:
            return JSONResponse({"errcode": 40013, "errmsg": "invalid appid"})
        if params.get("secret") != self.secret:
            return JSONResponse({"errcode": 40001, "errmsg": "invalid appsecret"})
        with self._lock:
            self.token_requests += 1
            self.token = f"ACCESS-TOKEN-{next(self._numbers)}"
            return JSONResponse({"access_token": self.token, "expires_in": 7200})

    def _refusal(self, request: Request, endpoint: str, msgtype: str | None = None) -> int:
        """The error this call gets before the endpoint looks at it (0: none): an invalid token, or
        an injected fault. Called holding the lock."""
        given = request.query_params.get("access_token")
        if given is None or given != self.token:
            return 40001
        fault = next((f for f in self._faults if f[1] == endpoint and f[2] in (None, msgtype)), None)
        if fault is None:
            return 0
        self._faults.remove(fault)
        return fault[0]

    async def _send(self, request: Request) -> JSONResponse:
        message = await request.json()
        with self._lock:
            code = self._refusal(request, SEND, message.get("msgtype"))
            if code == 0 and (message.get("msgtype") not in ("text", "msgmenu") or not message.get("touser")):
                code = 44002
            if code == 0:
                self.sent.append(message)
                self._to.setdefault(message["touser"], []).append(message)
            self.calls.append({"openid": message.get("touser"), "message": message, "errcode": code})
        return _answer(code)

    async def _template(self, request: Request) -> JSONResponse:
        """A template message: a known template id, and every value a string of at most 200 characters."""
        message = await request.json()
        data = message.get("data")
        with self._lock:
            code = self._refusal(request, TEMPLATE)
            if code == 0 and message.get("template_id") not in self.templates:
                code = 40037
            elif code == 0 and (not message.get("touser") or not isinstance(data, dict) or not data or not all(
                    isinstance(v, dict) and isinstance(v.get("value"), str) and len(v["value"]) <= 200
                    for v in data.values())):
                code = 47003
            if code == 0:
                self.template_sends.append(message)
            self.calls.append({"openid": message.get("touser"), "message": message, "errcode": code})
        return _answer(code)

    async def _admin(self, request: Request, endpoint: str, act: Callable[[dict | None], dict | int]) -> JSONResponse:
        """A menu or QR code request: ``act(body)`` (holding the lock) → its answer, or an errcode."""
        body = await request.json() if request.method == "POST" else None
        with self._lock:
            code = self._refusal(request, endpoint)
            answer = act(body) if code == 0 else code
            code = answer if isinstance(answer, int) else 0
            self.requests.append({"endpoint": endpoint, "body": body, "errcode": code})
        return _answer(code) if code else JSONResponse(answer)

    async def _menu_create(self, request: Request) -> JSONResponse:
        def create(body):
            buttons = body.get("button") if isinstance(body, dict) else None
            if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
                return 40016
            self.menu = body
            return {"errcode": 0, "errmsg": "ok"}
        return await self._admin(request, "menu/create", create)

    async def _menu_get(self, request: Request) -> JSONResponse:
        return await self._admin(request, "menu/get", lambda _: {"menu": self.menu} if self.menu else 46003)

    async def _menu_delete(self, request: Request) -> JSONResponse:
        def delete(_):
            self.menu = None
            return {"errcode": 0, "errmsg": "ok"}
        return await self._admin(request, "menu/delete", delete)

    async def _qrcode_create(self, request: Request) -> JSONResponse:
        def create(body):
            scene = ((body or {}).get("action_info") or {}).get("scene") or {}
            scene_str = scene.get("scene_str")
            if body.get("action_name") != "QR_LIMIT_STR_SCENE" or not isinstance(scene_str, str) \
                    or not 1 <= len(scene_str) <= 64:
                return 40053
            number = next(self._numbers)  # a new ticket each time, with characters a URL must escape
            digest = hashlib.sha256(f"{scene_str}:{number}".encode()).hexdigest()
            made = {"ticket": f"gQH{digest[:24]}+/{number}==", "url": f"http://weixin.qq.com/q/02{digest[:22]}"}
            self.qrcodes[scene_str] = made
            return dict(made)
        return await self._admin(request, "qrcode/create", create)


class Parent:
    """One follower of the account posting to the app's callback (a TestClient or any httpx client)."""

    _ids = itertools.count(int(time.time()) * 1000)

    def __init__(self, client, openid: str, *, token: str = TOKEN, aes_key: str | None = None,
                 app_id: str = APP_ID):
        self.client = client
        self.openid = openid
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None

    # --- what a parent sends ------------------------------------------------------------------
    def text(self, content: str, msg_id: int | None = None):
        return self.post(self.xml("text", f"<Content><![CDATA[{content}]]></Content>", msg_id))

    def tap(self, item: dict):
        """Tap an item of a menu message: WeChat sends its text with the item's id."""
        fields = (f"<Content><![CDATA[{item['content']}]]></Content>"
                  f"<bizmsgmenuid>{item['id']}</bizmsgmenuid>")
        return self.post(self.xml("text", fields))

    def voice(self, recognition: str = ""):
        fields = ("<MediaId><![CDATA[media-voice]]></MediaId><Format><![CDATA[amr]]></Format>"
                  f"<Recognition><![CDATA[{recognition}]]></Recognition>")
        return self.post(self.xml("voice", fields))

    def location(self, latitude: float, longitude: float, label: str = ""):
        fields = (f"<Location_X>{latitude}</Location_X><Location_Y>{longitude}</Location_Y><Scale>15</Scale>"
                  f"<Label><![CDATA[{label}]]></Label>")
        return self.post(self.xml("location", fields))

    def image(self):
        fields = "<PicUrl><![CDATA[http://mmbiz.example/pic.jpg]]></PicUrl><MediaId><![CDATA[media-pic]]></MediaId>"
        return self.post(self.xml("image", fields))

    def event(self, event: str, key: str | None = None):
        fields = f"<Event><![CDATA[{event}]]></Event>"
        if key is not None:
            fields += f"<EventKey><![CDATA[{key}]]></EventKey>"
        return self.post(self.xml("event", fields, msg_id=0))

    def xml(self, kind: str, fields: str, msg_id: int | None = None) -> str:
        msg_id = next(self._ids) if msg_id is None else msg_id
        id_field = f"<MsgId>{msg_id}</MsgId>" if msg_id else ""
        return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                f"<FromUserName><![CDATA[{self.openid}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
                f"<MsgType><![CDATA[{kind}]]></MsgType>{fields}{id_field}</xml>")

    # --- the request ------------------------------------------------------------------------------
    def signed(self, timestamp: int | None = None, nonce: str = "n0nce") -> dict[str, str]:
        timestamp = str(int(time.time()) if timestamp is None else timestamp)
        signer = WeChatSigner()
        signer.add_data(self.token, timestamp, nonce)
        return {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce, "openid": self.openid}

    def post(self, xml: str, params: dict[str, str] | None = None):
        params, body = self.request(xml, params)
        return self.client.post("/wechat/callback", params=params, content=body,
                                headers={"content-type": "text/xml"})

    def request(self, xml: str, params: dict[str, str] | None = None) -> tuple[dict[str, str], bytes]:
        """The query and body WeChat would post for ``xml`` (signed now unless ``params`` are given;
        encrypted in safe mode)."""
        params = dict(params if params is not None else self.signed())
        body = xml
        if self.crypto is not None:
            body = self.crypto.encrypt_message(xml, params["nonce"], params["timestamp"])
            params["encrypt_type"] = "aes"
            params["msg_signature"] = _element(body, "MsgSignature")
        return params, body.encode("utf-8")

    def reply_text(self, response) -> str | None:
        """The passive reply's text ("success" or empty: None), decrypted in safe mode."""
        return self.passive_text(response.status_code, response.text)

    def passive_text(self, status: int, body: str) -> str | None:
        """``reply_text`` of a response read by any HTTP client: its status and body."""
        if status != 200 or body in ("", "success"):
            return None
        if self.crypto is not None:
            body = self.crypto.decrypt_message(body, _element(body, "MsgSignature"), _element(body, "TimeStamp"),
                                               _element(body, "Nonce"))
        return _element(body, "Content")


def _answer(code: int) -> JSONResponse:
    return JSONResponse({"errcode": code, "errmsg": "ok" if code == 0 else ERRORS.get(code, "invalid")})


def _menu_text(menu: dict) -> str:
    """A menu message as the parent reads it: the head, the items, the tail."""
    items = [item["content"] for item in menu.get("list", [])]
    return "\n".join([menu.get("head_content", ""), *items, menu.get("tail_content", "")]).strip()


def _element(xml: str, name: str) -> str:
    import xmltodict

    value = xmltodict.parse(xml)["xml"][name]
    return str(value)
