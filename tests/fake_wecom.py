"""A fake WeCom (企业微信) for the duty alerts' tests: the group robot's webhook and an application's
token and message API, on 127.0.0.1 (uvicorn in a thread, ``tests/live_server.py``), in WeCom's
wire format::

    POST /cgi-bin/webhook/send?key=KEY                   (a robot: markdown or text)
    GET  /cgi-bin/gettoken?corpid=…&corpsecret=…        → {"access_token", "expires_in"}
    POST /cgi-bin/message/send?access_token=…            (an application's text or textcard)

A robot key not in ``robot_keys`` gets 93000; a member not in ``users`` 81013 (all recipients
invalid) or, beside valid ones, ``invaliduser``; an unknown token 40014, an expired one
(``expire_token()``) 42001. Faults are injected per endpoint: ``fail_next(errcode, endpoint=…)``
(45009 rate limit, 60020 untrusted IP, -1 busy…), ``fail_http(status)`` (a proxy's error page),
``hang_next(seconds)`` (an answer later than the client waits); ``stop()`` makes it unreachable.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.live_server import RestartableServer

CORP_ID = "ww1f2e3d4c5b6a7980"
SECRET = "test-wecom-app-secret"
AGENT_ID = 1000002
ROBOT_KEY = "693a91f6-7000-4bc4-97a0-0ec255fa5aaa"  # the shape of a robot key (a UUID)
USERS = {"WangGong", "li.na@bao-an"}
ROBOT = "webhook/send"
TOKEN = "gettoken"
SEND = "message/send"
ERRORS = {93000: "invalid webhook url", 45009: "api freq out of limit", 40014: "invalid access_token",
          42001: "access_token expired", 40001: "invalid secret", 40013: "invalid corpid",
          40056: "invalid agentid", 60020: "not allow to access from your ip", -1: "system busy",
          81013: "user & party & tag all invalid", 40008: "invalid message type",
          44004: "empty content", 40058: "invalid parameter"}
ROBOT_MAX_BYTES = 4096


class FakeWeCom(RestartableServer):
    def __init__(self, *, corp_id: str = CORP_ID, secret: str = SECRET, agent_id: int = AGENT_ID):
        self.corp_id, self.secret, self.agent_id = corp_id, secret, agent_id
        self.robot_keys = {ROBOT_KEY}
        self.users = set(USERS)
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self.tokens: set[str] = set()  # the valid tokens
        self.expired: set[str] = set()
        self.token_requests = 0
        self.calls: list[dict] = []  # every robot and application call: endpoint, body, errcode answered
        self.robot_sent: dict[str, list[dict]] = {}  # key → the robot messages accepted
        self.app_sent: list[dict] = []  # the application messages accepted
        self._faults: list[tuple[str, str, int | float]] = []  # (endpoint, kind, value)
        super().__init__()
        self.app = Starlette(routes=[Route(f"/cgi-bin/{ROBOT}", self._robot, methods=["POST"]),
                                     Route(f"/cgi-bin/{TOKEN}", self._token, methods=["GET"]),
                                     Route(f"/cgi-bin/{SEND}", self._send, methods=["POST"])])

    @property
    def base_url(self) -> str:
        """What the settings take (``wecom_robot_base_url``, ``wecom_base_url``): no ``/cgi-bin``."""
        return f"http://127.0.0.1:{self._port}"

    # --- faults ---------------------------------------------------------------------------
    def fail_next(self, errcode: int, *, endpoint: str = SEND, times: int = 1) -> None:
        """The next ``times`` calls of ``endpoint`` are answered WeCom's ``errcode``."""
        with self._lock:
            self._faults += [(endpoint, "errcode", errcode)] * times

    def fail_http(self, status: int, *, endpoint: str = SEND) -> None:
        """The next call of ``endpoint`` gets an HTTP error status and a page that is not JSON."""
        with self._lock:
            self._faults.append((endpoint, "http", status))

    def hang_next(self, seconds: float, *, endpoint: str = SEND) -> None:
        """The next call of ``endpoint`` is answered (normally) only after ``seconds``."""
        with self._lock:
            self._faults.append((endpoint, "hang", seconds))

    def expire_token(self) -> None:
        """Every token handed out so far expires (42001 from now on)."""
        with self._lock:
            self.expired |= self.tokens
            self.tokens.clear()

    def _fault(self, endpoint: str) -> tuple[str, int | float] | None:
        with self._lock:
            fault = next((f for f in self._faults if f[0] == endpoint), None)
            if fault is not None:
                self._faults.remove(fault)
        return None if fault is None else (fault[1], fault[2])

    async def _faulted(self, endpoint: str, body: dict | None) -> Response | None:
        """The answer an injected fault gives instead of the endpoint's own (None: no fault, or a
        hang that has passed)."""
        fault = self._fault(endpoint)
        if fault is None:
            return None
        kind, value = fault
        if kind == "hang":
            await asyncio.sleep(value)
            return None
        self._record(endpoint, body, int(value) if kind == "errcode" else None)
        if kind == "http":
            return PlainTextResponse("<html>502 Bad Gateway</html>", status_code=int(value))
        return _answer(int(value))

    def _record(self, endpoint: str, body: dict | None, errcode: int | None) -> None:
        with self._lock:
            self.calls.append({"endpoint": endpoint, "body": body, "errcode": errcode})

    # --- what the test reads -----------------------------------------------------------------
    def robot_texts(self, key: str = ROBOT_KEY) -> list[str]:
        with self._lock:
            return [m[m["msgtype"]]["content"] for m in self.robot_sent.get(key, [])]

    def app_messages(self, user: str) -> list[dict]:
        with self._lock:
            return [m for m in self.app_sent if user in m["touser"].split("|")]

    # --- the robot ------------------------------------------------------------------------------
    async def _robot(self, request: Request) -> Response:
        body = await request.json()
        faulted = await self._faulted(ROBOT, body)
        if faulted is not None:
            return faulted
        key = request.query_params.get("key", "")
        code = 0
        if key not in self.robot_keys:
            code = 93000
        elif body.get("msgtype") not in ("markdown", "text"):
            code = 40008
        else:
            content = (body.get(body["msgtype"]) or {}).get("content") or ""
            if not content:
                code = 44004
            elif len(content.encode("utf-8")) > ROBOT_MAX_BYTES:
                code = 40058
        with self._lock:
            if code == 0:
                self.robot_sent.setdefault(key, []).append(body)
            self.calls.append({"endpoint": ROBOT, "body": body, "errcode": code, "at": time.time()})
        return _answer(code)

    # --- the application ----------------------------------------------------------------------
    async def _token(self, request: Request) -> Response:
        faulted = await self._faulted(TOKEN, None)
        if faulted is not None:
            return faulted
        params = request.query_params
        if params.get("corpid") != self.corp_id:
            return _answer(40013)
        if params.get("corpsecret") != self.secret:
            return _answer(40001)
        with self._lock:
            self.token_requests += 1
            token = f"WECOM-TOKEN-{next(self._numbers)}"
            self.tokens.add(token)
        return JSONResponse({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200})

    async def _send(self, request: Request) -> Response:
        body = await request.json()
        given = request.query_params.get("access_token")
        with self._lock:
            token_code = 0 if given in self.tokens else 42001 if given in self.expired else 40014
        if token_code:
            self._record(SEND, body, token_code)
            return _answer(token_code)
        faulted = await self._faulted(SEND, body)
        if faulted is not None:
            return faulted
        answer: dict = {"errcode": 0, "errmsg": "ok"}
        users = [u for u in str(body.get("touser") or "").split("|") if u]
        invalid = [u for u in users if u not in self.users]
        if body.get("agentid") != self.agent_id:
            answer = {"errcode": 40056}
        elif body.get("msgtype") not in ("text", "textcard") or not isinstance(body.get(body["msgtype"]), dict):
            answer = {"errcode": 40008}
        elif not users or len(invalid) == len(users):
            answer = {"errcode": 81013, "invaliduser": "|".join(invalid)}
        elif invalid:
            answer["invaliduser"] = "|".join(invalid)
        code = answer["errcode"]
        with self._lock:
            if code == 0:
                self.app_sent.append(body)
            self.calls.append({"endpoint": SEND, "body": body, "errcode": code})
        if code:
            answer["errmsg"] = ERRORS.get(code, "invalid")
        return JSONResponse(answer)


def _answer(code: int) -> JSONResponse:
    return JSONResponse({"errcode": code, "errmsg": "ok" if code == 0 else ERRORS.get(code, "invalid")})
