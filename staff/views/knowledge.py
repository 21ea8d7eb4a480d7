"""Checklists: upload a new version (YAML, or a published notice through the ingester), preview the
parsed items, publish. Publishing swaps the running index: the bot answers from it at once."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile

from ledger.areas import NATIONAL
from ledger.audit import audit
from ledger.drafts import stage_checklist, staged_checklist
from staff.auth import need
from staff.common import PREFIX, FormErrors, Staff, date_field, render, runtime, text_field
from staff.views.casework import form_data

router = APIRouter()

MAX_UPLOAD = 2 * 1024 * 1024


def _desk(request: Request):
    """The knowledge base's desk (knowledge/desk.py), handed in by the composition root."""
    return runtime(request).checklists


def _checklists(request: Request) -> list[dict]:
    catalog = _desk(request).catalog
    out = []
    for checklist in sorted(catalog.current, key=lambda c: (c.header.locality.code, c.id)):
        h = checklist.header
        out.append({"id": h.id, "title": h.title, "locality": h.locality.name, "code": h.locality.code,
                    "version": h.version, "versions": len(catalog.versions.get(h.id, {})), "published": h.published,
                    "authority": h.authority.value, "items": len(checklist.items), "issuer": h.issuer})
    return out


def _page(request: Request, *, errors=None, values=None, problems=None, status_code: int = 200):
    return render(request, "knowledge.html", {
        "checklists": _checklists(request), "catalog_errors": _desk(request).errors,
        "errors": errors or {}, "values": values or {}, "problems": problems or [],
    }, status_code=status_code)


@router.get("/knowledge", name="staff_knowledge")
def knowledge_page(request: Request, staff: Staff = Depends(need("knowledge"))):
    return _page(request)


def _from_notice(desk, data: bytes, filename: str, form, errors: FormErrors):
    """The notice's checklist, its problems (a list), or None when the form itself has errors."""
    locality_text = text_field(form, "locality", errors, label="适用地区", required=True, max_length=60)
    title = text_field(form, "title", errors, label="清单标题", required=True, max_length=200)
    published = date_field(form, "published", errors, label="发布日期", required=True)
    url = text_field(form, "url", errors, label="原文链接", max_length=500)
    issuer = text_field(form, "issuer", errors, label="发布机关", max_length=200)
    doc_number = text_field(form, "doc_number", errors, label="文号", max_length=100)
    checklist_id = text_field(form, "checklist_id", errors, label="清单编号", max_length=80)
    code = desk.locality(locality_text)
    if locality_text and code is None:
        errors.add("locality", "无法识别这个地区，请填写地区代码（如 440306）或完整名称（如 深圳市宝安区），全国性文件填 national。")
    if errors:
        return None
    return desk.from_notice(data, filename, locality=code, title=title, published=published, url=url,
                            issuer=issuer, doc_number=doc_number, checklist_id=checklist_id)


def _national_admin(staff: Staff) -> bool:
    return staff.role == "admin" and staff.area == NATIONAL


def _id_area(checklist_id: str) -> str | None:
    """The area code an id starts with ("440306-summer-care" → "440306"), else None."""
    head = checklist_id.split("-", 1)[0]
    return head if head.isdigit() and len(head) in (6, 9, 12) else None


def ownership_problems(staff: Staff, checklist, catalog) -> list[str]:
    """Why ``staff`` may not publish ``checklist`` (empty: they may).

    National admins may publish anything. Everyone else publishes only for their own area: the
    checklist's place must be inside it; a new checklist's id must start with a code inside it
    (e.g. ``440306-…``); an existing id may get a new version only when its current version is
    for a place inside the area. National checklists and guidance (全国通用指引) are for national
    admins only, so a district can never replace what the whole country is answered from.
    """
    if _national_admin(staff):
        return []
    header = checklist.header
    if header.locality.code == NATIONAL or not staff.sees(header.locality.code):
        return [f"这份清单适用于“{header.locality.name}”，不在您的管辖范围内，不能发布。"]
    if header.authority.value == "guidance":
        return ["全国通用的办事指引（authority: guidance）只能由全国系统管理员发布。"]
    existing = catalog.versions.get(checklist.id, {})
    if existing:
        current = existing[max(existing)].header
        if (current.locality.code == NATIONAL or not staff.sees(current.locality.code)
                or current.authority.value == "guidance"):
            return [f"清单编号“{checklist.id}”已被《{current.title}》（{current.locality.name}）使用，"
                    f"这份清单不在您的管辖范围内，不能替换。发布本地区的新清单请换一个编号，"
                    f"以您的地区代码开头，例如 {staff.area}-{checklist.id}。"]
        return []
    code = _id_area(checklist.id)
    if code is None or not staff.sees(code):
        return [f"新清单的编号须以您管辖范围内的地区代码开头，例如 {staff.area}-{checklist.id}"
                f"（现在是“{checklist.id}”）。"]
    return []


