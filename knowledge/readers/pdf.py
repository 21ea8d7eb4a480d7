"""A text PDF read with pdfplumber: ruled tables (its default "lines" strategy) become grids, the
characters outside them become lines of prose, both in reading order down each page.

Cells are laid out from the table's cell rectangles (a merged cell is one rectangle over several
rows or columns of the table's edges) and filled with the characters whose centre falls inside;
a line that reaches the cell's right edge wrapped there and is joined to the next without a
break, a shorter one ended where the author broke it. Prose lines are joined the same way into
paragraphs (a full line followed by one not indented and not numbered). Page numbers are dropped.

Refused: a PDF with a password; one whose streams inflate past ``MAX_PDF_INFLATED`` (checked on
the raw bytes before pdfminer parses anything), with more than ``MAX_PDF_PAGES`` pages,
``MAX_PDF_CHARS`` characters or ``MAX_PDF_PAGE_EDGES`` ruling lines on a page; a page with images and no text (a scan: no OCR) unless it is the
last page after pages with text (the stamped signature page of an official document); text
whose font has no Unicode mapping (``(cid:…)``)."""

from __future__ import annotations

import io
import re
import statistics
import zlib
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from knowledge.errors import IngestError
from knowledge.readers.document import ReadDocument
from knowledge.readers.grid import ENUM_RE, Cell, Grid, build_grid, is_cjk, squeeze_cjk
from knowledge.readers.tables import Assembler

MAX_PDF_PAGES = 100
MAX_PDF_CHARS = 400_000
MAX_PDF_INFLATED = 64 * 1024 * 1024
MAX_PDF_PAGE_EDGES = 4000  # ruling lines on one page (pdfplumber's table finder is quadratic in them)
_STREAM_RE = re.compile(rb"(?<!end)stream\r?\n")
_PAGE_NUMBER_RE = re.compile(r"^[-—–_\s]*(?:第\s*)?\d{1,4}\s*页?(?:\s*/\s*\d{1,4}|\s*共\s*\d{1,4}\s*页)?[-—–_\s]*$")
_CHUNK = 4 * 1024 * 1024


def _check_streams(data: bytes, name: str) -> None:
    """Refuse a PDF whose streams, inflated, would exceed ``MAX_PDF_INFLATED`` (a PDF bomb)."""
    total = 0
    for match in _STREAM_RE.finditer(data):
        end = data.find(b"endstream", match.end())
        segment = data[match.end():end if end >= 0 else len(data)]
        inflater = zlib.decompressobj()
        try:
            pending = segment
            while pending and total <= MAX_PDF_INFLATED:
                total += len(inflater.decompress(pending, _CHUNK))
                pending = inflater.unconsumed_tail
        except zlib.error:
            total += len(segment)  # not deflated (an image, or another filter): counted as stored
        if total > MAX_PDF_INFLATED:
            raise IngestError(f"PDF 内容解压后过大（超过 {MAX_PDF_INFLATED // 2 ** 20} MB），可能不是正常的文件，"
                              "已拒绝读取。", detail=name)


@dataclass
class _Line:
    top: float
    x0: float
    x1: float
    size: float
    text: str


def _lines(chars: list[dict[str, Any]]) -> list[_Line]:
    """Characters grouped into lines (same height on the page), each read left to right."""
    lines: list[list[dict[str, Any]]] = []
    for char in sorted(chars, key=lambda c: (c["top"], c["x0"])):
        if lines and char["top"] - lines[-1][0]["top"] <= max(2.0, 0.5 * char["size"]):
            lines[-1].append(char)
        else:
            lines.append([char])
    out = []
    for group in lines:
        group.sort(key=lambda c: c["x0"])
        text, prev = "", None
        for char in group:
            if prev is not None and char["text"] != " " and not text.endswith(" ") \
                    and char["x0"] - prev["x1"] > 0.25 * char["size"] \
                    and not (is_cjk(char["text"][:1]) and is_cjk(prev["text"][-1:])):
                text += " "
            text += char["text"]
            prev = char
        text = squeeze_cjk(re.sub(r"\s+", " ", text).strip())
        if text:
            out.append(_Line(group[0]["top"], group[0]["x0"], max(c["x1"] for c in group),
                             statistics.median(c["size"] for c in group), text))
    return out


