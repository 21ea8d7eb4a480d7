"""From what was read of a published list to a checklist version ready to store.

Two shapes of document: numbered prose (``knowledge.ingest``: 一、/（一） clauses) and tables
(``knowledge.readers``: one row a service). Either way every item gets its service category from
the category prior — the model that reads parents' questions for retrieval (``classify``), with the
probability it gave, which the staff preview shows and staff may overrule before publishing — and a
prose clause that names several services becomes one item per service (:func:`split_services`),
each keeping the clause reference and the department line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from knowledge.ingest import ParsedClause, guess_category
from knowledge.schema import Authority, Checklist, ChecklistHeader, ChecklistItem, Locality

DEFAULT_SERVICE_OBJECT = "流动儿童及其家庭（具体范围以原文为准）"
UNKNOWN_ISSUER = "发布机关未注明"
PREAMBLE = "前言"  # the notice's opening paragraph: context, not a service

# texts → [(category code, probability)], one per text (KnowledgeBase.classify)
Classify = Callable[[list[str]], list[tuple[str, float]]]

# A clause is split only where the classifier is sure of each part's service and each part says
# something of its own: a sentence below SURE joins its neighbour, a part shorter than PART_MIN
# characters is not a service of its own.
SURE = 0.5
PART_MIN = 20
_SENTENCE_RE = re.compile(r"[^。；;！!？?\n]+[。；;！!？?]?")
_DEPARTMENT_SPLIT_RE = re.compile(r"[、，,；;/／\n]+")
_TITLE_MAX = 30


def keyword_classify(texts: list[str]) -> list[tuple[str, float]]:
    """The fallback without a trained prior: keyword scores, with no confidence to show."""
    return [(guess_category(text), 0.0) for text in texts]


@dataclass(frozen=True)
class Ingested:
    """A checklist read from a file, with what the preview shows beside it."""

    checklist: Checklist
    confidence: dict[str, float] = field(default_factory=dict)  # item id → P(its category)
    kind: str = "text"  # the reader that read it: html, docx, xlsx, pdf, text
    headers: tuple[tuple[str, str], ...] = ()  # a table's columns: (as printed, the role recognised)
    notes: tuple[str, ...] = ()  # a table's footnotes


def header_for(*, checklist_id: str, locality: str, locality_name: str, title: str, published: dt.date,
               url: str = "", issuer: str = "", doc_number: str | None = None,
               source_text: str = "") -> ChecklistHeader:
    """Version 1 of an official list (the store assigns the real version on saving)."""
    return ChecklistHeader(id=checklist_id, locality=Locality(code=locality, name=locality_name), title=title,
                           issuer=issuer or UNKNOWN_ISSUER, doc_number=doc_number, published=published,
                           version=1, authority=Authority.OFFICIAL, source_url=url, source_text=source_text)


def build_checklist(clauses: list[ParsedClause], *, checklist_id: str, locality: str,
                    locality_name: str, title: str, published: dt.date, url: str = "",
                    issuer: str = "", doc_number: str | None = None, source_text: str = "",
                    classify: Classify | None = None) -> tuple[ChecklistHeader, list[ChecklistItem]]:
    """Header and items of a prose notice; ``source_text``: the cleaned notice the clauses come from
    (``knowledge.ingest.read_notice``), kept with it. ``classify`` (the category prior) splits clauses
    that name several services and names each item's category; without it the keyword guess of
    ``knowledge.ingest`` stands and clauses stay whole."""
    header = header_for(checklist_id=checklist_id, locality=locality, locality_name=locality_name, title=title,
                        published=published, url=url, issuer=issuer, doc_number=doc_number,
                        source_text=source_text)
    items, _ = prose_items(clauses, url=url, classify=classify)
    return header, items


def prose_items(clauses: list[ParsedClause], *, url: str = "", classify: Classify | None = None
                ) -> tuple[list[ChecklistItem], dict[str, float]]:
    """The items of prose clauses and each one's category probability (empty without ``classify``)."""
    items: list[ChecklistItem] = []
    confidence: dict[str, float] = {}
    position = 0
    for clause in clauses:
        if not clause.content.strip() or clause.clause == PREAMBLE:
            continue
        position += 1
        parts = split_services(clause, classify) if classify else [(clause.title, clause.content, clause.category, None)]
        for n, (title, content, category, sure) in enumerate(parts):
            item_id = f"C{position:02d}" + (chr(ord("a") + n) if len(parts) > 1 else "")
            items.append(ChecklistItem(id=item_id, category=category, title=(title or content[:_TITLE_MAX])[:80],
                                       service_object=DEFAULT_SERVICE_OBJECT, content=content,
                                       departments=list(clause.departments), clause=clause.clause, source_url=url))
            if sure is not None:
                confidence[item_id] = sure
    return items, confidence


def _sentences(text: str) -> list[str]:
    return [s for s in (m.group(0).strip() for m in _SENTENCE_RE.finditer(text)) if s]


