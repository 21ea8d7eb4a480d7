"""A fake Telegram Bot API server for tests.

``FakeTelegram`` is a small Starlette app served by uvicorn on 127.0.0.1 in a
background thread.  It speaks the real Bot API wire format, so the real
python-telegram-bot ``Bot``/``Application`` can be pointed at it::

    fake = FakeTelegram(token="123456:TEST-TOKEN").start()
    bot = telegram.Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)

Requests arrive as ``POST {base_url}{token}/{method}`` (python-telegram-bot
sends ``application/x-www-form-urlencoded`` bodies in which every non-string
value -- ints, bools, ``reply_markup``, ``allowed_updates`` ... -- is a JSON
string); JSON bodies, multipart bodies and GET query strings are accepted too.
Answers are ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}``.

The server keeps the state of one bot: pending updates for ``getUpdates``, a
webhook, the messages the bot sent (per-chat message ids shared with the
user's messages, as in a private chat), commands, and everything it was asked,
for the test to inspect.  State survives ``stop()``/``start()``, and
``start()`` re-binds the same port, so a bot outlives a simulated outage.

Thread-safety: the test thread and the server thread share state under one
``threading.Lock``; long polls are woken with ``loop.call_soon_threadsafe``.
Sync helpers that wait (``wait_for``, ``wait_sent``, ``push`` to a webhook)
block the calling thread -- from a coroutine that shares its event loop with
the bot, use the ``*_async`` / ``a*`` variants instead.
"""

from __future__ import annotations

import asyncio
import copy
import html
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["FakeTelegram", "MEDIA_KINDS"]

MEDIA_KINDS = ("voice", "photo", "sticker", "document", "video", "audio", "video_note")

USER_FIRST_NAME = "家长"
USER_LANGUAGE = "zh-hans"

# Form values arrive as raw strings for these parameters; every other form value
# is JSON-decoded when it parses (python-telegram-bot json.dumps()es non-strings).
_STRING_PARAMS = frozenset({
    "text", "parse_mode", "caption", "url", "secret_token", "callback_query_id",
    "inline_message_id", "language_code", "ip_address", "business_connection_id",
    "message_effect_id", "file_id", "action", "emoji", "title", "description",
    "short_description", "name", "query", "phone_number", "first_name", "last_name",
    "address", "foursquare_id", "vcard", "sticker", "photo", "document", "voice",
    "audio", "video", "video_note", "animation", "thumbnail", "certificate",
})
# Parameters that are JSON objects/arrays; a JSON *body* may still carry them as
# JSON-encoded strings (Telegram accepts both), so strings get decoded.
_JSON_PARAMS = frozenset({
    "reply_markup", "allowed_updates", "commands", "scope", "entities",
    "caption_entities", "link_preview_options", "reply_parameters", "menu_button",
    "media", "results",
})
_INT_PARAMS = frozenset({"chat_id", "message_id", "user_id", "offset", "limit", "timeout",
                         "max_connections", "cache_time", "message_thread_id"})

# Telegram's default for getUpdates/webhooks: everything but these.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_DESCRIPTIONS = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: ("Conflict: terminated by other getUpdates request; make sure that only one bot "
          "instance is running"),
    420: "Flood: injected failure",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
BLOCKED = "Forbidden: bot was blocked by the user"
WEBHOOK_CONFLICT = ("Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first")
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message")

_UNSET: Any = object()


class ApiError(Exception):
    """Raised by a method handler: becomes an ``{"ok": false}`` answer."""

    def __init__(self, status: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


# --------------------------------------------------------------------------------------
# parse_mode validation (the subset of Telegram's parser that catches real bugs)
# --------------------------------------------------------------------------------------

_HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
              "a", "tg-emoji", "code", "pre", "blockquote"}
_TAG_RE = re.compile(r"<(/?)([A-Za-z0-9-]*)([^<>]*)>")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _parse_html(text: str) -> str:
    """Validate Telegram HTML; return the plain text the message will show."""
    stack: list[tuple[str, int]] = []
    plain: list[str] = []
    pos = 0
    while True:
        lt = text.find("<", pos)
        if lt < 0:
            plain.append(text[pos:])
            break
        plain.append(text[pos:lt])
        match = _TAG_RE.match(text, lt)
        if match is None:
            if text.find(">", lt) < 0:
                raise ApiError(400, "Bad Request: can't parse entities: Unclosed start tag at "
                                    f"byte offset {_byte_offset(text, lt)}")
            raise ApiError(400, "Bad Request: can't parse entities: Unsupported start tag \"\" at "
                                f"byte offset {_byte_offset(text, lt)}")
        closing, name, _attrs = match.group(1), match.group(2).lower(), match.group(3)
        if closing:
            if not stack:
                raise ApiError(400, "Bad Request: can't parse entities: Unexpected end tag at "
                                    f"byte offset {_byte_offset(text, lt)}")
            expected, _ = stack.pop()
            if name != expected:
                raise ApiError(400, "Bad Request: can't parse entities: Unmatched end tag at byte "
                                    f"offset {_byte_offset(text, lt)}, expected \"</{expected}>\", "
                                    f"found \"</{name}>\"")
        else:
            if name not in _HTML_TAGS:
                raise ApiError(400, f"Bad Request: can't parse entities: Unsupported start tag "
                                    f"\"{name}\" at byte offset {_byte_offset(text, lt)}")
            stack.append((name, lt))
        pos = match.end()
    if stack:
        raise ApiError(400, "Bad Request: can't parse entities: Can't find end tag corresponding "
                            f"to start tag \"{stack[-1][0]}\"")
    return html.unescape("".join(plain))


