"""From parsed clauses of a published notice to a checklist version ready to store."""

from __future__ import annotations

import datetime as dt

from knowledge.ingest import ParsedClause
from knowledge.schema import Authority, ChecklistHeader, ChecklistItem, Locality

DEFAULT_SERVICE_OBJECT = "流动儿童及其家庭（具体范围以原文为准）"
UNKNOWN_ISSUER = "发布机关未注明"
PREAMBLE = "前言"  # the notice's opening paragraph: context, not a service


def build_checklist(clauses: list[ParsedClause], *, checklist_id: str, locality: str,
                    locality_name: str, title: str, published: dt.date, url: str = "",
                    issuer: str = "", doc_number: str | None = None, source_text: str = ""
                    ) -> tuple[ChecklistHeader, list[ChecklistItem]]:
    """Header and items (version 1; the store assigns the real version on saving). ``source_text``:
    the cleaned notice the clauses come from (``knowledge.ingest.read_notice``), kept with it."""
    header = ChecklistHeader(
        id=checklist_id,
        locality=Locality(code=locality, name=locality_name),
        title=title,
        issuer=issuer or UNKNOWN_ISSUER,
        doc_number=doc_number,
        published=published,
        version=1,
        authority=Authority.OFFICIAL,
        source_url=url,
        source_text=source_text,
    )
    items = [
        ChecklistItem(
            id=f"C{position:02d}",
            category=clause.category,
            title=(clause.title or clause.content[:30])[:80],
            service_object=DEFAULT_SERVICE_OBJECT,
            content=clause.content,
            departments=list(clause.departments),
            clause=clause.clause,
            source_url=url,
        )
        for position, clause in enumerate(clauses, start=1)
        if clause.content.strip() and clause.clause != PREAMBLE
    ]
    return header, items
