"""An HTML page read with its tables: every data table (one with no table inside it, at least two
rows and two columns, outside navigation/footer boxes) is cut out of the page and read as a grid
(rowspan/colspan, thead/tbody/tfoot, ``<br>`` and blocks inside a cell as line breaks); the rest of
the page keeps going through ``html_to_text`` and becomes the prose, the tables read in their
place. A page laid out in tables keeps its layout tables as text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser

from knowledge.readers.document import ReadDocument
from knowledge.readers.html import _BLOCK_TAGS, _DROP_TAGS, _VOID_TAGS, _is_chrome_box, html_to_text
from knowledge.readers.grid import build_grid, flow_cells
from knowledge.readers.tables import Assembler

_MARK = "\ue000"
_MARK_RE = re.compile(f"^{_MARK}表格(\\d+){_MARK}$")
_CELL_BREAKS = _BLOCK_TAGS - {"table", "tr", "body"}


def _span(value: str | None) -> int:
    match = re.match(r"\s*(\d{1,6})", value or "")
    return int(match.group(1)) if match else 1


@dataclass
class _Table:
    start: int                       # offset of ``<table`` in the page
    end: int = -1                    # offset just past ``</table>``
    head: list[list[tuple[str, int, int]]] = field(default_factory=list)
    body: list[list[tuple[str, int, int]]] = field(default_factory=list)
    foot: list[list[tuple[str, int, int]]] = field(default_factory=list)
    section: str = "body"
    row: list[tuple[str, int, int]] | None = None
    cell: list[str] | None = None
    cell_spans: tuple[int, int] = (1, 1)
    caption: list[str] | None = None
    captions: list[str] = field(default_factory=list)
    nested: bool = False

    def rows(self) -> list[list[tuple[str, int, int]]]:
        return self.head + self.body + self.foot

    def close_cell(self) -> None:
        if self.cell is not None:
            if self.row is None:
                self.open_row()
            assert self.row is not None
            self.row.append(("".join(self.cell), *self.cell_spans))
            self.cell = None

    def open_row(self) -> None:
        self.close_row()
        self.row = []

    def close_row(self) -> None:
        if self.cell is not None:
            self.close_cell()
        if self.row is not None:
            {"head": self.head, "foot": self.foot}.get(self.section, self.body).append(self.row)
            self.row = None


class _TableParser(HTMLParser):
    """Finds the tables of a page (their offsets and cells) and the page's title."""

    def __init__(self, raw: str) -> None:
        super().__init__(convert_charrefs=True)
        self.raw = raw
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", raw)]
        self.tables: list[_Table] = []
        self._stack: list[_Table] = []
        self._skip_tag: str | None = None
        self._skip_depth = 0
        self._heading: list[str] | None = None
        self.title = ""
        self.heading = ""
        self._in_title = False
        self._title: list[str] = []

    def _offset(self) -> int:
        line, col = self.getpos()
        return self._line_starts[line - 1] + col

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_tag == "head" and tag == "body":
            self._skip_tag = None
        if tag == "title" and self._skip_tag in (None, "head"):
            self._in_title = True
            return
        if self._skip_tag is not None:
            self._skip_depth += 1 if tag == self._skip_tag else 0
            return
        if (tag in _DROP_TAGS or _is_chrome_box(attrs)) and tag not in _VOID_TAGS:
            self._skip_tag, self._skip_depth = tag, 1
            return
        if tag in ("h1", "h2") and not self.heading and not self._stack:
            self._heading = []
        table = self._stack[-1] if self._stack else None
        if tag == "table":
            if table is not None:
                table.nested = True
            self._stack.append(_Table(self._offset()))
        elif table is None:
            return
        elif tag in ("thead", "tbody", "tfoot"):
            table.close_row()
            table.section = tag[1:]
        elif tag == "tr":
            table.open_row()
        elif tag in ("td", "th"):
            table.close_cell()
            values = dict(attrs)
            table.cell, table.cell_spans = [], (_span(values.get("rowspan")), _span(values.get("colspan")))
        elif tag == "caption":
            table.caption = []
        elif tag in _CELL_BREAKS and table.cell is not None:
            table.cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title = False
            self.title = re.sub(r"\s+", " ", "".join(self._title)).strip()
            return
        if self._skip_tag is not None:
            if tag == self._skip_tag:
                self._skip_depth -= 1
                self._skip_tag = None if self._skip_depth == 0 else self._skip_tag
            return
        if tag in ("h1", "h2") and self._heading is not None:
            self.heading = re.sub(r"\s+", " ", "".join(self._heading)).strip()
            self._heading = None
        table = self._stack[-1] if self._stack else None
        if table is None:
            return
        if tag == "table":
            self._finish(table, self.raw.find(">", self._offset()) + 1 or len(self.raw))
        elif tag in ("td", "th"):
            table.close_cell()
        elif tag == "tr":
            table.close_row()
        elif tag == "caption" and table.caption is not None:
            table.captions.append("".join(table.caption))
            table.caption = None
        elif tag in _CELL_BREAKS and table.cell is not None:
            table.cell.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title.append(data)
            return
        if self._skip_tag is not None:
            return
        if self._heading is not None:
            self._heading.append(data)
        table = self._stack[-1] if self._stack else None
        if table is not None:
            target = table.caption if table.caption is not None else table.cell
            if target is not None:
                target.append(re.sub(r"\s+", " ", data))

    def _finish(self, table: _Table, end: int) -> None:
        table.close_row()
        table.end = end
        self._stack.pop()
        self.tables.append(table)

    def close(self) -> None:
        super().close()
        while self._stack:  # tables never closed end with the page
            self._finish(self._stack[-1], len(self.raw))


def _is_data_table(table: _Table) -> bool:
    rows = table.rows()
    return not table.nested and len(rows) >= 2 and max(len(r) for r in rows) >= 2


def read_html(raw: str) -> ReadDocument:
    """The page ``raw``: its data tables read as tables, the rest of its visible text as prose."""
    parser = _TableParser(raw)
    parser.feed(raw)
    parser.close()
    tables = sorted((t for t in parser.tables if _is_data_table(t)), key=lambda t: t.start)
    pieces, cut, position = [], [], 0
    for table in tables:
        if table.start < position:  # inside a table already cut (cannot happen for leaf tables)
            continue
        captions = "".join(f"<p>{escape(c)}</p>" for c in table.captions)  # a caption is prose
        pieces += [raw[position:table.start], f"{captions}<p>{_MARK}表格{len(cut)}{_MARK}</p>"]
        cut.append(table)
        position = table.end
    pieces.append(raw[position:])
    assembler = Assembler()
    for line in html_to_text("".join(pieces)).split("\n"):
        line = line.strip()
        if (match := _MARK_RE.match(line)) is not None:
            rows = cut[int(match.group(1))].rows()
            assembler.table(build_grid(flow_cells(rows), rows=len(rows)))
        elif line:
            assembler.paragraph(line)
    return assembler.finish("html", parser.heading or parser.title)

