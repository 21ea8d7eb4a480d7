"""``GET /conversations/{sender}/tracker`` in Rasa's shape, for operators and tests.

The sender is a trusted integration's (see ``bot/rest.py``). It returns personal data, so it needs ``Authorization: Bearer <TONGBAN_SECURITY__API_TOKEN>``;
without a configured token the endpoint is off (404).
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from actions.slots import FORM_NAME, REQUIRED_SLOTS
from bot.rest import conversation_key

router = APIRouter()


def tracker_view(sender: str, state: dict) -> dict:
    slots = {name: state.get("slots", {}).get(name) for name in REQUIRED_SLOTS}
    active = state.get("active_loop") == FORM_NAME
    slots["requested_slot"] = state.get("requested_slot") if active else None
    slots["locality"] = state.get("locality")
    return {
        "sender_id": sender,
        "slots": slots,
        "latest_message": state.get("latest_message") or {},
        "active_loop": {"name": FORM_NAME} if active else {},
    }


@router.get("/conversations/{sender}/tracker")
async def get_tracker(sender: str, request: Request, authorization: str | None = Header(default=None)) -> dict:
    token = request.app.state.settings.security.api_token.get_secret_value()
    if not token:
        raise HTTPException(status_code=404, detail="未启用")
    supplied = (authorization or "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(supplied.encode(), token.encode()):
        raise HTTPException(status_code=401, detail="需要有效的令牌")
    store = request.app.state.runtime.engine.store
    state = await run_in_threadpool(store.peek, conversation_key(store.cipher, sender, trusted=True))
    if state is None:
        raise HTTPException(status_code=404, detail="没有这个对话")
    return tracker_view(sender, state)