_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {"*": "Bold", "_": "Italic", "__": "Underline", "~": "Strikethrough", "||": "Spoiler"}


def _reserved(char: str) -> ApiError:
    return ApiError(400, f"Bad Request: can't parse entities: Character '{char}' is reserved and "
                         "must be escaped with the preceding '\\'")


def _parse_markdown_v2(text: str) -> str:
    """Validate MarkdownV2 (escaping and balanced entities); return the plain text."""
    plain: list[str] = []
    open_marks: dict[str, int] = {}
    link_start: int | None = None
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\":
            if i + 1 < n:
                plain.append(text[i + 1])
            i += 2
            continue
        if char == "`":
            fence = "```" if text.startswith("```", i) else "`"
            j = i + len(fence)
            while j < n and not text.startswith(fence, j):
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                kind = "Pre" if fence == "```" else "Code"
                raise ApiError(400, f"Bad Request: can't parse entities: Can't find end of {kind} "
                                    f"entity at byte offset {_byte_offset(text, i)}")
            body = text[i + len(fence):j]
            if fence == "```" and "\n" in body:
                first, rest = body.split("\n", 1)
                body = rest if re.fullmatch(r"[\w+#.-]*", first) else body
            plain.append(re.sub(r"\\(.)", r"\1", body))
            i = j + len(fence)
            continue
        if char in "*~" or char == "_" or text.startswith("||", i):
            mark = "__" if text.startswith("__", i) else "||" if char == "|" else char
            if mark in open_marks:
                del open_marks[mark]
            else:
                open_marks[mark] = i
            i += len(mark)
            continue
        if char == "[":
            if link_start is not None:
                raise _reserved("[")
            link_start = i
            i += 1
            continue
        if char == "]":
            if link_start is None:
                raise _reserved("]")
            link_start = None
            if text.startswith("(", i + 1):
                j = i + 2
                while j < n and text[j] != ")":
                    j += 2 if text[j] == "\\" else 1
                if j >= n:
                    raise ApiError(400, "Bad Request: can't parse entities: Can't find end of a "
                                        f"URL at byte offset {_byte_offset(text, i + 1)}")
                i = j + 1
            else:
                i += 1
            continue
        if char == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1
            continue
        if char in _MDV2_RESERVED:
            raise _reserved(char)
        plain.append(char)
        i += 1
    if link_start is not None:
        raise ApiError(400, "Bad Request: can't parse entities: Can't find end of TextUrl entity "
                            f"at byte offset {_byte_offset(text, link_start)}")
    if open_marks:
        mark, start = min(open_marks.items(), key=lambda item: item[1])
        raise ApiError(400, "Bad Request: can't parse entities: Can't find end of "
                            f"{_MDV2_NAMES[mark]} entity at byte offset "
                            f"{_byte_offset(text, start)}")
    return "".join(plain)


def _parse_markdown(text: str) -> str:
    """Legacy Markdown: *bold* _italic_ `code` ```pre``` [text](url) must be closed."""
    plain: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in "*_`[":
            plain.append(text[i + 1])
            i += 2
            continue
        if char in "*_`[":
            end_mark = {"*": "*", "_": "_", "`": "`", "[": "]"}[char]
            if text.startswith("```", i):
                end_mark, char = "```", "```"
            j = text.find(end_mark, i + len(char))
            if j < 0:
                raise ApiError(400, "Bad Request: can't parse entities: Can't find end of the "
                                    f"entity starting at byte offset {_byte_offset(text, i)}")
            plain.append(text[i + len(char):j])
            i = j + len(end_mark)
            if end_mark == "]" and text.startswith("(", i):
                close = text.find(")", i)
                i = close + 1 if close >= 0 else i
            continue
        plain.append(char)
        i += 1
    return "".join(plain)


def _rendered_text(text: str, parse_mode: str | None) -> str:
    mode = (parse_mode or "").lower()
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _parse_markdown_v2(text)
    if mode == "markdown":
        return _parse_markdown(text)
    if parse_mode:
        raise ApiError(400, f"Bad Request: unsupported parse_mode \"{parse_mode}\"")
    return text


# --------------------------------------------------------------------------------------
# the fake
# --------------------------------------------------------------------------------------


