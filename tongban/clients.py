"""Who is asking: the client address behind trusted proxies, and the polite refusals of the
public routes (rate limits, body caps, busy), shared by the chat channels and the APIs."""

from __future__ import annotations

import ipaddress
from typing import Any, Callable

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse

SLOW_DOWN = "您发送得太快了，请稍等一会儿再发。如果孩子现在有危险，请立即拨打 110；有人受伤请拨打 120。"
TOO_LARGE = "这条消息太长了，请分几次发送，每次不超过几千字。"
BUSY = "现在使用的人很多，请稍等片刻再发送。如果孩子现在有危险，请立即拨打 110；有人受伤请拨打 120。"


def client_address(request: Request, trusted_proxies: list[str]) -> str:
    """The connecting address; behind a configured proxy, the last address in X-Forwarded-For
    that is not itself a trusted proxy (a client can prepend anything it likes to the header,
    but not what our own proxies append)."""
    peer = request.client.host if request.client else "unknown"
    if not trusted_proxies or not _in(peer, trusted_proxies):
        return peer
    forwarded = [part.strip() for part in request.headers.get("x-forwarded-for", "").split(",") if part.strip()]
    for address in reversed(forwarded):
        if not _valid(address):
            return peer
        if not _in(address, trusted_proxies):
            return address
    return peer


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
        return True
    except ValueError:
        return False


def _in(address: str, networks: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for network in networks:
        try:
            if ip in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


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
    """``function()`` on the app's public pool (see :class:`PublicPool`)."""
    state = request.app.state
    pool = getattr(state, "public_pool", None)
    if pool is None:
        limits = state.settings.limits
        pool = state.public_pool = PublicPool(limits.public_threads, limits.public_queue)
    return await pool.run(function)


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


class BodyLimit:
    """ASGI middleware: a request body larger than its route's cap is refused with 413 — by its
    Content-Length before anything is read, else while it streams in — and never reaches the app."""

    def __init__(self, app, caps: Callable[[str], int]):
        self.app = app
        self.caps = caps

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        cap = self.caps(scope["path"])
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > cap):
            await refusal(413, TOO_LARGE)(scope, receive, send)
            return
        body = await read_capped(receive, cap)
        if body is None:
            await refusal(413, TOO_LARGE)(scope, receive, send)
            return
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()  # the app waits for a disconnect: pass it on
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
