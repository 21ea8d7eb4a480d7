"""``POST /telegram/webhook``: Telegram's webhook, checked against the secret token.

Telegram sends ``X-Telegram-Bot-Api-Secret-Token`` with every update (the ``secret_token``
given to ``setWebhook``); anything else is refused with 403. The answer comes after the turn
has committed: 200 when processed (or already processed), 500 so Telegram retries otherwise.

Every update of every parent comes through here, so it is a plain ASGI middleware in front of
the app rather than a FastAPI route: it skips the router (dozens of staff pages), dependency
resolution and the page middlewares, which together cost about a tenth of the bot's CPU per
update (bench/results/telegram_throughput.md). Other requests pass through untouched.
"""

from __future__ import annotations

import hmac
import json
import logging

from telegram import Update

from bot.http import read_capped
from bot.telegram.channel import secret_token

log = logging.getLogger(__name__)
PATH = "/telegram/webhook"
MAX_BODY = 1_000_000
SECRET_HEADER = b"x-telegram-bot-api-secret-token"


class TelegramWebhook:
    """ASGI middleware: serves ``POST /telegram/webhook`` itself, passes everything else on."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        status, body = await self._handle(scope, receive)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _handle(self, scope, receive) -> tuple[int, bytes]:
        channel = getattr(scope["app"].state, "telegram", None)  # Starlette puts the app in the scope
        if channel is None:
            return 404, _detail("Telegram channel is not enabled")
        given = dict(scope["headers"]).get(SECRET_HEADER, b"")
        if not hmac.compare_digest(given, secret_token(channel.settings).encode()):
            client = scope.get("client")
            log.warning("webhook update refused: wrong secret token from %s", client[0] if client else "?")
            return 403, _detail("forbidden")
        body = await read_capped(receive, MAX_BODY)
        if body is None:
            return 413, _detail("too large")
        try:
            update = Update.de_json(json.loads(body), channel.application.bot)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("webhook: malformed update (%s)", exc)
            return 400, _detail("malformed update")
        if update is None:
            return 400, _detail("malformed update")
        ok = await channel.process(update)
        return (200, b"{}") if ok else (500, b"{}")


def _detail(text: str) -> bytes:
    return json.dumps({"detail": text}).encode()
