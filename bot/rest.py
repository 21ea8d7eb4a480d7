"""Rasa-compatible REST channel: ``POST /webhooks/rest/webhook``.

Request ``{"sender": str, "message": str, "metadata"?: {...}}``; response: a list of
``{"recipient_id", "text", "buttons"?, "custom"?}`` (Rasa's REST channel shapes).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

router = APIRouter()


class RestMessage(BaseModel):
    sender: str = Field(default="default", max_length=128)
    message: str | None = None
    metadata: dict[str, Any] | None = None


@router.post("/webhooks/rest/webhook")
async def rest_webhook(body: RestMessage, request: Request) -> list[dict]:
    engine = request.app.state.engine
    replies = await run_in_threadpool(engine.handle, body.sender, body.message, body.metadata)
    return [reply.to_rest(body.sender) for reply in replies]
