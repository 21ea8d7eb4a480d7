"""The stored notice behind a checklist version, as a page a parent's link can open.

A checklist ingested from a published notice keeps the notice's cleaned text
(``ChecklistHeader.source_text``). ``GET /knowledge/checklists/{id}/source?version=N`` shows it,
one section per outline clause with an anchor (``三、（八）`` → ``#c3-8``), the linked clause
highlighted. An answer links to that page only when the clause it cites is there, word for word
(:func:`clause_link`): a link never leads to a page that does not hold the cited text.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from knowledge.ingest import PREAMBLE_REF, outline_blocks
from knowledge.schema import Checklist, ChecklistHeader, ChecklistItem

_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_PART = re.compile(r"^([一二三四五六七八九十]+)、")
_CLAUSE = re.compile(r"[(（]([一二三四五六七八九十]+)[)）]$")
_SPACE = re.compile(r"\s+")
_ROW = re.compile(r"^第(\d+)项$")
_END = "。；;.，,"


def _number(numeral: str) -> int:
    """一 → 1, 十 → 10, 十三 → 13, 二十 → 20, 二十三 → 23 (the outline's numbers)."""
    tens, _, units = numeral.partition("十")
    if "十" not in numeral:
        return _DIGITS.get(numeral, 0)
    return (_DIGITS.get(tens, 0) if tens else 1) * 10 + _DIGITS.get(units, 0)


def clause_anchor(ref: str) -> str:
    """The page anchor of an outline reference: 三、（八） → c3-8, （七） → c-7, 二、 → c2, 前言 → preamble,
    a table's row 第3项 → r3."""
    if ref == PREAMBLE_REF:
        return "preamble"
    row = _ROW.match(ref)
    if row:
        return f"r{row.group(1)}"
    part, clause = _PART.match(ref), _CLAUSE.search(ref)
    head = f"c{_number(part.group(1))}" if part else "c"
    return f"{head}-{_number(clause.group(1))}" if clause else head


def source_path(header: ChecklistHeader) -> str:
    return f"/knowledge/checklists/{header.id}/source?version={header.version}"


def _flat(text: str) -> str:
    return _SPACE.sub("", text)


def _anchored(blocks) -> list[tuple[str, tuple]]:
    """Each outline block with its page anchor; a reference seen again (an attachment that numbers
    from 一、 anew) gets the next free one: c1-1, c1-1~2, c1-1~3."""
    seen: dict[str, int] = {}
    out = []
    for block in blocks:
        anchor = clause_anchor(block[0])
        seen[anchor] = seen.get(anchor, 0) + 1
        out.append((anchor if seen[anchor] == 1 else f"{anchor}~{seen[anchor]}", block))
    return out


@lru_cache(maxsize=64)
def _sections(source_text: str) -> dict[str, list[tuple[str, str]]]:
    """clause anchor → [(page anchor, the block's text without white space)], in document order."""
    preamble, blocks = outline_blocks(source_text)
    out: dict[str, list[tuple[str, str]]] = {}
    if preamble:
        out["preamble"] = [("preamble", _flat("".join(preamble)))]
    for anchor, (ref, lines, _) in _anchored(blocks):
        out.setdefault(clause_anchor(ref), []).append((anchor, _flat("".join(lines))))
    return out


def clause_link(header: ChecklistHeader, item: ChecklistItem, public_url: str) -> str:
    """The address of the stored notice at ``item``'s clause, or "" when there is no stored notice,
    no public address, or no clause of that number there holds the item's text."""
    if not header.source_text or not public_url:
        return ""
    cited = _flat(item.content).rstrip(_END)
    found = next((anchor for anchor, text in _sections(header.source_text).get(clause_anchor(item.clause), ())
                  if cited and cited in text), None)
    if found is None:
        return ""
    return f"{public_url.rstrip('/')}{source_path(header)}#{found}"


_STYLE = """
body{font-family:system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC",sans-serif;margin:0 auto;
max-width:46rem;padding:1rem;line-height:1.7;color:#1b1b1b}
h1{font-size:1.3rem;line-height:1.4}h2{font-size:1.1rem;margin:1.4rem 0 .4rem}
.meta{color:#555;font-size:.9rem}.note{background:#f3f4f6;padding:.6rem .8rem;border-radius:.4rem;font-size:.9rem}
section{padding:.2rem .5rem;border-radius:.4rem;scroll-margin-top:1rem}
section:target{background:#fff4c2;outline:2px solid #e0b000}
.ref{font-weight:600}
"""


def render(checklist: Checklist) -> str:
    """The stored notice of ``checklist`` as a self-contained HTML page (all text escaped)."""
    return _render(checklist.header)


@lru_cache(maxsize=16)  # the last pages asked for: a version's header and notice never change
def _render(header: ChecklistHeader) -> str:
    esc = html.escape
    meta = [header.issuer]
    if header.doc_number:
        meta.append(header.doc_number)
    meta.append(f"{header.published.isoformat()} 发布")
    meta.append(f"第 {header.version} 版" + ("（已被新版本取代）" if header.status.value == "superseded" else ""))
    out = ["<!doctype html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{esc(header.title)} · 原文</title><style>{_STYLE}</style></head><body>",
           f"<h1>{esc(header.title)}</h1>", f'<p class="meta">{esc(" · ".join(meta))}</p>',
           '<p class="note">这是童伴收录时保存的原文文本（已转为简体，去掉了网页的导航等内容），'
           "标黄的是回答引用的条款。以发布机关公布的正式文本为准。"]
    if header.source_url:
        out.append(f'发布机关网页：<a href="{esc(header.source_url)}" rel="noopener noreferrer">'
                   f"{esc(header.source_url)}</a>")
    out.append("</p>")
    preamble, blocks = outline_blocks(header.source_text)
    if preamble:
        out.append('<section id="preamble">' + "".join(f"<p>{esc(line)}</p>" for line in preamble) + "</section>")
    for anchor, (ref, lines, part_heading) in _anchored(blocks):
        label = ref if part_heading else ref[ref.find("（"):] if "（" in ref else ref
        if part_heading:
            out.append(f'<section id="{anchor}"><h2>{esc(label)}{esc("".join(lines[:1]))}</h2>'
                       + "".join(f"<p>{esc(line)}</p>" for line in lines[1:]) + "</section>")
            continue
        first, rest = (lines[0] if lines else ""), lines[1:]
        out.append(f'<section id="{anchor}"><p><span class="ref">{esc(label)}</span>{esc(first)}</p>'
                   + "".join(f"<p>{esc(line)}</p>" for line in rest) + "</section>")
    out.append("</body></html>")
    return "\n".join(out)