def _joined(lines: list[_Line], right: float, left: float | None = None) -> str:
    """Lines joined where they wrapped: a line reaching ``right`` goes on in the next (without a
    break; with a space between Latin letters), unless the next is indented or numbered."""
    out = ""
    for i, line in enumerate(lines):
        if i == 0:
            out = line.text
            continue
        prev = lines[i - 1]
        wrapped = right - prev.x1 < 2 * prev.size + 2
        if left is not None and line.x0 - left > 0.8 * line.size:
            wrapped = False  # an indented line starts a paragraph
        if wrapped and not ENUM_RE.match(line.text):
            out += ("" if is_cjk(out[-1]) or is_cjk(line.text[0]) else " ") + line.text
        else:
            out += "\n" + line.text
    return out


def _coords(values: list[float]) -> list[float]:
    out: list[float] = []
    for value in sorted(values):
        if not out or value - out[-1] > 1.0:
            out.append(value)
    return out


def _at(coords: list[float], value: float) -> int:
    """The index of the coordinate nearest ``value``."""
    i = bisect_right(coords, value)
    if i == 0:
        return 0
    if i == len(coords) or value - coords[i - 1] <= coords[i] - value:
        return i - 1
    return i


def _table_grid(table: Any, chars: list[dict[str, Any]]) -> Grid | None:
    """The grid of a pdfplumber table from its cell rectangles, or None for a frame (one row or
    one column: its text is prose)."""
    boxes = table.cells
    xs = _coords([b[0] for b in boxes] + [b[2] for b in boxes])
    ys = _coords([b[1] for b in boxes] + [b[3] for b in boxes])
    if len(xs) < 3 or len(ys) < 3:
        return None
    placed, owner = [], {}
    for index, (x0, top, x1, bottom) in enumerate(boxes):
        c0, c1, r0, r1 = _at(xs, x0), _at(xs, x1), _at(ys, top), _at(ys, bottom)
        placed.append((r0, c0, max(1, r1 - r0), max(1, c1 - c0)))
        for r in range(r0, r0 + max(1, r1 - r0)):
            for c in range(c0, c0 + max(1, c1 - c0)):
                owner.setdefault((r, c), index)
    members: dict[int, list[dict[str, Any]]] = {}
    for char in chars:
        col = bisect_right(xs, (char["x0"] + char["x1"]) / 2) - 1
        row = bisect_right(ys, (char["top"] + char["bottom"]) / 2) - 1
        if (row, col) in owner:
            members.setdefault(owner[(row, col)], []).append(char)
    cells = [Cell(r, c, _joined(_lines(members.get(i, [])), boxes[i][2]), rowspan, colspan)
             for i, (r, c, rowspan, colspan) in enumerate(placed)]
    return build_grid(cells, rows=len(ys) - 1)


def _inside(char: dict[str, Any], boxes: list[tuple[float, float, float, float]]) -> bool:
    x, y = (char["x0"] + char["x1"]) / 2, (char["top"] + char["bottom"]) / 2
    return any(x0 <= x <= x1 and top <= y <= bottom for x0, top, x1, bottom in boxes)


def _open(data: bytes, name: str) -> Any:
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
        count = len(pdf.pages)
    except PDFPasswordIncorrect as exc:
        raise IngestError("PDF 设置了打开密码，无法读取。请取消密码后重新上传。", detail=name) from exc
    except Exception as exc:  # pdfminer raises many kinds for a damaged file
        raise IngestError("PDF 文件已损坏，无法读取。请重新导出 PDF 或上传 Word 版本。", detail=name) from exc
    if count > MAX_PDF_PAGES:
        pdf.close()
        raise IngestError(f"PDF 页数过多（{count} 页，最多 {MAX_PDF_PAGES} 页），请只上传清单所在的页面。", detail=name)
    return pdf


