"""Rasa-compatible REST channel: ``POST /webhooks/rest/webhook``, the chat sessions it needs, and the
web chat page that talks to it (``GET /chat``, ``bot/web/chat.html``).

Request ``{"sender": str, "message": str, "message_id"?: str, "metadata"?: {...}}``; response:
a list of ``{"recipient_id", "text", "buttons"?, "custom"?}`` (Rasa's REST channel shapes).

Who may continue which conversation (README, "Security"):
- A public client (the web chat, any program on the internet) first gets a chat session from
  ``POST /webhooks/rest/session``: an unguessable id, signed and expiring, returned in the body
  and as an HttpOnly, SameSite=Strict cookie. Its messages carry it as ``sender`` or in the
  cookie; anything else — no sender, a made-up one, another channel's ("telegram:…") — is
  refused. Each session is its own conversation, so a client only ever sees what it typed.
- A trusted integration sends ``Authorization: Bearer <TONGBAN_SECURITY__API_TOKEN>`` and then
  names its own senders, as with Rasa; they live in their own namespace ("api:…") and can never
  reach a Telegram or web-chat conversation.
- Only the Telegram channel's verified webhook or polling reaches a Telegram conversation.

``message_id`` makes a retry safe: the same id again in the same conversation returns the replies
already given, without handling the message twice (a client whose connection broke mid-request
resends it). Public clients are rate limited per address and per session (429 with a polite text);
their turns run on threads of their own, so a flood cannot starve the staff pages.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import secrets
import time
from typing import Any

from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field, ValidationError

from bot.channel import Capabilities, TurnHook
from bot.http import SLOW_DOWN, refusal, run_public
from ledger.conversations import ConversationHandle, ForeignConversation
from ledger.reply import Reply

router = APIRouter()
CHANNEL = "rest"  # the conversations of REST clients and the web chat

SESSION_COOKIE = "tongban_chat"
SESSION_PATH = "/webhooks/rest"
PUBLIC_PREFIX = "web:"
TRUSTED_PREFIX = "api:"
REMEMBERED_REPLIES = 20  # message ids (with their replies) kept per conversation for retries
# the only metadata a REST client may send, with its longest value; events other than a /start
# (a shared location, a contact, media) come from the Telegram channel's own translation only
METADATA_FIELDS = {"locality": 64, "referral": 64}

EXPIRED = "对话已过期或无效，请刷新页面重新开始。之前提交的申请不受影响。"
NOT_YOURS = "这个会话不能在这里使用。请刷新页面重新开始。"
BAD_REQUEST = "请求的格式不对，请刷新页面后重试。"
NEEDS_JSON = "请用 JSON 格式发送（Content-Type: application/json）。"


class RestMessage(BaseModel):
    sender: str | None = Field(default=None, max_length=200)
    message: str | None = None  # the body cap bounds it; the engine reads the first 10,000 characters
    message_id: str | None = Field(default=None, max_length=64)
    metadata: dict[str, Any] | None = None


# --- chat sessions --------------------------------------------------------------------------
def issue_session(cipher, days: int, now: float | None = None) -> tuple[str, int]:
    """A new session token ``s1.<id>.<expiry>.<signature>`` and its expiry (unix seconds)."""
    expires = int((now or time.time()) + days * 86_400)
    sid = secrets.token_hex(16)
    return f"s1.{sid}.{expires}.{_signature(cipher, sid, expires)}", expires


def session_id(cipher, token: str, now: float | None = None) -> str | None:
    """The session id of a valid, unexpired token; None otherwise."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != "s1" or not parts[2].isdigit():
        return None
    _, sid, expires, signature = parts
    if not hmac.compare_digest(signature, _signature(cipher, sid, int(expires))):
        return None
    return sid if int(expires) > (now or time.time()) else None


def _signature(cipher, sid: str, expires: int) -> str:
    return cipher.lookup_hash(f"chat-session:{sid}.{expires}")[:40]


def conversation_key(cipher, sender: str, *, trusted: bool) -> str | None:
    """The conversation a REST sender names: a session's own, or a trusted integration's."""
    if trusted:
        return TRUSTED_PREFIX + sender
    sid = session_id(cipher, sender)
    return PUBLIC_PREFIX + sid if sid else None


def trusted_client(request: Request) -> bool | None:
    """True with the right bearer token, False without one, None with a wrong one."""
    header = request.headers.get("authorization")
    if header is None:
        return False
    token = request.app.state.settings.security.api_token.get_secret_value()
    supplied = header.removeprefix("Bearer ").strip()
    return True if token and hmac.compare_digest(supplied.encode(), token.encode()) else None


