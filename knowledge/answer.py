"""Turning search results into what a parent reads: the item, how to apply, its source."""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.categories import SERVICE_CATEGORIES, label
from knowledge.index import IndexedItem
from knowledge.retrieval import SearchResult
from knowledge.schema import Authority

GUIDANCE_NOTE = "各地要求不同，请以当地最新通知为准。"
EXAMPLE_NOTE = "【示例】以下为演示用的示例数据，不代表当地实际政策。"
HUMAN_BUTTON = {"title": "找工作人员", "payload": "/human_handoff"}

# The categories offered as buttons when a question is not understood.
MENU_CATEGORIES = ("compulsory_education", "preschool", "medical_insurance", "immunization",
                   "temporary_assistance", "disability", "housing", "mental_health")


@dataclass
class Answer:
    """A reply: text, optional buttons, and the sources it cites."""

    text: str
    buttons: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    confident: bool = True


def source_record(entry: IndexedItem) -> dict:
    header, item = entry.checklist, entry.item
    return {
        "checklist_id": header.id,
        "version": header.version,
        "item_id": item.id,
        "category": item.category,
        "title": item.title,
        "locality": header.locality.code,
        "authority": header.authority.value,
        "published": header.published.isoformat(),
        "clause": item.clause,
        "url": item.source_url or header.source_url,
    }


def citation(entry: IndexedItem) -> str:
    header, item = entry.checklist, entry.item
    number = f"（{header.doc_number}）" if header.doc_number else ""
    clause = f"，{item.clause}" if item.clause and item.clause != "—" else ""
    when = "整理" if header.authority is Authority.GUIDANCE else "发布"
    text = (f"来源：《{header.title}》{number}，{header.issuer}{clause}，"
            f"{header.published.isoformat()} {when}")
    url = item.source_url or header.source_url
    return f"{text}\n链接：{url}" if url else text


def render_item(entry: IndexedItem) -> str:
    item, authority = entry.item, entry.checklist.authority
    lines = []
    if authority is Authority.EXAMPLE:
        lines.append(EXAMPLE_NOTE)
    lines.append(item.title if item.title.startswith("【") else f"【{item.title}】")
    lines.append(f"适用对象：{item.service_object}")
    lines.append(item.content)
    if item.how_to_apply:
        lines.append(f"怎么办：{item.how_to_apply}")
    if item.materials:
        lines.append("常见材料：" + "、".join(item.materials))
    if item.departments:
        lines.append("负责部门：" + "、".join(item.departments))
    if authority is Authority.GUIDANCE:
        lines.append(GUIDANCE_NOTE)
    lines.append(citation(entry))
    return "\n".join(lines)


def compose(result: SearchResult, *, min_confidence: float, locality_name: str | None = None) -> Answer:
    """The cited answer, or — below the confidence threshold — an honest 'not sure'."""
    if not result.hits or result.confidence < min_confidence:
        return not_understood(result)
    top = result.hits[0]
    parts = []
    if locality_name and not result.has_local_checklist:
        parts.append(f"{locality_name}暂未收录本地服务清单，以下是全国通用的规定：")
    parts.append(render_item(top.entry))
    related = [h for h in result.hits[1:3] if h.entry.item.category != top.entry.item.category]
    buttons = [{"title": h.entry.item.title[:30], "payload": f"/ask_service{{\"item\":\"{h.entry.key}\"}}"}
               for h in related]
    if buttons:
        parts.append("您可能还想了解：")
    return Answer(text="\n\n".join(parts), buttons=buttons, sources=[source_record(top.entry)])


def not_understood(result: SearchResult | None = None) -> Answer:
    """Below confidence: say so, offer the service categories and a person."""
    guesses = list(dict.fromkeys(result.categories[:3])) if result else []
    codes = [c for c in guesses if c in SERVICE_CATEGORIES] or list(MENU_CATEGORIES)
    codes += [c for c in MENU_CATEGORIES if c not in codes]
    buttons = [{"title": label(c), "payload": f"/ask_service{{\"category\":\"{c}\"}}"} for c in codes[:8]]
    buttons.append(HUMAN_BUTTON)
    text = ("抱歉，我没能确定您问的是哪项服务。可以换个说法再问一次，"
            "比如“孩子在这边上小学要带什么材料”，也可以点下面的类别，或者找工作人员帮忙。")
    return Answer(text=text, buttons=buttons, confident=False)
