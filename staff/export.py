"""Export the priority-care ledger (重点关爱服务对象信息台账) as CSV and Excel.

Staff enter these files into the national child-welfare information system
(全国儿童福利信息系统). The caller filters the rows to the staff member's own area; this
module only formats them.

Both formats:
- carry a header row of Chinese column names (``LEDGER_COLUMNS``);
- neutralise spreadsheet formula injection: a text cell starting with ``= + - @`` (or a tab /
  carriage return) gets a leading apostrophe in CSV, and is stored as a plain string (never
  a formula, with Excel's "quote prefix" so it stays text when edited) in XLSX;
- keep phone numbers, reference numbers and area codes as text: numbers passed for those
  columns are written as plain digits (no exponent, no ``.0``); in XLSX the cells are text
  cells with the text number format ``@``, so Excel neither drops leading zeros nor shows
  scientific notation.

A note on CSV: a CSV file has no cell types, so Excel, when it *opens* a CSV by
double-click, still guesses types (a 12-digit area code shows as 1.10101E+11). The CSV
keeps the exact characters (the right thing for an importer and for ``csv`` readers);
staff who want to look at the ledger in Excel should use the XLSX export.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from actions.slots import STORED
from ledger.requests import SITUATION_LABELS

__all__ = [
    "LEDGER_COLUMNS",
    "cell_text",
    "ledger_csv",
    "ledger_xlsx",
]

LEDGER_COLUMNS: list[tuple[str, str]] = [
    ("reference", "申请编号"),
    # the parent's answers, as the form declares them (actions/slots.py): field, the staff's name
    *[(slot.stored.field, slot.staff_title) for slot in STORED if slot.exported],
    ("area_code", "所属区划代码"),
    ("accepted_on", "纳入台账日期"),
    ("last_visit_on", "最近走访日期"),
    ("next_visit_on", "下次走访日期"),
    ("next_review_on", "下次复核日期"),
    ("status", "状态"),
]

# Columns whose values are identifiers made of digits: always text, never numbers.
TEXT_COLUMNS = frozenset({"reference", "guardian_phone", "area_code"})
DATE_COLUMNS = frozenset({"accepted_on", "last_visit_on", "next_visit_on", "next_review_on"})

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_KEYS = [key for key, _ in LEDGER_COLUMNS]
_HEADERS = [header for _, header in LEDGER_COLUMNS]
_DATE_FORMAT = "yyyy-mm-dd"
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SITUATION_SPLIT = re.compile(r"[,，、;；\s]+")


def _is_dangerous(text: str) -> bool:
    return text.startswith(_FORMULA_START)


def _number_text(value: int | float) -> str:
    """Digits of an identifier that came in as a number: 13800138000.0 -> '13800138000'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return format(value, "f").rstrip("0").rstrip(".")
    return str(value)


def _situations_text(value: object) -> str:
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [str(item) for item in value]
    else:
        text = str(value)
        items = [p for p in _SITUATION_SPLIT.split(text) if p]
        if not items or not all(item in SITUATION_LABELS for item in items):
            return text  # free text or already Chinese: keep it as given
    return "、".join(SITUATION_LABELS.get(item, item) for item in items)


def _normalise(key: str, value: object) -> object:
    """One cell's value as str/int/float/date/datetime/None, before format-specific quoting."""
    if value is None:
        return None
    if key == "situations":
        return _situations_text(value) if value != "" else ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if key in TEXT_COLUMNS:
        if isinstance(value, (int, float)):
            return _number_text(value)
        return str(value)
    if key in DATE_COLUMNS and isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return value
    if isinstance(value, (int, float, date)):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return "、".join(str(item) for item in value)
    return str(value)


# ---------------------------------------------------------------------------------- CSV


def _text(value: object) -> str:
    """A normalised value as the CSV writes it."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return _number_text(value) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    return value


def cell_text(key: str, value: object) -> str:
    """One value as the ledger writes it (also on the staff request page), before any quoting."""
    return _text(_normalise(key, value))


def _csv_cell(key: str, value: object) -> str:
    value = _normalise(key, value)
    if isinstance(value, str) and _is_dangerous(value):
        return "'" + value
    return _text(value)


def ledger_csv(rows: Iterable[dict]) -> bytes:
    """The ledger as CSV: UTF-8 with BOM (so Excel reads the Chinese), CRLF line ends,
    one header row of Chinese column names, then one line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(_HEADERS)
    writer.writerows([_csv_cell(key, row.get(key)) for key in _KEYS] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


# --------------------------------------------------------------------------------- XLSX


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _sheet_title(title: str) -> str:
    cleaned = re.sub(r"[\[\]:*?/\\]", "", title).strip("'") or "台账"
    return cleaned[:31]


def ledger_xlsx(rows: Iterable[dict], *, title: str = "重点关爱服务对象信息台账") -> bytes:
    """The ledger as an Excel workbook: one sheet named after ``title``, a bold frozen header
    row with an auto-filter, column widths fitted to the content, dates as real dates, and
    phone numbers / codes as text cells."""
    values = [[_normalise(key, row.get(key)) for key in _KEYS] for row in rows]

    # Column widths from the header and the content (display width: CJK counts double).
    widths = [_display_width(header) for header in _HEADERS]
    for record in values:
        for i, value in enumerate(record):
            if value is None:
                continue
            if isinstance(value, datetime):
                w = 16
            elif isinstance(value, date):
                w = 10
            elif isinstance(value, str):
                w = _display_width(value)
            else:
                w = len(str(value))
            widths[i] = max(widths[i], w)

    workbook = Workbook(write_only=True)
    workbook.properties.title = title
    workbook.properties.creator = "童伴 Tongban"
    sheet = workbook.create_sheet(_sheet_title(title))
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 6), 60)
    sheet.freeze_panes = "A2"
    last_col = get_column_letter(len(_KEYS))
    sheet.auto_filter.ref = f"A1:{last_col}{len(values) + 1}"
    sheet.print_title_rows = "1:1"

    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    header_align = Alignment(horizontal="center", vertical="center", wrap_text=True)
    header_row = []
    for header in _HEADERS:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = header_font
        cell.fill = header_fill
        cell.alignment = header_align
        header_row.append(cell)
    sheet.append(header_row)

    text_keys = [key in TEXT_COLUMNS for key in _KEYS]
    for record in values:
        out = []
        for i, value in enumerate(record):
            if value is None:
                out.append(None)
                continue
            if isinstance(value, str):
                value = _XML_INVALID.sub("", value)
                dangerous = _is_dangerous(value)
                if not dangerous and not text_keys[i]:
                    out.append(value)  # openpyxl stores it as a plain string
                    continue
                cell = WriteOnlyCell(sheet)
                cell.value = value
                # openpyxl treats any string starting with "=" as a formula; force text.
                cell.data_type = "s"
                if text_keys[i]:
                    cell.number_format = "@"
                if dangerous:
                    cell.quotePrefix = True  # Excel keeps it text even after an edit
                out.append(cell)
            elif isinstance(value, datetime):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = _DATETIME_FORMAT
                out.append(cell)
            elif isinstance(value, date):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = _DATE_FORMAT
                out.append(cell)
            else:
                out.append(value)
        sheet.append(out)

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