def read_pdf(data: bytes, name: str) -> ReadDocument:
    """The text PDF in ``data``."""
    _check_streams(data, name)
    pdf = _open(data, name)
    assembler, total, seen_text, title = Assembler(), 0, False, ""
    try:
        metadata_title = pdf.metadata.get("Title") if isinstance(pdf.metadata, dict) else None
        for page in pdf.pages:
            chars = [c for c in page.chars if c["text"].strip()]
            total += len(chars)
            if total > MAX_PDF_CHARS:
                raise IngestError(f"PDF 文字过多（超过 {MAX_PDF_CHARS} 字），请只上传清单所在的页面。", detail=name)
            if not chars:
                if page.images and not (seen_text and page.page_number == len(pdf.pages)):
                    raise IngestError(f"PDF 第{page.page_number}页没有可提取的文字，看起来是扫描图片；"
                                      "目前不支持识别图片中的文字（OCR）。请上传文字版 PDF 或 Word 文件。", detail=name)
                continue
            if sum(c["text"].startswith("(cid:") for c in chars) > len(chars) // 10:
                raise IngestError("PDF 中的文字无法正确提取（字体缺少编码信息），请上传同一文件的 Word 版本。", detail=name)
            seen_text = True
            lines = _read_page(page, chars, assembler)
            if page.page_number == 1 and not title:
                title = _title_line(lines)
            page.close()
    except IngestError:
        raise
    except Exception as exc:
        raise IngestError("PDF 文件内容无法解析，请重新导出 PDF 或上传 Word 版本。", detail=name) from exc
    finally:
        pdf.close()
    if not seen_text:
        raise IngestError("PDF 中没有可提取的文字，看起来是扫描图片；目前不支持识别图片中的文字（OCR）。"
                          "请上传文字版 PDF 或 Word 文件。", detail=name)
    return assembler.finish("pdf", title or _metadata_title(metadata_title))


def _metadata_title(value: Any) -> str:
    """The Title of the PDF's information dictionary when it reads like one (Chinese, not a file
    name such as "Microsoft Word - 附件1.docx")."""
    if not isinstance(value, str) or not any(is_cjk(ch) for ch in value):
        return ""
    return "" if re.search(r"\.(?:docx?|wps|xlsx?|pdf)\b|microsoft", value, re.I) else value.strip()


def _read_page(page: Any, chars: list[dict[str, Any]], assembler: Assembler) -> list[_Line]:
    """One page into ``assembler`` in reading order; the prose lines returned (for the title)."""
    number = page.page_number
    if len(page.edges) > MAX_PDF_PAGE_EDGES:
        raise IngestError(f"PDF 第{number}页的线条过多（超过 {MAX_PDF_PAGE_EDGES} 条），无法识别表格。"
                          "请上传同一文件的 Word 或 Excel 版本。")
    grids = []
    for table in page.find_tables():
        grid = _table_grid(table, chars)
        if grid is not None:
            grids.append((table.bbox[1], table.bbox, grid))
    boxes = [bbox for _, bbox, _ in grids]
    lines = [line for line in _lines([c for c in chars if not _inside(c, boxes)])
             if not _PAGE_NUMBER_RE.match(line.text)]
    right = max((line.x1 for line in lines), default=0.0)
    left = min((line.x0 for line in lines), default=0.0)
    blocks: list[tuple[float, str, Any]] = [(top, "table", grid) for top, _, grid in grids]
    group: list[_Line] = []
    for line in lines:  # consecutive lines between two tables form one block of prose
        if group and any(group[-1].top < top < line.top for top, _, _ in grids):
            blocks.append((group[0].top, "prose", group))
            group = []
        group.append(line)
    if group:
        blocks.append((group[0].top, "prose", group))
    for _, kind, block in sorted(blocks, key=lambda b: b[0]):
        if kind == "prose":
            for paragraph in _joined(block, right, left).split("\n"):
                assembler.paragraph(paragraph)
        else:
            assembler.table(block, where=lambda table, row, page=number: f"第{page}页 表{table} 第{row + 1}行")
    return lines


def _title_line(lines: list[_Line]) -> str:
    """The first page's title: its first line printed larger than the body text."""
    if len(lines) < 2:
        return ""
    body = statistics.median(line.size for line in lines)
    for line in lines[:5]:
        if line.size >= body + 2 and len(line.text) <= 80:
            return line.text
    return ""
