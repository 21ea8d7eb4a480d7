"""The knowledge base as staff work it: what an uploaded file becomes — a checklist, or the
problems with it in Chinese, fit to show on the page — and publishing one.

The staff app receives a :class:`ChecklistDesk` from the composition root (``Runtime.checklists``)
and knows nothing of the ingester, the YAML schema or the gazetteer behind it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace

from pydantic import ValidationError

from knowledge.categories import CATEGORIES
from knowledge.clean_text import clean_text
from knowledge.diff import Changes, compare
from knowledge.errors import ChecklistValidationError, IngestError
from knowledge.ingest import read_notice
from knowledge.ingest_store import Classify, Ingested, header_for, prose_items, row_items, table_source_text
from knowledge.readers import TableRow, read_upload
from knowledge.schema import SOURCE_TEXT_MAX, Checklist, ChecklistItem, dump_checklist, load_checklist_text
from knowledge.service import KnowledgeBase
from nlu.geo import gazetteer

NO_ITEMS = ("没有读到任何服务项目：文件里既没有带“服务项目”（或“服务事项”“项目名称”）一栏的表格，"
            "也没有“一、”“（一）”式编号的条款。请上传清单的原表格或正式文本。")


NO_TITLE = "文件里没有找到清单的标题，请填写清单标题后重新上传。"


def _problems(exc: ChecklistValidationError) -> list[str]:
    return [str(p) for p in exc.problems] or [str(exc)]


def _pydantic_problems(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in err['loc']) or '(整体)'}：{str(err.get('msg', '')).removeprefix('Value error, ')}"
            for err in exc.errors()]


def derived_id(locality: str, title: str) -> str:
    """The id of a checklist read from a notice when none is given: ``<area code>-<hash of the title>``
    (an id starting with the area's code is what a district's staff may publish under)."""
    return f"{locality}-{hashlib.sha1(title.encode('utf-8')).hexdigest()[:8]}"


CELL_FIELDS = ("number", "category", "item", "service_object", "content", "departments", "channel")


def _cleaned_row(row: TableRow) -> TableRow:
    """A table row in Simplified Chinese with normalised spaces, as prose is (``clean_text``)."""
    def clean(value: str) -> str:
        return clean_text(value, html=False) if value else ""
    return replace(row, **{name: clean(getattr(row, name)) for name in CELL_FIELDS},
                   extra=tuple((clean(name), clean(value)) for name, value in row.extra))


def read_notice_file(data: bytes, filename: str, *, locality: str, title: str, published: dt.date,
                     url: str = "", issuer: str = "", doc_number: str | None = None,
                     checklist_id: str = "", classify: Classify | None = None) -> Ingested | list[str]:
    """A published list — a table (HTML, .docx, .xlsx, PDF) with one service a row, or numbered
    prose — read into a checklist for ``locality`` (an area code), or the problems with it in
    Chinese. ``classify`` (the category prior, ``KnowledgeBase.classify``) names each item's
    category; without it the keyword guess stands and prose clauses stay whole."""
    try:
        document = read_upload(data, filename)
        if document.rows:
            rows = [_cleaned_row(row) for row in document.rows]
            items, confidence = row_items(rows, url=url, classify=classify)
            text = table_source_text(replace(document, text=clean_text(document.text, html=False), rows=tuple(rows),
                                             notes=tuple(clean_text(n, html=False) for n in document.notes)))
        else:
            text, clauses = read_notice(document.text, html=False)
            items, confidence = prose_items(clauses, url=url, classify=classify)
    except IngestError as exc:
        if exc.detail and exc.detail.startswith("未识别到"):
            return [NO_ITEMS]
        return [exc.message + (f"（{exc.detail}）" if exc.detail else "")]
    if not items:
        return [NO_ITEMS]
    title = title or clean_text(document.title, html=False)
    if not title:
        return [NO_TITLE]
    try:
        header = header_for(checklist_id=checklist_id or derived_id(locality, title), locality=locality,
                            locality_name=gazetteer().full_name(locality), title=title, published=published,
                            url=url, issuer=issuer, doc_number=doc_number or None, source_text=text[:SOURCE_TEXT_MAX])
    except ValidationError as exc:
        return _pydantic_problems(exc)
    return Ingested(Checklist(header=header, items=tuple(items)), confidence, document.kind,
                    document.headers, tuple(clean_text(n, html=False) for n in document.notes))


class ChecklistDesk:
    """Reading uploads and publishing checklists on one knowledge base. Each reading returns the
    checklist or a list of problems; none raises for a bad file."""

    def __init__(self, knowledge: KnowledgeBase):
        self.knowledge = knowledge

    @property
    def catalog(self):
        """The checklists now served: ``current`` ones and every id's ``versions``."""
        return self.knowledge.snapshot.catalog

    @property
    def errors(self) -> list[str]:
        """Files in the checklist folders that could not be loaded, each said in a line."""
        return [str(e) for e in self.knowledge.errors]

    def locality(self, text: str) -> str | None:
        """The area code a staff member means by ``text`` (a code or a place name), or None."""
        return gazetteer().resolve_code(text) if text else None

    def from_yaml(self, data: bytes, source: str) -> Checklist | list[str]:
        try:
            return load_checklist_text(data.decode("utf-8-sig"), source)
        except UnicodeDecodeError:
            return ["文件不是 UTF-8 编码的文本，请另存为 UTF-8 后重新上传。"]
        except ChecklistValidationError as exc:
            return _problems(exc)

    def from_notice(self, data: bytes, filename: str, **fields) -> Ingested | list[str]:
        """:func:`read_notice_file` with this knowledge base's category prior (the header ``fields``:
        locality, title, published, url, issuer, doc_number, checklist_id)."""
        return read_notice_file(data, filename, classify=self.knowledge.classify, **fields)

    def changes(self, checklist: Checklist) -> Changes:
        """What ``checklist`` adds, removes and changes against the current version of its id."""
        versions = self.catalog.versions.get(checklist.id, {})
        return compare(versions[max(versions)] if versions else None, checklist)

    @property
    def categories(self) -> dict[str, str]:
        """The category codes an item may have, with their Chinese labels (the choices the staff
        preview offers: the staff app may not import ``knowledge.categories`` itself)."""
        return dict(CATEGORIES)

    def with_categories(self, checklist: Checklist, categories: dict[str, str]) -> Checklist | list[str]:
        """``checklist`` with the categories staff chose (item id → code) in place of the ones read."""
        ids = {item.id for item in checklist.items}
        unknown = [item_id for item_id in categories if item_id not in ids]
        if unknown:
            return [f"没有这个条目：{'、'.join(unknown[:5])}"]
        try:
            items = tuple(ChecklistItem.model_validate({**item.model_dump(), "category": categories[item.id]})
                          if categories.get(item.id, item.category) != item.category else item
                          for item in checklist.items)
        except ValidationError as exc:
            return _pydantic_problems(exc)
        return Checklist(header=checklist.header, items=items)

    def staged_text(self, checklist: Checklist, source: str) -> str | list[str]:
        """The YAML to keep until the staff member publishes: exactly what publishing will store,
        checked to load again."""
        try:
            text = dump_checklist(checklist)
            load_checklist_text(text, source)
        except ChecklistValidationError as exc:
            return _problems(exc)
        return text

    def load(self, text: str, source: str) -> Checklist | list[str]:
        """A checklist kept by :meth:`staged_text`, read back."""
        try:
            return load_checklist_text(text, source)
        except ChecklistValidationError as exc:
            return _problems(exc)

    def publish(self, checklist: Checklist) -> Checklist | list[str]:
        """Store ``checklist`` as its id's next version and serve it at once."""
        try:
            return self.knowledge.publish(checklist.header, list(checklist.items))
        except ChecklistValidationError as exc:
            return _problems(exc)
