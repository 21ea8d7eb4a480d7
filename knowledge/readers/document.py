"""One entry point for an uploaded document: the bytes are sniffed (never the extension trusted) and
read by the reader of their real format into one small shape.

``read_upload(data, filename) -> ReadDocument`` and ``read_path(path) -> ReadDocument``.

What each format gives
    ``html``  the page's visible text (``html.py``) with its data tables taken out and read as tables
              (``html_tables.py``: rowspan/colspan, thead/tbody/tfoot, several tables; tables inside
              navigation/footer boxes are skipped like their text);
    ``docx``  paragraphs and tables in body order (``word.py``, python-docx); Word's automatic
              numbering rendered (一、 （一） 1. …) from the numbering definitions;
    ``xlsx``  every *visible* sheet (hidden and very-hidden sheets are skipped: staff do not see
              them and they usually hold lookup lists), merged ranges expanded (``sheet.py``,
              openpyxl read-only plus the sheet's ``mergeCell`` list);
    ``pdf``   text PDFs (``pdf.py``, pdfplumber): ruled tables as tables, the rest as text lines, a
              table continued over pages joined (header repeated or not); a page with images but
              no text is refused as a scan (no OCR);
    ``text``  UTF-8 / GB18030 text as it is (``text.py``), no tables.

The shape (``TableRow``, ``ReadDocument``)
    ``text``     prose outside the checklist tables, one paragraph a line, in document order, *not*
                 yet cleaned (no Traditional→Simplified, no pinyin stripping: hand it to
                 ``knowledge.clean_text.clean_text(text, html=False)``). Tables that are not
                 checklists (no 服务项目-like column) are in it too, one row a line.
    ``rows``     one ``TableRow`` per service row of every checklist table, in order. Cell text is
                 whitespace-normalised only (the same caveat: not converted to Simplified).
    ``headers``  (header as printed, role) of the columns the rows came from, in order, once each.
    ``notes``    注/备注 rows spanning a table and the 注… lines right after a table.
    ``title``    the document's own title when evident, else ''.

How a table is read (shared by every format: ``grid.py``, ``headers.py``, ``tables.py``): cells
expanded into a rectangular grid; the header row found by meaning (a synonym list per role, tolerant of spaces, full-width
forms, line breaks and （单位）-style suffixes), also a two-row header (a merged top cell over
sub-headers); the rows above the header are prose; a repeated header row is dropped; a row that is
one merged value across the table is a section heading (sets the category) or a note; a row with
no item of its own (an empty 服务项目 cell, or one still inside the merged cell above) continues
the row above (a row split over a page break, an item merged over several rows); an empty category
cell inherits the category above. A table without a header continues the checklist table right
before it (nothing but page breaks between) when it has as many columns.

Every refusal is an ``IngestError`` whose ``message`` is Simplified Chinese that staff can act on.
Hostile files are bounded before parsing: ZIP member count and total uncompressed size
(``sniff.py``), a PDF's decompressed stream size, pages and characters (``pdf.py``), rows and
columns of every table and sheet (``tables.py``, ``sheet.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from knowledge.errors import IngestError

ROLES = ("number", "category", "item", "service_object", "content", "departments", "channel")


@dataclass(frozen=True)
class TableRow:
    """One service row of a checklist table."""

    number: str          # 序号 as printed, '' if none
    category: str        # 服务类别/领域; a merged cell or a section row applies to the rows under it
    item: str            # 服务项目 / 服务事项 / 项目名称
    service_object: str  # 服务对象 / 适用对象
    content: str         # 服务内容 / 具体内容 / 服务标准 (several such columns joined, each named)
    departments: str     # 责任单位 / 牵头单位 / 责任部门 (raw text; several columns joined, each named)
    channel: str         # 办理渠道 / 办理方式 / 咨询电话 (several columns joined, each named)
    extra: tuple[tuple[str, str], ...]  # every other column: (header as printed, cell)
    where: str           # where staff find it: "表1 第3行", "第2页 表1 第5行", "工作表“清单” 第7行"


@dataclass(frozen=True)
class ReadDocument:
    """What a document holds, whatever its format (see the module docstring)."""

    kind: str                               # "html" | "docx" | "xlsx" | "pdf" | "text"
    text: str
    rows: tuple[TableRow, ...]
    headers: tuple[tuple[str, str], ...]    # (header as printed, role or "other")
    notes: tuple[str, ...]
    title: str


def read_upload(data: bytes, filename: str) -> ReadDocument:
    """The document in ``data`` (``filename`` is only named in error details, never trusted for
    the type). Raises ``IngestError`` with a message for staff when it cannot be read."""
    from knowledge.readers.sniff import sniff  # the readers load their libraries only when used

    name = Path(filename or "").name
    kind = sniff(data, name)
    if kind == "pdf":
        from knowledge.readers.pdf import read_pdf
        return read_pdf(data, name)
    if kind == "docx":
        from knowledge.readers.word import read_docx
        return read_docx(data, name)
    if kind == "xlsx":
        from knowledge.readers.sheet import read_xlsx
        return read_xlsx(data, name)
    from knowledge.readers.html import looks_like_html
    from knowledge.readers.text import decode_text
    text = decode_text(data, name)
    if looks_like_html(text):
        from knowledge.readers.html_tables import read_html
        return read_html(text)
    return ReadDocument(kind="text", text=text.replace("\r\n", "\n").replace("\r", "\n"), rows=(),
                        headers=(), notes=(), title="")


def read_path(path: str | os.PathLike[str]) -> ReadDocument:
    """:func:`read_upload` on a file's bytes."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise IngestError("无法读取文件，请确认文件存在且可以打开。", detail=file.name) from exc
    return read_upload(data, file.name)