class FakeTelegram:
    """A fake Bot API server for one bot token.  See the module docstring."""

    def __init__(self, token: str = "123456:TEST-TOKEN", *, host: str = "127.0.0.1", port: int = 0,
                 bot_username: str = "tongban_test_bot", bot_first_name: str = "同伴",
                 strict: bool = True):
        self.token = token
        self.host = host
        self.strict = strict  # validate parse_mode markup and inline keyboards like Telegram
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.bot_user = {"id": self.bot_id, "is_bot": True, "first_name": bot_first_name,
                         "username": bot_username, "can_join_groups": True,
                         "can_read_all_group_messages": False, "supports_inline_queries": False,
                         "can_connect_to_business": False, "has_main_web_app": False}
        self._port = port
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._stopping = False
        self._thread_error: BaseException | None = None
        self._reset_state()
        self.app = Starlette(routes=[
            Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
            Route("/file/bot{token}/{path:path}", self._download, methods=["GET"]),
            Route("/{path:path}", self._not_found, methods=["GET", "POST", "PUT", "DELETE"]),
        ])

    def _reset_state(self) -> None:
        self._ids = itertools.count(1)
        self._next_update_id = 100001
        self._updates: list[dict] = []
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._waiting_polls = 0
        self._message_ids: dict[int, int] = {}
        self._messages: dict[tuple[int, int], dict] = {}
        self._callback_queries: dict[str, bool] = {}  # id -> answered
        self._files: dict[str, dict] = {}
        self._calls: list[dict] = []
        self._sent: list[dict] = []
        self._sent_by_chat: dict[int, list[dict]] = {}
        self._edits: list[dict] = []
        self._answers: list[dict] = []
        self._deliveries: list[dict] = []
        self._commands: dict[tuple[str, str], list[dict]] = {}
        self._webhook: dict | None = None
        self._webhook_pending: list[dict] = []
        self._last_webhook_error: tuple[int, str] | None = None
        self._failures: list[dict] = []
        self._blocked: set[int] = set()
        self._delay = 0.0

    def reset(self) -> FakeTelegram:
        """Forget everything (updates, messages, observations, faults); keep server and port.
        Update ids keep increasing, so a bot that is polling is not confused by its offset."""
        with self._lock:
            waiting, next_update_id = self._waiting_polls, self._next_update_id
            self._reset_state()
            self._waiting_polls, self._next_update_id = waiting, next_update_id
        return self

    # ---------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("FakeTelegram has no port yet: call start() first")
        return f"http://{self.host}:{self._port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 5.0) -> FakeTelegram:
        """Serve on 127.0.0.1 (a free port the first time, the same port afterwards)."""
        if self.running:
            return self
        # proto IPPROTO_TCP (not 0) matters: asyncio only sets TCP_NODELAY on accepted
        # sockets whose proto is TCP, and without it every answer waits ~40 ms (Nagle +
        # delayed ACK) because uvicorn writes headers and body separately.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._port))
        except OSError:
            sock.close()
            raise
        sock.listen(1024)
        sock.setblocking(False)
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, lifespan="off", log_level="warning", log_config=None,
                                access_log=False, ws="none", timeout_graceful_shutdown=1,
                                timeout_keep_alive=30)
        server = uvicorn.Server(config)
        self._sock, self._server, self._thread_error = sock, server, None
        self._stopping = False
        thread = threading.Thread(target=self._run, args=(server, sock), daemon=True,
                                  name=f"fake-telegram-{self._port}")
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"fake Telegram server did not start: {self._thread_error!r}")
            time.sleep(0.002)
        return self

    def _run(self, server: uvicorn.Server, sock: socket.socket) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._wakeup = asyncio.Event()
            await server.serve(sockets=[sock])

        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self._thread_error = exc
        finally:
            self._loop = None
            self._wakeup = None

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and close the socket; clients now get connection errors."""
        thread, server = self._thread, self._server
        if thread is None or server is None:
            return
        self._stopping = True
        self._wake()
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout)
        if self._sock is not None:
            self._sock.close()
        self._thread = self._server = self._sock = None
        self._stopping = False

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> FakeTelegram:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.stop)

    def _wake(self) -> None:
        loop, event = self._loop, self._wakeup
        if loop is not None and event is not None:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # loop closed in the meantime
                pass

    # ---------------------------------------------------------------- HTTP layer

    async def _not_found(self, request: Request) -> Response:
        return _error(404, "Not Found")

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        path = request.path_params["path"]
        with self._lock:
            content = next((f["content"] for f in self._files.values()
                            if f["file_path"] == path), None)
        if content is None:
            return _error(404, "Not Found")
        return Response(content, media_type="application/octet-stream")

    async def _api(self, request: Request) -> Response:
        token = request.path_params["token"]
        raw_method = request.path_params["method"]
        try:
            params = await _read_params(request)
        except ApiError as exc:
            params = {}
            return self._record(raw_method, params, _error(exc.status, exc.description))
        if token != self.token:
            if re.fullmatch(r"\d+:[\w-]+", token):
                return self._record(raw_method, params, _error(401, "Unauthorized"))
            return self._record(raw_method, params, _error(404, "Not Found"))
        handler = self._handlers.get(raw_method.lower())
        if handler is None:
            return self._record(raw_method, params, _error(404, "Not Found"))
        method = handler.__name__[3:]  # "_m_sendMessage" -> "sendMessage"
        if self._delay:
            await asyncio.sleep(self._delay)
        try:
            self._check_faults(method, params)
            if handler is FakeTelegram._m_getUpdates:
                result = await self._m_getUpdates(params)
            else:
                with self._lock:
                    result = handler(self, params)
        except ApiError as exc:
            return self._record(method, params, _error(exc.status, exc.description, exc.parameters))
        return self._record(method, params, JSONResponse({"ok": True, "result": result}))

    def _record(self, method: str, params: dict, response: Response) -> Response:
        with self._lock:
            self._calls.append({"method": method, "params": params,
                                "status": response.status_code, "time": time.time()})
        return response

    def _check_faults(self, method: str, params: dict) -> None:
        with self._lock:
            for rule in self._failures:
                if rule["method"] != method.lower():
                    continue
                wanted = rule["chat_id"]
                if wanted is not None and str(params.get("chat_id")) != str(wanted):
                    continue
                rule["times"] -= 1
                if rule["times"] <= 0:
                    self._failures.remove(rule)
                raise ApiError(rule["status"], rule["description"], rule["parameters"])
            if method.startswith(("send", "edit", "copy", "forward")) and \
                    _as_int(params.get("chat_id")) in self._blocked:
                raise ApiError(403, BLOCKED)

    # ---------------------------------------------------------------- Bot API methods
    # Handlers are named _m_<method>; all but getUpdates run under self._lock.

    def _m_getMe(self, params: dict) -> dict:
        return dict(self.bot_user)

    def _m_logOut(self, params: dict) -> bool:
        return True

    def _m_close(self, params: dict) -> bool:
        return True

    async def _m_getUpdates(self, params: dict) -> list[dict]:
        offset = _as_int(params.get("offset"))
        limit = min(max(_as_int(params.get("limit")) or 100, 1), 100)
        try:
            timeout = max(float(params.get("timeout") or 0), 0.0)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: wrong parameter timeout specified") from None
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._webhook is not None:
                raise ApiError(409, WEBHOOK_CONFLICT)
            if "allowed_updates" in params:
                self._allowed_updates = list(params["allowed_updates"] or [])
            if offset is not None:
                if offset < 0:
                    self._updates = self._updates[offset:]
                else:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._poll_generation += 1
            generation = self._poll_generation
        self._wake()  # an older long poll, if any, is now terminated
        event = self._wakeup
        waiting = False
        try:
            while True:
                if event is not None:
                    event.clear()
                with self._lock:
                    if generation != self._poll_generation:
                        raise ApiError(409, _DESCRIPTIONS[409])
                    if self._webhook is not None:
                        raise ApiError(409, WEBHOOK_CONFLICT)
                    self._updates = [u for u in self._updates if self._allowed(u)]
                    if self._updates:
                        return copy.deepcopy(self._updates[:limit])
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or self._stopping or event is None:
                        return []
                    if not waiting:
                        waiting = True
                        self._waiting_polls += 1
                try:
                    await asyncio.wait_for(event.wait(), remaining)
                except asyncio.TimeoutError:
                    pass
        finally:
            if waiting:
                with self._lock:
                    self._waiting_polls -= 1

    def _allowed(self, update: dict, allowed: list[str] | None = None) -> bool:
        allowed = self._allowed_updates if allowed is None else allowed
        kind = _update_kind(update)
        return kind in allowed if allowed else kind not in _OPT_IN_UPDATES

    def _m_setWebhook(self, params: dict) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return self._m_deleteWebhook(params)
        if not re.match(r"https?://[^/\s]+", url):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for "
                                "webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if _truthy(params.get("drop_pending_updates")):
            self._updates.clear()
            self._webhook_pending.clear()
        self._webhook = {"url": url, "secret_token": secret,
                         "max_connections": _as_int(params.get("max_connections")) or 40,
                         "allowed_updates": params.get("allowed_updates"),
                         "ip_address": params.get("ip_address"),
                         "drop_pending_updates": _truthy(params.get("drop_pending_updates"))}
        if params.get("allowed_updates") is not None:
            self._allowed_updates = list(params["allowed_updates"])
        # updates waiting for getUpdates are now owed to the webhook
        self._webhook_pending.extend(self._updates)
        self._updates.clear()
        self._wake()
        return True

    def _m_deleteWebhook(self, params: dict) -> bool:
        if _truthy(params.get("drop_pending_updates")):
            self._updates.clear()
            self._webhook_pending.clear()
        self._webhook = None
        self._last_webhook_error = None
        # undelivered webhook updates become available to getUpdates
        self._updates.extend(self._webhook_pending)
        self._updates.sort(key=lambda u: u["update_id"])
        self._webhook_pending.clear()
        return True

    def _m_getWebhookInfo(self, params: dict) -> dict:
        if self._webhook is None:
            return {"url": "", "has_custom_certificate": False,
                    "pending_update_count": len(self._updates)}
        info = {"url": self._webhook["url"], "has_custom_certificate": False,
                "pending_update_count": len(self._webhook_pending),
                "max_connections": self._webhook["max_connections"]}
        if self._webhook.get("allowed_updates") is not None:
            info["allowed_updates"] = self._webhook["allowed_updates"]
        if self._webhook.get("ip_address"):
            info["ip_address"] = self._webhook["ip_address"]
        if self._last_webhook_error:
            info["last_error_date"], info["last_error_message"] = self._last_webhook_error
        return info

    def _m_sendMessage(self, params: dict) -> dict:
        chat_id = self._chat_id(params)
        text = params.get("text")
        if text is None or str(text) == "":
            raise ApiError(400, "Bad Request: message text is empty")
        text = str(text)
        shown = _rendered_text(text, params.get("parse_mode")) if self.strict else text
        if not shown.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(shown.encode("utf-16-le")) // 2 > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        markup = self._markup(params)
        message = self._new_message(chat_id, self.bot_user, text=shown)
        if params.get("entities"):
            message["entities"] = params["entities"]
        if params.get("link_preview_options"):
            message["link_preview_options"] = params["link_preview_options"]
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # Telegram echoes only inline keyboards
        reply_to = (params.get("reply_parameters") or {}).get("message_id") \
            if isinstance(params.get("reply_parameters"), dict) else None
        original = self._messages.get((chat_id, _as_int(reply_to) or 0))
        if original is not None:
            message["reply_to_message"] = {k: v for k, v in original.items()
                                           if k != "reply_to_message"}
        record = dict(params)
        record.update(chat_id=chat_id, text=text, parse_mode=params.get("parse_mode"),
                      reply_markup=markup, message_id=message["message_id"], date=message["date"])
        self._sent.append(record)
        self._sent_by_chat.setdefault(chat_id, []).append(record)
        return copy.deepcopy(message)

    def _m_editMessageText(self, params: dict) -> dict | bool:
        text = params.get("text")
        if text is None or str(text) == "":
            raise ApiError(400, "Bad Request: text must be non-empty")
        text = str(text)
        shown = _rendered_text(text, params.get("parse_mode")) if self.strict else text
        if len(shown.encode("utf-16-le")) // 2 > 4096:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        markup = self._markup(params)
        return self._edit("editMessageText", params, text=shown, markup=markup,
                          record={"text": text, "parse_mode": params.get("parse_mode")})

    def _m_editMessageReplyMarkup(self, params: dict) -> dict | bool:
        markup = self._markup(params)
        return self._edit("editMessageReplyMarkup", params, text=_UNSET, markup=markup, record={})

    def _edit(self, method: str, params: dict, *, text: Any, markup: dict | None,
              record: dict) -> dict | bool:
        inline_markup = markup if markup and "inline_keyboard" in markup else None
        entry = dict(params)
        entry.update(record, method=method, reply_markup=markup)
        if params.get("inline_message_id"):
            self._edits.append(entry)
            return True
        chat_id = self._chat_id(params)
        message_id = _as_int(params.get("message_id"))
        if message_id is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not message["from"].get("is_bot") or message["from"]["id"] != self.bot_id:
            raise ApiError(400, "Bad Request: message can't be edited")
        new_text = message.get("text") if text is _UNSET else text
        if new_text == message.get("text") and inline_markup == message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        message["text"] = new_text
        if inline_markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = inline_markup
        if text is not _UNSET:
            message.pop("entities", None)
            if params.get("entities"):
                message["entities"] = params["entities"]
        message["edit_date"] = int(time.time())
        entry.update(chat_id=chat_id, message_id=message_id)
        self._edits.append(entry)
        return copy.deepcopy(message)

    def _m_deleteMessage(self, params: dict) -> bool:
        chat_id = self._chat_id(params)
        if self._messages.pop((chat_id, _as_int(params.get("message_id")) or 0), None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    def _m_sendChatAction(self, params: dict) -> bool:
        self._chat_id(params)
        return True

    def _m_answerCallbackQuery(self, params: dict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if self._callback_queries.get(query_id, True):  # unknown or already answered
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or "
                                "query ID is invalid")
        if len(str(params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._callback_queries[query_id] = True
        self._answers.append(dict(params))
        return True

    def _m_setMyCommands(self, params: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        clean = []
        for command in commands:
            if not isinstance(command, dict):
                raise ApiError(400, "Bad Request: can't parse BotCommand JSON object")
            name, description = str(command.get("command", "")), str(command.get("description", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not description:
                raise ApiError(400, "Bad Request: command description is empty")
            if len(description) > 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": name, "description": description})
        self._commands[_commands_key(params)] = clean
        return True

    def _m_getMyCommands(self, params: dict) -> list[dict]:
        return copy.deepcopy(self._commands.get(_commands_key(params), []))

    def _m_deleteMyCommands(self, params: dict) -> bool:
        self._commands.pop(_commands_key(params), None)
        return True

    def _m_setMyDescription(self, params: dict) -> bool:
        return True

    def _m_setMyShortDescription(self, params: dict) -> bool:
        return True

    def _m_setChatMenuButton(self, params: dict) -> bool:
        return True

    def _m_getFile(self, params: dict) -> dict:
        entry = self._files.get(str(params.get("file_id") or ""))
        if entry is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {k: entry[k] for k in ("file_id", "file_unique_id", "file_size", "file_path")}

    _handlers: dict[str, Callable] = {}

    # ---------------------------------------------------------------- helpers (under lock)

    def _chat_id(self, params: dict) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        as_int = _as_int(chat_id)
        if as_int is None or as_int == 0:
            raise ApiError(400, "Bad Request: chat not found")
        return as_int

    def _markup(self, params: dict) -> dict | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if self.strict and "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise ApiError(400, "Bad Request: can't parse inline keyboard button: "
                                    "InlineKeyboardButton must be an Object")
            for button in itertools.chain.from_iterable(rows):
                if not isinstance(button, dict) or not button.get("text"):
                    raise ApiError(400, "Bad Request: can't parse inline keyboard button: "
                                        "Text buttons are unallowed in the inline keyboard")
                actions = set(button) - {"text"}
                if not actions:
                    raise ApiError(400, "Bad Request: can't parse inline keyboard button: "
                                        "Text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _chat(self, chat_id: int) -> dict:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": USER_FIRST_NAME}
        if str(chat_id).startswith("-100"):
            return {"id": chat_id, "type": "supergroup", "title": "测试群组"}
        return {"id": chat_id, "type": "group", "title": "测试群组"}

    def _new_message(self, chat_id: int, sender: dict, **fields: Any) -> dict:
        message_id = self._message_ids.get(chat_id, 0) + 1
        self._message_ids[chat_id] = message_id
        message = {"message_id": message_id, "from": dict(sender), "chat": self._chat(chat_id),
                   "date": int(time.time())}
        message.update({k: v for k, v in fields.items() if v is not None})
        self._messages[(chat_id, message_id)] = message
        return message

    def _user(self, user_id: int) -> dict:
        return {"id": user_id, "is_bot": False, "first_name": USER_FIRST_NAME,
                "language_code": USER_LANGUAGE}

    def _new_update(self, **payload: Any) -> dict:
        update = {"update_id": self._next_update_id, **payload}
        self._next_update_id += 1
        return update

    def _user_message_update(self, chat_id: int, extra: dict, **fields: Any) -> dict:
        user_id = abs(chat_id) if chat_id < 0 else chat_id
        with self._lock:
            message = self._new_message(chat_id, self._user(user_id), **fields)
            message.update(extra)
            return self._new_update(message=copy.deepcopy(message))

    # ---------------------------------------------------------------- update builders

    def text_update(self, chat_id: int, text: str, **extra: Any) -> dict:
        """A user's text message; a leading /command gets its bot_command entity."""
        entities = _command_entities(text)
        return self._user_message_update(chat_id, extra, text=text, entities=entities or None)

    def command_update(self, chat_id: int, command: str, payload: str | None = None,
                       **extra: Any) -> dict:
        """``/start`` (or ``/start payload``) with the bot_command entity Telegram adds."""
        command = command if command.startswith("/") else f"/{command}"
        text = f"{command} {payload}" if payload else command
        return self._user_message_update(chat_id, extra, text=text,
                                         entities=_command_entities(text))

    def callback_update(self, chat_id: int, data: str, message_id: int | None = None,
                        **extra: Any) -> dict:
        """A button press on the bot's message ``message_id`` (default: its latest message).

        An unknown message becomes an InaccessibleMessage (``date`` 0), as Telegram does.
        """
        user_id = abs(chat_id) if chat_id < 0 else chat_id
        with self._lock:
            if message_id is None:
                mine = [mid for (cid, mid), m in self._messages.items()
                        if cid == chat_id and m["from"]["id"] == self.bot_id]
                message_id = max(mine) if mine else 0
            message = self._messages.get((chat_id, message_id))
            message = copy.deepcopy(message) if message is not None else \
                {"chat": self._chat(chat_id), "message_id": message_id, "date": 0}
            query_id = str(4_000_000_000_000_000_000 + next(self._ids))
            self._callback_queries[query_id] = False
            query = {"id": query_id, "from": self._user(user_id),
                     "chat_instance": str(-7_000_000_000_000_000_000 + abs(chat_id)),
                     "data": data, "message": message, **extra}
            return self._new_update(callback_query=query)

    def location_update(self, chat_id: int, latitude: float, longitude: float,
                        **extra: Any) -> dict:
        return self._user_message_update(chat_id, extra,
                                         location={"latitude": latitude, "longitude": longitude})

    def contact_update(self, chat_id: int, phone_number: str, user_id: int | None = None,
                       **extra: Any) -> dict:
        contact = {"phone_number": phone_number, "first_name": USER_FIRST_NAME,
                   "user_id": chat_id if user_id is None else user_id}
        return self._user_message_update(chat_id, extra, contact=contact)

    def media_update(self, chat_id: int, kind: str, *, content: bytes | None = None,
                     caption: str | None = None, **extra: Any) -> dict:
        """A voice/photo/sticker/document/video/audio/video_note message.

        The file is registered, so ``getFile`` and the download URL work (serving
        ``content``, default some fake bytes).
        """
        if kind not in MEDIA_KINDS:
            raise ValueError(f"kind must be one of {MEDIA_KINDS}, not {kind!r}")
        content = content if content is not None else f"fake {kind} bytes".encode()
        size = len(content)

        def file(suffix: str, **fields: Any) -> dict:
            number = next(self._ids)
            file_id = f"AgAC{kind.upper()}{number:06d}FAKEFILEID"
            unique = f"AQAD{number:06d}"
            with self._lock:
                self._files[file_id] = {"file_id": file_id, "file_unique_id": unique,
                                        "file_size": size, "content": content,
                                        "file_path": f"{kind}s/file_{number}.{suffix}"}
            return {"file_id": file_id, "file_unique_id": unique, "file_size": size, **fields}

        if kind == "photo":
            media: Any = [file("jpg", width=90, height=90), file("jpg", width=800, height=800)]
        elif kind == "voice":
            media = file("oga", duration=3, mime_type="audio/ogg")
        elif kind == "sticker":
            media = file("webp", width=512, height=512, is_animated=False, is_video=False,
                         type="regular", emoji="👍", set_name="fake_stickers")
        elif kind == "document":
            media = file("pdf", file_name="材料.pdf", mime_type="application/pdf")
        elif kind == "video":
            media = file("mp4", width=640, height=360, duration=5, mime_type="video/mp4")
        elif kind == "audio":
            media = file("mp3", duration=30, title="录音", mime_type="audio/mpeg",
                         file_name="audio.mp3")
        else:  # video_note
            media = file("mp4", length=240, duration=4)
        return self._user_message_update(chat_id, extra, caption=caption, **{kind: media})

    # ---------------------------------------------------------------- delivering updates

    def push(self, update: dict) -> int | None:
        """Queue ``update`` for getUpdates, or deliver it to the webhook if one is set.

        Webhook mode returns the HTTP status the bot answered (0 = connection error;
        None = filtered out by allowed_updates, or delivered in the background
        because this was called from a running event loop -- use ``apush`` there).
        A failed delivery is kept for ``redeliver()``.
        """
        with self._lock:
            webhook = copy.deepcopy(self._webhook)
            if webhook is None:
                self._updates.append(copy.deepcopy(update))
                self._updates.sort(key=lambda u: u["update_id"])
                self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
        if webhook is None:
            self._wake()
            return None
        if not self._allowed(update, webhook.get("allowed_updates") or []):
            return None
        if _in_event_loop():
            threading.Thread(target=self._deliver, args=(update, webhook), daemon=True).start()
            return None
        return self._deliver(update, webhook)

    async def apush(self, update: dict) -> int | None:
        """``push`` for coroutines: waits for the webhook answer without blocking the loop."""
        return await asyncio.to_thread(self.push, update)

    def push_many(self, *updates: dict) -> list[int | None]:
        return [self.push(update) for update in updates]

    def deliver_webhook(self, update: dict, secret_token: str | None = _UNSET) -> int:
        """POST one update to the webhook with an explicit (default: the configured) secret
        header; ``None`` sends no header.  Returns the status (0 = connection error)."""
        with self._lock:
            if self._webhook is None:
                raise RuntimeError("no webhook is set (the bot never called setWebhook)")
            webhook = copy.deepcopy(self._webhook)
        if secret_token is not _UNSET:
            webhook["secret_token"] = secret_token
        return self._post_webhook(update, webhook)

    async def adeliver_webhook(self, update: dict, secret_token: str | None = _UNSET) -> int:
        return await asyncio.to_thread(self.deliver_webhook, update, secret_token)

    def redeliver(self) -> int:
        """Retry failed webhook deliveries in order; stop at the first failure.
        Returns how many were delivered."""
        delivered = 0
        while True:
            with self._lock:
                if self._webhook is None or not self._webhook_pending:
                    return delivered
                update = self._webhook_pending.pop(0)
                webhook = copy.deepcopy(self._webhook)
            status = self._post_webhook(update, webhook)
            if 200 <= status < 300:
                delivered += 1
                continue
            with self._lock:
                self._webhook_pending.insert(0, update)
            return delivered

    async def aredeliver(self) -> int:
        return await asyncio.to_thread(self.redeliver)

    def _deliver(self, update: dict, webhook: dict) -> int:
        status = self._post_webhook(update, webhook)
        if not 200 <= status < 300:
            with self._lock:
                self._webhook_pending.append(copy.deepcopy(update))
        return status

    def _post_webhook(self, update: dict, webhook: dict) -> int:
        headers = {"Content-Type": "application/json"}
        if webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(webhook["secret_token"])
        body = json.dumps(update, ensure_ascii=False).encode("utf-8")
        error = None
        try:
            with httpx.Client(timeout=10.0, trust_env=False) as client:
                status = client.post(webhook["url"], content=body, headers=headers).status_code
        except httpx.HTTPError as exc:
            status, error = 0, f"Connection failed: {exc.__class__.__name__}"
        with self._lock:
            self._deliveries.append({"update_id": update.get("update_id"), "status": status,
                                     "secret_token": webhook.get("secret_token"), "error": error})
            if not 200 <= status < 300:
                self._last_webhook_error = (int(time.time()),
                                            error or f"Wrong response from the webhook: {status}")
        return status

    # ---------------------------------------------------------------- observations

    def sent(self, chat_id: int | None = None) -> list[dict]:
        """Successful sendMessage calls, in order (all params + message_id)."""
        with self._lock:
            records = self._sent if chat_id is None else self._sent_by_chat.get(chat_id, [])
            return copy.deepcopy(records)

    def sent_count(self, chat_id: int | None = None) -> int:
        """len(sent(chat_id)) without copying (cheap enough to poll from benchmarks)."""
        with self._lock:
            return len(self._sent if chat_id is None else self._sent_by_chat.get(chat_id, []))

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [s["text"] for s in self.sent(chat_id)]

    def calls(self, method: str | None = None) -> list[dict]:
        """Every API request: {"method", "params", "status", "time"}, in order of answer."""
        with self._lock:
            return [copy.deepcopy(c) for c in self._calls
                    if method is None or c["method"].lower() == method.lower()]

    def edits(self, chat_id: int | None = None) -> list[dict]:
        """Successful editMessageText / editMessageReplyMarkup calls (params + "method")."""
        with self._lock:
            return [copy.deepcopy(e) for e in self._edits
                    if chat_id is None or e.get("chat_id") == chat_id]

    def callback_answers(self) -> list[dict]:
        with self._lock:
            return copy.deepcopy(self._answers)

    def webhook_deliveries(self) -> list[dict]:
        """Every webhook POST: {"update_id", "status", "secret_token", "error"}."""
        with self._lock:
            return copy.deepcopy(self._deliveries)

    def message(self, chat_id: int, message_id: int) -> dict | None:
        """The message as it is now in the chat (edits applied), or None."""
        with self._lock:
            return copy.deepcopy(self._messages.get((chat_id, message_id)))

    def pending_updates(self) -> list[dict]:
        """Updates waiting for getUpdates (not yet confirmed with an offset)."""
        with self._lock:
            return copy.deepcopy(self._updates)

    @property
    def commands(self) -> dict[str, list[dict]]:
        """setMyCommands results: {language_code or "": [...]} for the default scope; other
        scopes appear as "<scope type>" or "<scope type>/<language_code>" (chat scopes
        as "chat:<chat_id>")."""
        with self._lock:
            return {_commands_label(key): copy.deepcopy(value)
                    for key, value in self._commands.items()}

    @property
    def waiting_polls(self) -> int:
        """How many getUpdates long polls are waiting right now (the bot is polling)."""
        with self._lock:
            return self._waiting_polls

    @property
    def webhook(self) -> dict | None:
        with self._lock:
            return copy.deepcopy(self._webhook)

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0,
                 message: str | None = None, interval: float = 0.005) -> Any:
        """Poll until ``predicate()`` is truthy and return its value.  Blocks this thread."""
        deadline = time.monotonic() + timeout
        while not (value := self._try(predicate, deadline, timeout, message, in_loop=None)):
            time.sleep(interval)
        return value

    async def wait_for_async(self, predicate: Callable[[], Any], timeout: float = 10.0,
                             message: str | None = None, interval: float = 0.005) -> Any:
        """``wait_for`` for coroutines (yields to the event loop while waiting)."""
        deadline = time.monotonic() + timeout
        while not (value := self._try(predicate, deadline, timeout, message, in_loop=False)):
            await asyncio.sleep(interval)
        return value

    def _try(self, predicate: Callable[[], Any], deadline: float, timeout: float, message: str | None,
             in_loop: bool | None) -> Any:
        """One look of a wait (both waits share it; they differ only in how they sleep between
        looks): the predicate's value, or past the deadline the failure saying what was awaited."""
        value = predicate()
        if not value and time.monotonic() > deadline:
            raise AssertionError(self._timeout_message(predicate, timeout, message, in_loop=in_loop))
        return value

    def wait_sent(self, chat_id: int, count: int = 1, timeout: float = 10.0) -> list[dict]:
        """Wait until at least ``count`` messages were sent to ``chat_id``; return them all."""
        self.wait_for(lambda: self.sent_count(chat_id) >= count, timeout,
                      f"expected at least {count} message(s) sent to chat {chat_id}")
        return self.sent(chat_id)

    async def wait_sent_async(self, chat_id: int, count: int = 1,
                              timeout: float = 10.0) -> list[dict]:
        await self.wait_for_async(lambda: self.sent_count(chat_id) >= count, timeout,
                                  f"expected at least {count} message(s) sent to chat {chat_id}")
        return self.sent(chat_id)

    def _timeout_message(self, predicate: Callable, timeout: float, message: str | None,
                         in_loop: bool | None = None) -> str:
        with self._lock:
            recent = [f"{c['method']}({_short(c['params'])}) -> {c['status']}"
                      for c in self._calls[-8:]]
            sent = [(s["chat_id"], s["text"][:40]) for s in self._sent[-5:]]
            pending = len(self._updates)
        text = message or f"condition {getattr(predicate, '__name__', predicate)} not met"
        lines = [f"{text} within {timeout}s",
                 f"  server running: {self.running}; pending getUpdates updates: {pending}",
                 f"  last sent: {sent or 'nothing'}",
                 "  last API calls: " + ("; ".join(recent) if recent else "none")]
        if in_loop is None and _in_event_loop():
            lines.append("  note: wait_for() blocked a running event loop; if the bot runs on that "
                         "loop use `await fake.wait_for_async(...)` / `wait_sent_async`")
        return "\n".join(lines)

    # ---------------------------------------------------------------- fault injection

    def fail_next(self, method: str, status: int = 429, retry_after: int = 2,
                  chat_id: int | None = None, times: int = 1,
                  description: str | None = None) -> FakeTelegram:
        """The next ``times`` calls of ``method`` (only for ``chat_id`` if given) fail with
        ``status``; 429 carries parameters.retry_after."""
        text = description or _DESCRIPTIONS.get(status, f"Error {status}")
        parameters = None
        if status == 429:
            text = text.format(retry_after=retry_after)
            parameters = {"retry_after": retry_after}
        with self._lock:
            self._failures.append({"method": method.lower(), "status": status,
                                   "description": text, "parameters": parameters,
                                   "chat_id": chat_id, "times": times})
        return self

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    def block(self, chat_id: int) -> None:
        """From now on, sending to / editing in ``chat_id`` answers 403 (user blocked the bot)."""
        with self._lock:
            self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        with self._lock:
            self._blocked.discard(chat_id)

    def set_delay(self, seconds: float) -> None:
        """Latency added to every API answer."""
        self._delay = max(float(seconds), 0.0)


