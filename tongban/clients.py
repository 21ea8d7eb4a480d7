"""Who is asking, and how much they may send: the client address behind trusted proxies, worked
out once per request for every route (``ClientAddress``), and the body caps (``BodyLimit``)."""

from __future__ import annotations

import ipaddress
from typing import Callable

from fastapi import Request

from bot.http import read_capped, refusal

TOO_LARGE = "这条消息太长了，请分几次发送，每次不超过几千字。"


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


class ClientAddress:
    """ASGI middleware: the client's address (``client_address``) in ``request.state.client_address``
    for the routes below it, so the chat channels and the staff pages only read it."""

    def __init__(self, app, security):
        self.app = app
        self.security = security  # the settings' security group, read per request

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            address = client_address(Request(scope), self.security.trusted_proxies)
            scope.setdefault("state", {})["client_address"] = address
        await self.app(scope, receive, send)


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
