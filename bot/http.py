"""The HTTP edge of the public chat: polite refusals, request bodies read up to a cap, and the
threads public turns run on. The client's address behind trusted proxies is the server's concern:
the composition root puts it in ``request.state.client_address`` (``tongban/clients.py``)."""

from __future__ import annotations

from typing import Any, Callable

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse

SLOW_DOWN = "您发送得太快了，请稍等一会儿再发。如果孩子现在有危险，请立即拨打 110；有人受伤请拨打 120。"
BUSY = "现在使用的人很多，请稍等片刻再发送。如果孩子现在有危险，请立即拨打 110；有人受伤请拨打 120。"


def refusal(status: int, detail: str, retry_after: int | None = None) -> JSONResponse:
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return JSONResponse(status_code=status, content={"detail": detail}, headers=headers)


class PublicPool:
    """The threads public turns run on (not the shared pool the staff pages use), and a bound on
    how many may wait for one: past it a client is told to try again (503) at once."""

    def __init__(self, threads: int, queue: int):
        self.threads = threads
        self.queue = queue
        self.waiting = 0
        self._limiter: CapacityLimiter | None = None  # made inside the event loop

    async def run(self, function: Callable[[], Any]) -> Any:
        if self.waiting >= self.threads + self.queue:
            raise HTTPException(status_code=503, detail=BUSY, headers={"Retry-After": "5"})
        if self._limiter is None:
            self._limiter = CapacityLimiter(self.threads)
        self.waiting += 1
        try:
            return await anyio.to_thread.run_sync(function, limiter=self._limiter)
        finally:
            self.waiting -= 1


async def run_public(request: Request, function: Callable[[], Any]) -> Any:
    """``function()`` on the app's public pool (``app.state.public_pool``, a :class:`PublicPool`)."""
    return await request.app.state.public_pool.run(function)


async def read_capped(receive, cap: int) -> bytes | None:
    """An ASGI request body read to its end, or None as soon as it passes ``cap`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
