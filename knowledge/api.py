"""HTTP routes of the knowledge base: search and checklist versions."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from knowledge import source_page
from knowledge.errors import ChecklistNotFound
from nlu.geo import NATIONAL

router = APIRouter(prefix="/knowledge")


def _kb(request: Request):
    return request.app.state.knowledge


@router.get("/search")
async def search(request: Request, q: str = Query("", max_length=10_000),
                 locality: str | None = Query(None, max_length=64),
                 k: int = Query(5, ge=1, le=50)) -> dict:
    kb = _kb(request)
    code = kb.geo.resolve_code(locality) if locality else None
    if locality and code is None:
        raise HTTPException(status_code=422, detail=f"无法识别的地区：{locality}")
    result = await run_in_threadpool(kb.search, q, code, k)
    return {
        "query": result.query,
        "locality": code or NATIONAL,
        "confidence": round(result.confidence, 4),
        "has_local_checklist": result.has_local_checklist,
        "results": [
            {
                "item_id": hit.entry.item.id,
                "category": hit.entry.item.category,
                "title": hit.entry.item.title,
                "content": hit.entry.item.content,
                "score": round(hit.score, 4),
                "checklist": {
                    "id": hit.entry.checklist.id,
                    "title": hit.entry.checklist.title,
                    "locality": hit.entry.checklist.locality.code,
                    "authority": hit.entry.checklist.authority.value,
                    "published": hit.entry.checklist.published.isoformat(),
                    "version": hit.entry.checklist.version,
                },
            }
            for hit in result.hits
        ],
    }


@router.get("/checklists")
async def list_checklists(request: Request) -> dict:
    catalog = _kb(request).snapshot.catalog
    return {
        "checklists": [
            {
                "id": cid,
                "versions": [
                    {"version": v, "status": c.header.status.value, "title": c.header.title,
                     "published": c.header.published.isoformat(), "items": len(c.items),
                     "authority": c.header.authority.value, "locality": c.header.locality.code}
                    for v, c in sorted(by_version.items())
                ],
            }
            for cid, by_version in sorted(catalog.versions.items())
        ],
        "errors": [str(e) for e in catalog.errors],
    }


def _checklist(request: Request, checklist_id: str, version: int | None):
    try:
        return _kb(request).snapshot.catalog.get(checklist_id, version)
    except ChecklistNotFound:
        raise HTTPException(status_code=404, detail="没有这个清单或版本") from None


@router.get("/checklists/{checklist_id}")
async def get_checklist(request: Request, checklist_id: str = Path(max_length=80),
                        version: int | None = Query(None, ge=1, le=1_000_000)) -> dict:
    return _checklist(request, checklist_id, version).to_yaml_dict()


@router.get("/checklists/{checklist_id}/source", response_class=HTMLResponse)
async def checklist_source(request: Request, checklist_id: str = Path(max_length=80),
                           version: int | None = Query(None, ge=1, le=1_000_000)) -> HTMLResponse:
    """The notice a checklist version was ingested from, its clauses anchored (``#c3-8``), the
    linked one highlighted: where an answer's 原文 link leads."""
    checklist = _checklist(request, checklist_id, version)
    if not checklist.header.source_text:
        raise HTTPException(status_code=404, detail="这份清单没有保存原文")
    page = await run_in_threadpool(source_page.render, checklist)
    return HTMLResponse(page, headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff",
                                       "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})
