"""Plugs the staff review app into the one FastAPI app: ``install(app)``.

Routes live under ``/staff``; CSS under ``/staff/static``. Shared objects (database, cipher,
knowledge base, settings) are taken per request from ``request.app.state.runtime``.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from staff import auth
from staff.common import (CHANNEL_LABELS, DRAFT_COOKIE, HERE, PREFIX, SESSION_COOKIE, LoginRequired, StaffPageError,
                          is_secure, login_url, render)
from staff.views import admin, alerts, casework, committees, dashboard, duty, duty_targets, knowledge, ledger

log = logging.getLogger(__name__)

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


class StaffSecurityHeaders:
    """Headers on every /staff response; no caching of pages (they carry personal data)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        static = path.startswith(PREFIX + "/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in (b"cache-control", b"pragma") or static]
                headers += [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                            (b"referrer-policy", b"same-origin"), (b"content-security-policy", CSP.encode()),
                            (b"cross-origin-opener-policy", b"same-origin")]
                if static:
                    headers.append((b"cache-control", b"public, max-age=3600"))
                else:
                    headers += [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _login_required(request: Request, exc: LoginRequired):
    response = RedirectResponse(login_url(exc.next_path, expired=exc.expired), status_code=303)
    if exc.draft_token:
        auth.set_cookie(request, response, DRAFT_COOKIE, exc.draft_token, max_age=2 * 3600)
    if exc.expired:
        response.delete_cookie(SESSION_COOKIE, path=PREFIX, secure=is_secure(request), httponly=True,
                               samesite="strict")
    return response


async def _page_error(request: Request, exc: StaffPageError):
    return render(request, "error.html", {"title": exc.title, "message": exc.message},
                  status_code=exc.status_code)


MODULES = (auth, casework, alerts, ledger, dashboard, committees, duty, duty_targets, knowledge, admin)


def route_table() -> list[tuple[str, str]]:
    """(method, path) of every staff page and action, e.g. ("POST", "/staff/requests/{reference}/status")."""
    return [(method, PREFIX + route.path) for module in MODULES for route in module.router.routes
            for method in sorted(getattr(route, "methods", ()) or ())]


def build_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX)
    for module in MODULES:
        router.include_router(module.router)

    @router.get("", include_in_schema=False)
    async def _root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=307)

    return router


def install(app: FastAPI, *, channel_titles: dict[str, str] | None = None) -> None:
    """Add the staff pages to ``app`` (once; a second call does nothing). ``channel_titles``: each
    channel's name (stored with its conversations and requests) and how the pages call it."""
    if getattr(app.state, "staff_installed", False):
        return
    CHANNEL_LABELS.update(channel_titles or {})
    app.state.staff_installed = True
    app.add_middleware(StaffSecurityHeaders)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(StaffPageError, _page_error)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=str(HERE / "static")), name="staff-static")
    app.include_router(build_router(), include_in_schema=False)
