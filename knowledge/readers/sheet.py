"""An ``.xlsx`` read with openpyxl in read-only mode (rows streamed, never the whole sheet held as
cell objects): every visible sheet is a table; hidden and very-hidden sheets are skipped (staff do
not see them; they usually hold lookup lists). Read-only worksheets do not expose merged ranges,
so each sheet's ``<mergeCell ref=…>`` list is read from its XML part directly (the part found
through ``xl/workbook.xml`` and its relationships). Hidden rows and columns are read like the rest."""

from __future__ import annotations

import datetime as dt
import io
import posixpath
import zipfile
from typing import Any
from xml.etree import ElementTree

from knowledge.errors import IngestError
from knowledge.readers.document import ReadDocument
from knowledge.readers.grid import MAX_TABLE_COLS, MAX_TABLE_ROWS, Cell, build_grid
from knowledge.readers.sniff import open_zip
from knowledge.readers.tables import Assembler

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → the path of its XML part inside the package."""
    targets = {}
    try:
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        for rel in rels.iter(f"{_PKG_REL}Relationship"):
            target = rel.get("Target", "")
            targets[rel.get("Id", "")] = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join("xl", target))
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    except (KeyError, ElementTree.ParseError):
        return {}
    return {sheet.get("name", ""): targets.get(sheet.get(f"{_REL}id", ""), "")
            for sheet in workbook.iter(f"{_MAIN}sheet")}


def _merged_ranges(archive: zipfile.ZipFile, part: str) -> list[tuple[int, int, int, int]]:
    """(min_col, min_row, max_col, max_row) of every merged range of a sheet's part, 1-based."""
    from openpyxl.utils.cell import range_boundaries

    if not part:
        return []
    ranges = []
    try:
        with archive.open(part) as source:
            for _, element in ElementTree.iterparse(source):
                if element.tag == f"{_MAIN}mergeCell" and element.get("ref"):
                    try:
                        bounds = range_boundaries(element.get("ref", ""))
                    except ValueError:
                        continue
                    if None not in bounds:
                        ranges.append(bounds)  # type: ignore[arg-type]
                elif element.tag == f"{_MAIN}row":
                    element.clear()  # the cells were read by openpyxl; keep memory flat
    except (KeyError, ElementTree.ParseError):
        return []
    return ranges


def cell_text(value: Any) -> str:
    """A cell's value as it would be read: whole numbers without '.0', dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _sheet_cells(worksheet: Any, merges: list[tuple[int, int, int, int]], name: str) -> tuple[list[Cell], int]:
    """The sheet's cells (0-based positions; merged ranges as spans) and its number of rows."""
    covered: dict[tuple[int, int], tuple[int, int] | None] = {}
    area = sum((min(max_row, MAX_TABLE_ROWS) - min_row + 1) * (min(max_col, MAX_TABLE_COLS) - min_col + 1)
               for min_col, min_row, max_col, max_row in merges
               if min_row <= MAX_TABLE_ROWS and min_col <= MAX_TABLE_COLS)
    if area > 2 * MAX_TABLE_ROWS * MAX_TABLE_COLS:
        raise IngestError(f"工作表“{worksheet.title}”的合并单元格过多或过大，请取消多余的合并后上传。", detail=name)
    for min_col, min_row, max_col, max_row in merges:
        if min_row > MAX_TABLE_ROWS or min_col > MAX_TABLE_COLS:
            continue
        max_row, max_col = min(max_row, MAX_TABLE_ROWS), min(max_col, MAX_TABLE_COLS)
        covered[(min_row, min_col)] = (max_row - min_row + 1, max_col - min_col + 1)
        for r in range(min_row, max_row + 1):
            for c in range(min_col, max_col + 1):
                covered.setdefault((r, c), None)
    cells, last = [], 0
    for r, values in enumerate(worksheet.iter_rows(min_row=1, max_row=MAX_TABLE_ROWS + 1,
                                                   max_col=MAX_TABLE_COLS + 1, values_only=True), start=1):
        for c, value in enumerate(values, start=1):
            text = cell_text(value).strip()
            span = covered.get((r, c), (1, 1))
            if span is None or (not text and span == (1, 1)):
                continue  # inside a merged range, or empty
            if r > MAX_TABLE_ROWS or c > MAX_TABLE_COLS:
                raise IngestError(f"工作表“{worksheet.title}”过大（最多 {MAX_TABLE_ROWS} 行、{MAX_TABLE_COLS} 列），"
                                  "请删去多余的行列或拆分后上传。", detail=name)
            cells.append(Cell(r - 1, c - 1, text, span[0], span[1]))
            last = max(last, r - 1 + span[0])
    return cells, last


def read_xlsx(data: bytes, name: str) -> ReadDocument:
    """The workbook in ``data`` (the ZIP checked by ``sniff.open_zip`` again here)."""
    import openpyxl

    archive = open_zip(data, name)
    parts = _sheet_parts(archive)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged package
        raise IngestError("Excel 文件已损坏或格式不标准，无法读取。请用 Excel 或 WPS 打开后另存为 .xlsx 再上传。",
                          detail=name) from exc
    assembler = Assembler()
    try:
        for worksheet in workbook.worksheets:
            if worksheet.sheet_state != "visible":
                continue
            cells, rows = _sheet_cells(worksheet, _merged_ranges(archive, parts.get(worksheet.title, "")), name)
            assembler.boundary()
            assembler.table(build_grid(cells, rows=rows),
                            where=lambda _table, row, title=worksheet.title: f"工作表“{title}” 第{row + 1}行")
        title = workbook.properties.title or ""
    finally:
        workbook.close()
        archive.close()
    return assembler.finish("xlsx", title)