def _read_upload(desk, staff: Staff, kind: str, data: bytes, filename: str, form, errors: FormErrors):
    """(the checklist, the YAML to stage until it is published), the problems with the file (a list),
    or None when the form itself has errors."""
    source = filename or "上传的文件"
    checklist = desk.from_yaml(data, source) if kind == "yaml" else _from_notice(desk, data, filename, form, errors)
    if checklist is None or isinstance(checklist, list):
        return checklist
    problems = ownership_problems(staff, checklist, desk.catalog)
    if problems:
        return problems
    text = desk.staged_text(checklist, source)  # exactly what publishing will store, loaded again
    return text if isinstance(text, list) else (checklist, text)


@router.post("/knowledge/upload")
def upload(request: Request, staff: Staff = Depends(need("knowledge")), form=Depends(form_data)):
    errors = FormErrors()
    kind = form.get("kind")
    values = {k: v for k, v in form.items() if isinstance(v, str) and k not in ("csrf_token", "_page")}
    upload_file = form.get("file")
    if kind not in ("yaml", "notice"):
        errors.add("kind", "请选择文件类型。")
    if not isinstance(upload_file, UploadFile) or not upload_file.filename:
        errors.add("file", "请选择要上传的文件。")
        data = b""
    else:
        data = upload_file.file.read(MAX_UPLOAD + 1)
        if not data:
            errors.add("file", "上传的文件是空的。")
        elif len(data) > MAX_UPLOAD:
            errors.add("file", "文件太大了（最大 2 MB）。")
    filename = (upload_file.filename or "") if isinstance(upload_file, UploadFile) else ""
    desk = _desk(request)
    result = None if errors else _read_upload(desk, staff, kind, data, filename, form, errors)
    if errors or not isinstance(result, tuple):
        return _page(request, errors=errors, values=values, problems=result or [], status_code=400)
    checklist, yaml_text = result
    with runtime(request).db.session() as session:
        token = stage_checklist(session=session, user_id=staff.id, source_name=filename, yaml_text=yaml_text)
    existing = desk.catalog.versions.get(checklist.id, {})
    current = existing.get(max(existing)) if existing else None
    return render(request, "knowledge_preview.html", {
        "checklist": checklist, "token": token, "next_version": max(existing, default=0) + 1,
        "current": current, "filename": filename,
        "moves": current is not None and current.header.locality.code != checklist.header.locality.code,
    })


@router.post("/knowledge/publish")
def publish(request: Request, staff: Staff = Depends(need("knowledge")), form=Depends(form_data)):
    token = form.get("token") if isinstance(form.get("token"), str) else ""
    rt, desk = runtime(request), _desk(request)
    with rt.db.session() as session:
        staged = staged_checklist(session=session, token=token, user_id=staff.id)
        if staged is None:
            return _page(request, problems=["预览已过期或不存在，请重新上传文件。"], status_code=400)
        yaml_text, source = staged.yaml_text, staged.source_name
    checklist = desk.load(yaml_text, source or "上传的文件")
    # the catalog may have moved on since the preview
    problems = checklist if isinstance(checklist, list) else ownership_problems(staff, checklist, desk.catalog)
    stored = problems or desk.publish(checklist)
    if isinstance(stored, list):
        return _page(request, problems=stored, status_code=400)
    with rt.db.session() as session:
        staged = staged_checklist(session=session, token=token, user_id=staff.id)
        if staged is not None:
            session.delete(staged)
        audit(session, actor=staff.username, action="knowledge.publish",
              target=f"checklist:{stored.id}"[:80],
              detail=f"version={stored.header.version} items={len(stored.items)} source={source}"[:500])
    return RedirectResponse(f"{PREFIX}/knowledge?done=published", status_code=303)