FakeTelegram._handlers = {name[3:].lower(): getattr(FakeTelegram, name)
                          for name in dir(FakeTelegram) if name.startswith("_m_")}


# --------------------------------------------------------------------------------------
# module helpers
# --------------------------------------------------------------------------------------


def _error(status: int, description: str, parameters: dict | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=status)


async def _read_params(request: Request) -> dict:
    params: dict[str, Any] = {k: _decode_form_value(k, v) for k, v in request.query_params.items()}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method == "POST":
        if content_type == "application/json":
            body = await request.body()
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON encoded request") from None
            if not isinstance(data, dict):
                raise ApiError(400, "Bad Request: can't parse JSON encoded request")
            params.update({k: _normalise_json_value(k, v) for k, v in data.items()})
        elif content_type == "multipart/form-data":
            form = await request.form()
            for key, value in form.multi_items():
                if isinstance(value, str):
                    params[key] = _decode_form_value(key, value)
                else:
                    params[key] = {"filename": value.filename, "size": value.size}
        else:  # x-www-form-urlencoded, or no body
            body = await request.body()
            if body:
                pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
                for key, value in pairs:
                    params[key] = _decode_form_value(key, value)
    return params


def _decode_form_value(key: str, value: str) -> Any:
    if key in _STRING_PARAMS:
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        if key in _JSON_PARAMS:
            raise ApiError(400, f"Bad Request: can't parse {key} JSON object") from None
        return value
    return decoded


def _normalise_json_value(key: str, value: Any) -> Any:
    if key in _JSON_PARAMS and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(400, f"Bad Request: can't parse {key} JSON object") from None
    if key in _INT_PARAMS and isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true") or value == 1


def _update_kind(update: dict) -> str:
    return next((key for key in update if key != "update_id"), "")


def _command_entities(text: str) -> list[dict]:
    match = re.match(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?", text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": match.end()}]


def _commands_key(params: dict) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    if isinstance(scope, str):
        try:
            scope = json.loads(scope)
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse BotCommandScope JSON object") from None
    scope_type = str(scope.get("type", "default"))
    if scope_type in ("chat", "chat_administrators", "chat_member"):
        scope_type += f":{scope.get('chat_id')}"
        if scope.get("user_id") is not None:
            scope_type += f":{scope.get('user_id')}"
    return scope_type, str(params.get("language_code") or "")


def _commands_label(key: tuple[str, str]) -> str:
    scope, language = key
    if scope == "default":
        return language
    return f"{scope}/{language}" if language else scope


def _short(params: dict) -> str:
    text = json.dumps(params, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
