"""Checklists: upload a new version (YAML, or a published list in any format the desk reads: a web
page, Word .docx, Excel .xlsx, PDF, text), preview the parsed items — how the file was read, each
item's category as a choice staff may correct, what changes against the current version — and
publish. Publishing swaps the running index: the bot answers from it at once."""

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
from staff.views.knowledge_preview import (KIND_LABELS, MAX_CATEGORY_FIELDS, Source, by_runs, carried_categories,
                                           header_labels, percent, preview_rows)

router = APIRouter()

MAX_YAML = 2 * 1024 * 1024


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
        "yaml_limit": _megabytes(_upload_limit(request, "yaml")),
        "document_limit": _megabytes(_upload_limit(request, "notice")),
    }, status_code=status_code)


@router.get("/knowledge", name="staff_knowledge")
def knowledge_page(request: Request, staff: Staff = Depends(need("knowledge"))):
    return _page(request)


def _from_notice(desk, data: bytes, filename: str, form, errors: FormErrors):
    """The notice's checklist, its problems (a list), or None when the form itself has errors."""
    locality_text = text_field(form, "locality", errors, label="适用地区", required=True, max_length=60)
    title = text_field(form, "title", errors, label="清单标题", max_length=200)  # empty: the document's own
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


def _upload_limit(request: Request, kind: str) -> int:
    """The largest file of ``kind``: a document as large as the upload route takes (the settings'
    ``limits.staff_upload_bytes``, 10 MB by default), a YAML checklist 2 MB."""
    documents = runtime(request).settings.limits.staff_upload_bytes
    return min(MAX_YAML, documents) if kind == "yaml" else documents


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def _read_upload(desk, staff: Staff, kind: str, data: bytes, filename: str, form, errors: FormErrors):
    """(the checklist, how the file was read: a ``Source``), the problems with the file or with who
    may publish it (a list), or None when the form itself has errors."""
    source_name = filename or "上传的文件"
    if kind == "yaml":
        read = desk.from_yaml(data, source_name)
        source = Source(kind="yaml")
    else:
        read = _from_notice(desk, data, filename, form, errors)
        if read is None or isinstance(read, list):
            return read
        source = Source(kind=read.kind, confidence=dict(read.confidence), headers=tuple(read.headers),
                        notes=tuple(read.notes))
        read = read.checklist
    if read is None or isinstance(read, list):
        return read
    problems = ownership_problems(staff, read, desk.catalog)
    if problems:
        return problems
    return read, source


def _preview(desk, checklist, source: Source):
    """The checklist to stage (categories carried over from the current version where the classifier
    read them differently), what it changes (None: a new checklist), and the preview's rows."""
    picks = {item.id: item.category for item in checklist.items}
    existing = desk.catalog.versions.get(checklist.id, {})
    changes = desk.changes(checklist) if existing else None
    carried = carried_categories(changes) if changes is not None and source.confidence is not None else {}
    if carried:
        kept = desk.with_categories(checklist, carried)
        if isinstance(kept, list):
            carried = {}
        else:
            checklist, changes = kept, desk.changes(kept)
    return checklist, changes, preview_rows(checklist, source, picks, carried)


@router.post("/knowledge/upload")
def upload(request: Request, staff: Staff = Depends(need("knowledge")), form=Depends(form_data)):
    errors = FormErrors()
    kind = form.get("kind")
    values = {k: v for k, v in form.items() if isinstance(v, str) and k not in ("csrf_token", "_page")}
    upload_file = form.get("file")
    if kind not in ("yaml", "notice"):
        errors.add("kind", "请选择文件类型。")
    limit = _upload_limit(request, kind if isinstance(kind, str) else "")
    if not isinstance(upload_file, UploadFile) or not upload_file.filename:
        errors.add("file", "请选择要上传的文件。")
        data = b""
    else:
        data = upload_file.file.read(limit + 1)
        if not data:
            errors.add("file", "上传的文件是空的。")
        elif len(data) > limit:
            errors.add("file", f"文件太大了：{'YAML 清单' if kind == 'yaml' else '清单文件'}最大 {_megabytes(limit)}。"
                               "请删去与清单无关的内容（如图片、附件），或另存为 PDF 后重新上传。")
    filename = (upload_file.filename or "") if isinstance(upload_file, UploadFile) else ""
    desk = _desk(request)
    result = None if errors else _read_upload(desk, staff, kind, data, filename, form, errors)
    if errors or not isinstance(result, tuple):
        return _page(request, errors=errors, values=values, problems=result or [], status_code=400)
    checklist, source = result
    checklist, changes, rows = _preview(desk, checklist, source)
    yaml_text = desk.staged_text(checklist, filename or "上传的文件")  # exactly what publishing will store
    if isinstance(yaml_text, list):
        return _page(request, errors=errors, values=values, problems=yaml_text, status_code=400)
    with runtime(request).db.session() as session:
        token = stage_checklist(session=session, user_id=staff.id, source_name=filename, yaml_text=yaml_text)
    existing = desk.catalog.versions.get(checklist.id, {})
    current = existing.get(max(existing)) if existing else None
    return render(request, "knowledge_preview.html", {
        "checklist": checklist, "token": token, "next_version": max(existing, default=0) + 1,
        "current": current, "filename": filename,
        "moves": current is not None and current.header.locality.code != checklist.header.locality.code,
        "kind_label": KIND_LABELS.get(source.kind, source.kind), "headers": header_labels(source),
        "notes": source.notes, "rows": rows, "to_check": sum(row.check for row in rows),
        "carried": sum(row.carried for row in rows), "changes": changes,
        "categories": desk.categories, "percent": percent, "by_runs": by_runs, "max_choices": MAX_CATEGORY_FIELDS,
    })


def _chosen_categories(form, checklist, categories: dict[str, str]) -> dict[str, str] | list[str]:
    """The categories staff changed on the publish form (item id → code), or the problems. Only the
    staged checklist's items are looked at (at most MAX_CATEGORY_FIELDS); other fields are ignored."""
    chosen, unknown = {}, []
    for item in checklist.items[:MAX_CATEGORY_FIELDS]:
        value = form.get(f"category_{item.id}")
        if not isinstance(value, str) or not value:
            continue  # no choice sent: the category stays as staged
        if value not in categories:
            unknown.append(item.id)
        elif value != item.category:
            chosen[item.id] = value
    if unknown:
        return [f"有 {len(unknown)} 个条目的类别不在可选范围内（条目 {'、'.join(unknown[:5])}），未做任何更改。"
                "请返回预览页，从列表中选择类别后再发布。"]
    return chosen


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
    chosen = {} if isinstance(checklist, list) else _chosen_categories(form, checklist, desk.categories)
    if isinstance(chosen, list):
        return _page(request, problems=chosen, status_code=400)
    if chosen:
        checklist = desk.with_categories(checklist, chosen)
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
              detail=(f"version={stored.header.version} items={len(stored.items)} "
                      f"categories_changed={len(chosen)} source={source}")[:500])
    return RedirectResponse(f"{PREFIX}/knowledge?done=published", status_code=303)
