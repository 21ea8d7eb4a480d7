"""``POST /model/parse`` in Rasa's shape."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

router = APIRouter()


class ParseRequest(BaseModel):
    text: str = Field(default="", max_length=100_000)
    message_id: str | None = None


@router.post("/model/parse")
async def model_parse(body: ParseRequest, request: Request) -> dict:
    interpreter = request.app.state.runtime.interpreter
    result = await run_in_threadpool(interpreter.parse, body.text)
    return result.to_rasa()
