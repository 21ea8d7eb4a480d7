"""Where an answer comes from: the source line under its first screen (``basis``: the document, its
number, the clause, the date), the full citation in its detail, the record of each cited item in the
reply's ``sources`` and the link to the text it cites."""

from __future__ import annotations

from knowledge.index import IndexedItem
from knowledge.ingest_store import UNKNOWN_ISSUER
from knowledge.schema import Authority
from knowledge.source_page import clause_link
from nlu.geo import NATIONAL


def link(entry: IndexedItem, public_url: str = "") -> str:
    """Where a parent can read the cited text: a page a person checked holds it (``verified_url``),
    else the notice stored with the checklist, at the clause (``knowledge/source_page.py``; needs
    the server's public address), else nothing."""
    return entry.item.verified_url or clause_link(entry.checklist, entry.item, public_url)


def source_record(entry: IndexedItem, public_url: str = "") -> dict:
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
        "url": item.source_url or header.source_url,  # where the facts come from (provenance)
        "link": link(entry, public_url),  # a page that holds the cited text, or empty
    }


def citation(entry: IndexedItem, public_url: str = "") -> str:
    header, item = entry.checklist, entry.item
    number = f"（{header.doc_number}）" if header.doc_number else ""
    clause = f"，{item.clause}" if item.clause and item.clause != "—" else ""
    when = "整理" if header.authority is Authority.GUIDANCE else "发布"
    text = (f"来源：《{header.title}》{number}，{header.issuer}{clause}，"
            f"{header.published.isoformat()} {when}")
    # only a page that holds the cited text (a news summary of a notice does not)
    address = link(entry, public_url)
    return f"{text}\n原文：{address}" if address else text

def basis(entry: IndexedItem) -> str:
    """The source on one line: "依据：《方案》民发〔2024〕35号 三、（八），2024-09-03"."""
    header, item = entry.checklist, entry.item
    if item.basis:  # the item's own source (a guidance item cites laws and notices)
        when = "整理" if header.authority is Authority.GUIDANCE else "发布"
        return f"依据：{item.basis}（{header.published.isoformat()} {when}）"
    number = header.doc_number or ""
    clause = f" {item.clause}" if item.clause and item.clause != "—" else ""
    return f"依据：{issuer_of(header)}《{header.title}》{number}{clause}，{when_of(header)}"


def issuer_of(header) -> str:
    """A local list names who issued it (郑州市民政局《…》); the national documents are known by
    their number, and an issuer nobody recorded is not named."""
    if header.locality.code == NATIONAL or not header.issuer or header.issuer == UNKNOWN_ISSUER:
        return ""
    return header.issuer if header.issuer not in header.title else ""


def when_of(header) -> str:
    """The date of the version cited: 2026-01-15, or — for a later version of a list — 2026年1月更新."""
    if header.version > 1:
        return f"{header.published.year}年{header.published.month}月更新"
    return header.published.isoformat()

def source_line(basis_text: str, notice: str = "") -> str:
    """The source line, with the notice that no local checklist exists at its end."""
    return f"{basis_text}；{notice}" if notice else basis_text