def split_services(clause: ParsedClause, classify: Classify) -> list[tuple[str, str, str, float]]:
    """(title, content, category, probability) for each service ``clause`` names: its sentences
    classified, neighbours of one service joined, a sentence the classifier is unsure of kept with the
    one before it (the first with the one after). One part — the clause whole, classified as a
    whole — when fewer than two services each have a sure sentence and PART_MIN characters."""
    whole_text = f"{clause.title}。{clause.content}" if clause.title and clause.title not in clause.content else clause.content
    sentences = _sentences(clause.content)
    labels = classify([whole_text, *sentences]) if len(sentences) > 1 else classify([whole_text])
    whole = [(clause.title, clause.content, *labels[0])]
    if len(sentences) < 2:
        return whole
    parts: list[list] = []  # [category, probability, sentences]
    pending: list[str] = []  # unsure sentences before the first sure one
    for sentence, (category, probability) in zip(sentences, labels[1:]):
        if probability < SURE:
            (parts[-1][2] if parts else pending).append(sentence)
        elif parts and parts[-1][0] == category:
            parts[-1][1] = max(parts[-1][1], probability)
            parts[-1][2].append(sentence)
        else:
            parts.append([category, probability, pending + [sentence]])
            pending = []
    if not parts:
        return whole
    parts[-1][2].extend(pending)
    # a part too short to be a service of its own joins the one before it (the first, the next)
    merged: list[list] = []
    for part in parts:
        if merged and (len("".join(part[2])) < PART_MIN or merged[-1][0] == part[0]):
            merged[-1][2].extend(part[2])
        else:
            merged.append(part)
    if len(merged) > 1 and len("".join(merged[0][2])) < PART_MIN:
        merged[1][2][:0] = merged[0][2]
        merged.pop(0)
    if len(merged) < 2:
        return whole
    return [(_part_title(texts), "".join(texts), category, probability) for category, probability, texts in merged]


def _part_title(sentences: list[str]) -> str:
    """A part's first sentence, cut at its first comma when long."""
    first = sentences[0].rstrip("。；;！!？?")
    if len(first) > _TITLE_MAX:
        first = re.split(r"[，,：:]", first)[0][:_TITLE_MAX]
    return first


# ---------------------------------------------------------------- tables

def departments_of(text: str) -> list[str]:
    """The departments named in a table's 责任单位 cell, in order, without repeats."""
    out: list[str] = []
    for name in _DEPARTMENT_SPLIT_RE.split(text):
        name = re.sub(r"^(?:牵头|配合|责任)(?:单位|部门)?[:：]", "", name.strip()).strip("（）() ")
        if name and name not in out:
            out.append(name[:60])
    return out


def row_reference(row, position: int) -> str:
    """A row's clause reference: its printed number (第3项), else its place in the document."""
    number = re.sub(r"\s+", "", getattr(row, "number", "") or "").rstrip(".、．")
    if number.isdigit() and len(number) <= 6:
        return f"第{int(number)}项"
    return getattr(row, "where", "") or f"第{position}行"


def row_content(row) -> str:
    """What an item of a table row says: its content, with the columns no field holds after it."""
    content = row.content.strip() or row.item.strip()
    extra = [f"{name}：{value}" for name, value in row.extra if value.strip() and value.strip() != content]
    return "\n".join([content, *extra])


def row_items(rows: Sequence, *, url: str = "", classify: Classify | None = None
              ) -> tuple[list[ChecklistItem], dict[str, float]]:
    """One item per table row; the row's category column (教育服务) is read with its text, not
    trusted as a code."""
    classify = classify or keyword_classify
    rows = [row for row in rows if (row.item or row.content).strip()]
    texts = [" ".join(filter(None, (row.category, row.item, row.content))) for row in rows]
    labels = classify(texts) if texts else []
    items: list[ChecklistItem] = []
    confidence: dict[str, float] = {}
    for position, (row, (category, probability)) in enumerate(zip(rows, labels), start=1):
        item_id = f"R{position:03d}"
        title = (row.item.strip() or row.content.strip()[:_TITLE_MAX])[:80]
        items.append(ChecklistItem(id=item_id, category=category, title=title,
                                   service_object=row.service_object.strip() or DEFAULT_SERVICE_OBJECT,
                                   content=row_content(row), departments=departments_of(row.departments),
                                   how_to_apply=row.channel.strip(), clause=row_reference(row, position),
                                   source_url=url))
        confidence[item_id] = probability
    return items, confidence


def table_source_text(document) -> str:
    """The text kept with a list read from a table: the prose around it, then each row on a line of
    its own, so the stored page shows what every item was read from."""
    lines = [line for line in document.text.split("\n") if line.strip()]
    for position, row in enumerate((r for r in document.rows if (r.item or r.content).strip()), start=1):
        cells = [row.category, row.item, row.service_object, row_content(row).replace("\n", " "), row.departments,
                 row.channel]
        lines.append(f"{row_reference(row, position)}\u3000" + "｜".join(c.strip().replace("\n", " ")
                                                                      for c in cells if c and c.strip()))
    lines += [note for note in document.notes if note.strip()]
    return "\n".join(lines)
