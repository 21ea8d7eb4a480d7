"""The grid every table becomes: cells (each where it starts, with its row and column spans)
expanded into a rectangle whose every position holds the text of the cell covering it; and the
whitespace rules for cell text. Tables are bounded here (``MAX_TABLE_ROWS`` × ``MAX_TABLE_COLS``)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from knowledge.errors import IngestError

MAX_TABLE_ROWS = 5000
MAX_TABLE_COLS = 60

_CJK = "\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3200-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
_CJK_RE = re.compile(f"[{_CJK}]")
_CJK_GAP_RE = re.compile(f"(?<=[{_CJK}]) +(?=[{_CJK}])")
_SPACES_RE = re.compile(r"[ \t\xa0\u3000\u2002-\u200b\ufeff]+")
ENUM_RE = re.compile(r"^(?:\d{1,2}[.、．)）]|[（(][\d一二三四五六七八九十]{1,3}[）)]|[①-⑳]|[一二三四五六七八九十]{1,3}[、.．])")
_ENDS_JOINED = frozenset("。；;，,、：:！!？?（(")
_STARTS_JOINED = frozenset("，。；、：,;:)）")


# ---------------------------------------------------------------- cell text

def normalise_cell(text: str) -> str:
    """Whitespace-normalised cell text: each line stripped, runs of spaces made one, empty lines
    dropped; the line breaks the author made are kept (``join_text`` decides how to join them)."""
    lines = (_SPACES_RE.sub(" ", line).strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return "\n".join(line for line in lines if line)


def squeeze_cjk(text: str) -> str:
    """Spaces between two Chinese characters dropped (a PDF's justified text leaves them)."""
    return _CJK_GAP_RE.sub("", text)


def is_cjk(char: str) -> bool:
    return bool(_CJK_RE.match(char))


def join_text(text: str, role: str = "") -> str:
    """A cell's lines made one line: Chinese joined without a space, Latin text with one; lines of
    a departments cell are separate departments (、), of a channel cell separate ways (；); a line
    starting a new enumerated point after one without end punctuation gets ；."""
    lines = text.split("\n")
    out = lines[0]
    for line in lines[1:]:
        if not out:
            out = line
            continue
        prev = out[-1]
        if prev in _ENDS_JOINED or line[0] in _STARTS_JOINED:
            sep = ""
        elif role == "departments":
            sep = "、"
        elif role == "channel" or ENUM_RE.match(line):
            sep = "；"
        elif is_cjk(prev) or is_cjk(line[0]):
            sep = ""
        else:
            sep = " "
        out += sep + line
    return out


# ---------------------------------------------------------------- the grid

@dataclass(frozen=True)
class Cell:
    """A cell where it starts, with the rows and columns it spans."""

    row: int
    col: int
    text: str
    rowspan: int = 1
    colspan: int = 1


@dataclass(frozen=True)
class Slot:
    """One position of the grid: the text of the cell covering it, which cell (``origin``, -1 for
    none) and whether this is the cell's first row (``top``) and first column (``left``)."""

    text: str
    origin: int
    top: bool = True
    left: bool = True


EMPTY = Slot("", -1)
Grid = list[list[Slot]]


def _too_big(rows: int, cols: int) -> IngestError:
    return IngestError(f"表格过大（{rows} 行、{cols} 列；最多 {MAX_TABLE_ROWS} 行、{MAX_TABLE_COLS} 列），"
                       "请把清单拆成几个较小的文件后上传。")


def flow_cells(rows: Sequence[Sequence[tuple[str, int, int]]]) -> list[Cell]:
    """Cells given row by row, each ``(text, rowspan, colspan)``, placed as HTML does: in the first
    column of its row not already taken by a cell spanning down from above. A rowspan of 0 (or one
    past the last row) reaches the last row."""
    if len(rows) > MAX_TABLE_ROWS:
        raise _too_big(len(rows), 0)
    taken: set[tuple[int, int]] = set()
    cells: list[Cell] = []
    for r, row in enumerate(rows):
        c = 0
        for text, rowspan, colspan in row:
            while (r, c) in taken:
                c += 1
            if c >= MAX_TABLE_COLS:
                raise _too_big(len(rows), c + 1)
            rowspan = len(rows) - r if rowspan <= 0 else min(rowspan, len(rows) - r)
            colspan = max(1, min(colspan, MAX_TABLE_COLS - c))
            cells.append(Cell(r, c, text, rowspan, colspan))
            taken.update((r + dr, c + dc) for dr in range(rowspan) for dc in range(colspan))
            c += colspan
    return cells


def build_grid(cells: Iterable[Cell], rows: int | None = None) -> Grid:
    """The rectangular grid the cells cover (``rows`` rows at least): every position holds the
    text of the cell spanning it. Overlapping cells (a broken file): the first one keeps the place."""
    cells = list(cells)
    nrows = max([rows or 0] + [c.row + c.rowspan for c in cells])
    ncols = max([0] + [c.col + c.colspan for c in cells])
    if nrows > MAX_TABLE_ROWS or ncols > MAX_TABLE_COLS:
        raise _too_big(nrows, ncols)
    grid: Grid = [[EMPTY] * ncols for _ in range(nrows)]
    for index, cell in enumerate(cells):
        text = normalise_cell(cell.text)
        for dr in range(cell.rowspan):
            line = grid[cell.row + dr]
            for dc in range(cell.colspan):
                if line[cell.col + dc] is EMPTY:
                    line[cell.col + dc] = Slot(text, index, dr == 0, dc == 0)
    return grid