@router.post("/webhooks/rest/session")
async def new_session(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    limiter = request.app.state.runtime.limiter
    address = request.state.client_address

    def issue():
        verdict = limiter.hit(f"sessions:ip:{address}", limit=settings.limits.sessions_per_ip_per_hour, window=3600)
        if not verdict.allowed:
            return None, verdict.retry_after
        return issue_session(request.app.state.runtime.cipher, settings.limits.session_days), 0

    issued, retry_after = await run_public(request, issue)
    if issued is None:
        return refusal(429, SLOW_DOWN, retry_after)
    token, expires = issued
    response = JSONResponse({"sender": token,
                             "expires_at": dt.datetime.fromtimestamp(expires, dt.timezone.utc).isoformat()})
    response.set_cookie(SESSION_COOKIE, token, max_age=settings.limits.session_days * 86_400, path=SESSION_PATH,
                        httponly=True, samesite="strict",
                        secure=request.url.scheme == "https" or settings.env == "production")
    return response


# --- messages -------------------------------------------------------------------------------
class RestHook(TurnHook):
    """Inside the turn: a message id seen before replays its replies instead of a new turn."""

    def __init__(self, message_id: str | None):
        self.message_id = message_id
        self.replayed: list[dict] | None = None

    def begin(self, convo: ConversationHandle) -> bool:
        if self.message_id is None:
            return True
        for seen, replies in convo.state.get("rest_replies", []):
            if seen == self.message_id:
                self.replayed = replies
                return False
        return True

    def finish(self, convo: ConversationHandle, replies: list[Reply]) -> None:
        if self.message_id is None:
            return
        remembered = convo.state.get("rest_replies", [])[-(REMEMBERED_REPLIES - 1):]
        convo.state["rest_replies"] = remembered + [[self.message_id, [to_json(r, "") for r in replies]]]


def clean_metadata(metadata: dict | None) -> dict:
    """What a REST client may tell the engine besides its text (strings, capped; a bare /start)."""
    if not isinstance(metadata, dict):
        return {}
    cleaned = {name: value.strip()[:cap] for name, cap in METADATA_FIELDS.items()
               if isinstance(value := metadata.get(name), str) and value.strip()}
    event = metadata.get("event")
    if isinstance(event, dict) and event.get("type") == "start":
        referral = event.get("referral")
        cleaned["event"] = {"type": "start", "referral": referral[:64] if isinstance(referral, str) else None}
    return cleaned


@router.post("/webhooks/rest/webhook")
async def rest_webhook(request: Request):
    settings = request.app.state.settings
    runtime = request.app.state.runtime
    if "json" not in request.headers.get("content-type", "").lower():
        return refusal(415, NEEDS_JSON)
    try:
        body = RestMessage.model_validate(json.loads(await request.body()))
    except (ValueError, ValidationError):
        return refusal(422, BAD_REQUEST)
    trusted = trusted_client(request)
    if trusted is None:
        return refusal(401, "令牌无效。")
    sender = body.sender or ("" if trusted else request.cookies.get(SESSION_COOKIE, ""))
    if not sender:
        return refusal(401, EXPIRED)
    key = conversation_key(runtime.cipher, sender, trusted=trusted)
    if key is None:
        return refusal(403 if ":" in sender else 401, NOT_YOURS if ":" in sender else EXPIRED)
    limits = settings.limits
    address = request.state.client_address
    hook = RestHook(body.message_id)
    metadata = clean_metadata(body.metadata)

    def turn():
        if not trusted:
            verdict = runtime.limiter.hit_all([
                (f"chat:ip:{address}", limits.messages_per_ip_per_minute, 60),
                (f"chat:session:{key}", limits.messages_per_session_per_minute, 60),
                (f"chat:session-day:{key}", limits.messages_per_session_per_day, 86_400)])
            if not verdict.allowed:
                return None, verdict.retry_after
        return runtime.engine.handle(key, body.message, metadata, CHANNEL, hook), 0

    try:
        replies, retry_after = await run_public(request, turn)
    except ForeignConversation:
        return refusal(403, NOT_YOURS)
    if replies is None:
        return refusal(429, SLOW_DOWN, retry_after)
    recipient = body.sender or "web"
    if hook.replayed is not None:
        return [{**reply, "recipient_id": recipient} for reply in hook.replayed]
    return [to_json(reply, recipient) for reply in replies]


def to_json(reply: Reply, recipient_id: str) -> dict:
    """A reply in Rasa's REST shape: text, buttons (title and payload), and in "custom" what else the
    turn tells a client program (the reply's facts, then the sources it cites)."""
    out: dict = {"recipient_id": recipient_id, "text": reply.text}
    if reply.buttons:
        out["buttons"] = [{"title": b.title, "payload": b.payload} for b in reply.buttons]
    custom = {**reply.facts, "sources": reply.sources} if reply.sources else reply.facts
    if custom:
        out["custom"] = custom
    return out


@router.get("/chat", response_class=HTMLResponse)
async def chat() -> str:
    """The web chat: a page that talks to this channel."""
    return (resources.files("bot") / "web" / "chat.html").read_text(encoding="utf-8")


class Rest:
    """The REST channel and its web chat, as the composition root installs it."""

    name = CHANNEL
    title = "网页对话"
    can = Capabilities(push=False, buttons=True, location=False)  # a client only hears back when it asks

    def install(self, app) -> None:
        app.include_router(router)

    async def start(self, app, runtime) -> None:
        """Nothing runs beside the routes."""

    async def stop(self, app) -> None:
        """Nothing to stop."""
