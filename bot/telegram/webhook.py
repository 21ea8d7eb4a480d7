"""``POST /telegram/webhook``: Telegram's webhook, checked against the secret token.

Telegram sends ``X-Telegram-Bot-Api-Secret-Token`` with every update (the ``secret_token``
given to ``setWebhook``); anything else is refused with 403. The answer comes after the turn
has committed: 200 when processed (or already processed), 500 so Telegram retries otherwise.
"""

from __future__ import annotations

import hmac
import json
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from telegram import Update

from bot.telegram.channel import secret_token

log = logging.getLogger(__name__)
router = APIRouter()
MAX_BODY = 1_000_000


@router.post("/telegram/webhook", include_in_schema=False)
async def telegram_webhook(request: Request) -> Response:
    channel = getattr(request.app.state, "telegram", None)
    if channel is None:
        return JSONResponse({"detail": "Telegram channel is not enabled"}, status_code=404)
    given = request.headers.get("x-telegram-bot-api-secret-token", "")
    if not hmac.compare_digest(given.encode(), secret_token(channel.settings).encode()):
        log.warning("webhook update refused: wrong secret token from %s", request.client.host if request.client else "?")
        return JSONResponse({"detail": "forbidden"}, status_code=403)
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"detail": "too large"}, status_code=413)
    try:
        update = Update.de_json(json.loads(body), channel.application.bot)
    except (ValueError, TypeError, KeyError) as exc:
        log.warning("webhook: malformed update (%s)", exc)
        return JSONResponse({"detail": "malformed update"}, status_code=400)
    if update is None:
        return JSONResponse({"detail": "malformed update"}, status_code=400)
    ok = await channel.process(update)
    return Response(status_code=200 if ok else 500)
