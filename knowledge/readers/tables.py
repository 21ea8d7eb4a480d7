"""Tables of every format read the same way into checklist rows. The format readers build a grid
(``knowledge/readers/grid.py``) and hand it, with the paragraphs around it, to one
:class:`Assembler` per document, which keeps document order, finds the header
(``knowledge/readers/headers.py``), joins a table continued over pages, turns each service row into
a ``TableRow`` and returns the ``ReadDocument``. What counts as a section row, a note or a
continued row is said in ``knowledge/readers/document.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from knowledge.errors import IngestError
from knowledge.readers.document import ReadDocument, TableRow
from knowledge.readers.grid import ENUM_RE, Grid, Slot, join_text, normalise_cell
from knowledge.readers.headers import Header, find_header, printed, roles_of, row_key, span

MAX_DOCUMENT_ROWS = 20000
_NOTE_POINT_RE = re.compile(r"^(?:\d{1,2}[.、．]|[（(]\d{1,2}[）)]|[①-⑳])")
_SECTION_RE = re.compile(r"^[一二三四五六七八九十]{1,3}[、.．]")
_NOTE_RE = re.compile(r"^(?:注|备注|说明)\s*(?:[0-9０-９一二三四五六七八九十]{0,2}\s*[:：]|$)")
_NOTE_LABEL_RE = re.compile(r"^(?:注|备注|说明)\s*[:：]?$")


def _strip_enum(text: str) -> str:
    return ENUM_RE.sub("", text, count=1).strip() or text


@dataclass
class _OpenRow:
    """A service row still open to a continuation (a row split over pages, a merged item)."""

    table: _Table
    texts: dict[int, str]
    origins: dict[int, int]
    category: str
    where: str


@dataclass
class _Table:
    header: Header
    number: int
    category: str = ""
    last: _OpenRow | None = None

    @property
    def width(self) -> int:
        return len(self.header.roles)


_SINGLE = ("number", "item", "service_object")
_JOINED = ("content", "departments", "channel")


def _joined(values: list[tuple[str, str]], role: str) -> str:
    """Several columns of one role: each named when their headers differ."""
    if not values:
        return ""
    if len(values) == 1 or len({name for name, _ in values}) == 1:
        return "；".join(join_text(v, role) for _, v in values)
    return "；".join(f"{name.split('/')[-1]}：{join_text(v, role)}" for name, v in values)


def _table_row(row: _OpenRow) -> TableRow:
    header = row.table.header
    fields: dict[str, str] = {}
    multi: dict[str, list[tuple[str, str]]] = {role: [] for role in _JOINED}
    extra: list[tuple[str, str]] = []
    seen_origins: set[tuple[str, int]] = set()
    for c, (name, role) in enumerate(zip(header.names, header.roles)):
        text = row.texts.get(c, "")
        if role == "category":
            continue
        if role in _SINGLE and role not in fields:
            fields[role] = join_text(text, role)
        elif role in _JOINED:
            key = (role, row.origins.get(c, -1 - c))
            if text and key not in seen_origins and text not in [v for _, v in multi[role]]:
                multi[role].append((name, text))
            seen_origins.add(key)
        elif name or text:
            extra.append((name or f"第{c + 1}列", join_text(text)))
    return TableRow(number=fields.get("number", ""), category=join_text(row.category, "category"),
                    item=fields.get("item", ""), service_object=fields.get("service_object", ""),
                    content=_joined(multi["content"], "content"),
                    departments=_joined(multi["departments"], "departments"),
                    channel=_joined(multi["channel"], "channel"), extra=tuple(extra), where=row.where)


Where = Callable[[int, int], str]


def table_where(table: int, row: int) -> str:
    """The default location: ``表<table> 第<row>行`` (``row`` counted from 1 with the header)."""
    return f"表{table} 第{row + 1}行"


@dataclass
class Assembler:
    """A document read in order: paragraphs and tables in, a ``ReadDocument`` out."""

    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rows: list[_OpenRow] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    title_guess: str = ""
    _open: _Table | None = None     # the last checklist table, while the next one may continue it
    _tables: int = 0
    _in_note: bool = False

    def paragraph(self, text: str) -> None:
        """A paragraph of prose; 注… right after a checklist table (and the numbered lines that
        follow it) is a note."""
        line = join_text(normalise_cell(text))
        if not line:
            return
        if (self._open is not None and _NOTE_RE.match(line)) or (self._in_note and _NOTE_POINT_RE.match(line)):
            self.notes.append(line)
            self._in_note = True
        else:
            self.lines.append(line)
            self._in_note = False
        self._open = None

    def boundary(self) -> None:
        """A break no table continues across (the next sheet of a workbook)."""
        self._open, self._in_note = None, False

    def table(self, grid: Grid, where: Where = table_where) -> None:
        """A table: read as a checklist when its header is recognised (or when it continues the
        checklist table right before it), else its rows go to the text, one a line."""
        if not grid or not grid[0]:
            return
        header = find_header(grid)
        table, start = self._open, 0
        if table is not None and table.width == len(grid[0]) and (header is None or header.roles == table.header.roles):
            if header is not None:
                self._prose_rows(grid[:header.first])
                start = header.last + 1
        elif header is not None:
            self._tables += 1
            table = _Table(header, self._tables)
            if not self.rows and not self.title_guess:
                self.title_guess = _title_row(grid[:header.first])
            self._prose_rows(grid[:header.first])
            for pair in zip(header.names, header.roles):
                if pair[0] and (pair[0], pair[1] or "other") not in self.headers:
                    self.headers.append((pair[0], pair[1] or "other"))
            start = header.last + 1
        else:
            self._prose_rows(grid)
            self._open, self._in_note = None, False
            return
        for r in range(start, len(grid)):
            self._data_row(table, grid[r], where(table.number, r))
        self._open, self._in_note = table, False

    def _prose_rows(self, rows: Sequence[Sequence[Slot]]) -> None:
        for row in rows:
            parts = [s.text for c, s in enumerate(row) if s.text and s.top and s.left]
            if len(parts) == 1:
                self.lines.extend(join_text(line) for line in parts[0].split("\n"))
            elif parts:
                self.lines.append(" ".join(join_text(p) for p in parts))

    def _data_row(self, table: _Table, row: Sequence[Slot], where: str) -> None:
        header = table.header
        fresh = [c for c, s in enumerate(row) if s.text and s.top]
        if not fresh or row_key(row) in header.keys or roles_of([printed(s.text) for s in row]) == header.roles:
            return  # empty, or the header again (a table continued over pages, a long web table)
        item_col, number_col, category_col = header.column("item"), header.column("number"), header.column("category")
        assert item_col is not None
        # a value spanning the table (with at most its number beside it): a section heading or a note
        wide = {row[c].origin for c in fresh if row[c].origin == row[item_col].origin and span(row, c) >= 2}
        if wide and all(row[c].origin in wide or c == number_col for c in fresh):
            self._section(table, row[item_col].text)
            return
        first = row[fresh[0]].text
        rest = [row[c] for c in fresh[1:]]
        if _NOTE_LABEL_RE.match(first) and len({s.origin for s in rest}) <= 1:
            self.notes.append(f"{first.rstrip(':：')}：{join_text(rest[0].text)}" if rest else first)
            return
        item = row[item_col]
        if set(fresh) <= {number_col, category_col} and category_col in fresh:
            self._section(table, row[category_col].text)
            return
        if set(fresh) <= {number_col, item_col} and item.top and _SECTION_RE.match(item.text):
            self._section(table, item.text)
            return
        if not item.text or not item.top:
            if table.last is not None:  # the row above goes on (split over a page, or an item merged down)
                for c in fresh:
                    before = table.last.texts.get(c, "")
                    table.last.texts[c] = f"{before}\n{row[c].text}" if before else row[c].text
            else:
                self._prose_rows([row])
            return
        if len(self.rows) >= MAX_DOCUMENT_ROWS:
            raise IngestError(f"文件中的表格行数超过 {MAX_DOCUMENT_ROWS} 行，请拆分后上传。")
        if category_col is not None and row[category_col].text:
            table.category = row[category_col].text
        table.last = _OpenRow(table, {c: s.text for c, s in enumerate(row) if s.text},
                              {c: s.origin for c, s in enumerate(row)}, table.category, where)
        self.rows.append(table.last)

    def _section(self, table: _Table, text: str) -> None:
        text = join_text(text)
        if _NOTE_RE.match(text):
            self.notes.append(text)
        else:
            table.category = _strip_enum(text)
            table.last = None

    def finish(self, kind: str, title: str = "") -> ReadDocument:
        return ReadDocument(kind=kind, text="\n".join(self.lines), rows=tuple(_table_row(r) for r in self.rows),
                            headers=tuple(self.headers), notes=tuple(self.notes),
                            title=title.strip() or self.title_guess)


def _title_row(rows: Sequence[Sequence[Slot]]) -> str:
    """A title printed in the table above its header: the first row holding one value only."""
    for row in rows:
        values = {(s.origin, s.text) for s in row if s.text}
        if len(values) == 1:
            text = join_text(next(iter(values))[1])
            return text if len(text) <= 80 else ""
    return ""
