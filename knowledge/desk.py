"""The knowledge base as staff work it: what an uploaded file becomes — a checklist, or the
problems with it in Chinese, fit to show on the page — and publishing one.

The staff app receives a :class:`ChecklistDesk` from the composition root (``Runtime.checklists``)
and knows nothing of the ingester, the YAML schema or the gazetteer behind it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from pathlib import Path

from pydantic import ValidationError

from knowledge.errors import ChecklistValidationError, IngestError
from knowledge.ingest import read_notice
from knowledge.ingest_store import build_checklist
from knowledge.readers.text import read_document
from knowledge.schema import Checklist, dump_checklist, load_checklist_text
from knowledge.service import KnowledgeBase
from nlu.geo import gazetteer

NOTICE_SUFFIXES = {".html", ".htm", ".shtml", ".txt", ".text", ""}


def _problems(exc: ChecklistValidationError) -> list[str]:
    return [str(p) for p in exc.problems] or [str(exc)]


def _pydantic_problems(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in err['loc']) or '(整体)'}：{str(err.get('msg', '')).removeprefix('Value error, ')}"
            for err in exc.errors()]


def derived_id(locality: str, title: str) -> str:
    """The id of a checklist read from a notice when none is given: ``<area code>-<hash of the title>``
    (an id starting with the area's code is what a district's staff may publish under)."""
    return f"{locality}-{hashlib.sha1(title.encode('utf-8')).hexdigest()[:8]}"


def read_notice_file(data: bytes, filename: str, *, locality: str, title: str, published: dt.date,
                     url: str = "", issuer: str = "", doc_number: str | None = None,
                     checklist_id: str = "") -> Checklist | list[str]:
    """A published notice (HTML or text with a numbered outline) read into a checklist for
    ``locality`` (an area code), or the problems with it in Chinese."""
    suffix = Path(filename).suffix.lower()
    fd, tmp = tempfile.mkstemp(suffix=suffix if suffix in NOTICE_SUFFIXES else ".txt")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        raw, is_html = read_document(tmp)
        text, clauses = read_notice(raw, html=is_html)
    except IngestError as exc:
        return [exc.message + (f"（{exc.detail}）" if exc.detail else "")]
    finally:
        Path(tmp).unlink(missing_ok=True)
    try:
        header, items = build_checklist(clauses, checklist_id=checklist_id or derived_id(locality, title),
                                        locality=locality, locality_name=gazetteer().full_name(locality),
                                        title=title, published=published, url=url, issuer=issuer,
                                        doc_number=doc_number or None, source_text=text)
    except ValidationError as exc:
        return _pydantic_problems(exc)
    if not items:
        return ["没有从文件中解析出任何条款。"]
    return Checklist(header=header, items=tuple(items))


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

    def from_notice(self, data: bytes, filename: str, **fields) -> Checklist | list[str]:
        """:func:`read_notice_file` (the header ``fields``: locality, title, published, url, issuer,
        doc_number, checklist_id)."""
        return read_notice_file(data, filename, **fields)

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
