"""A ``.docx`` read with python-docx: paragraphs and tables in body order (content controls
opened), Word's automatic numbering rendered from the numbering definitions (一、 （一） 1. ①…),
tables laid out from the XML itself — ``gridBefore``, ``gridSpan`` and ``vMerge`` — because
python-docx hands back the same merged cell object once per grid position it covers."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from knowledge.errors import IngestError
from knowledge.readers.document import ReadDocument
from knowledge.readers.grid import MAX_TABLE_ROWS, Cell, Grid, build_grid
from knowledge.readers.tables import Assembler

_DIGITS = "零一二三四五六七八九"
_TIANGAN = "甲乙丙丁戊己庚辛壬癸"
_DIZHI = "子丑寅卯辰巳午未申酉戌亥"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_LEGAL = "零壹贰叁肆伍陆柒捌玖"


def _chinese(n: int, digits: str = _DIGITS, ten: str = "十") -> str:
    if not 0 < n < 100:
        return str(n)
    tens, units = divmod(n, 10)
    if tens == 0:
        return digits[units]
    return (digits[tens] if tens > 1 else "") + ten + (digits[units] if units else "")


def _roman(n: int) -> str:
    out = ""
    for value, letters in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"),
                           (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        count, n = divmod(n, value)
        out += letters * count
    return out


def _letters(n: int) -> str:
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1) if n > 0 else str(n)


def format_number(n: int, fmt: str) -> str:
    """``n`` in a Word ``numFmt``; unknown formats as decimal digits."""
    if fmt in ("chineseCounting", "chineseCountingThousand", "taiwaneseCounting", "japaneseCounting",
               "ideographDigital", "taiwaneseCountingThousand"):
        return _chinese(n)
    if fmt == "chineseLegalSimplified":
        return _chinese(n, _LEGAL, "拾")
    if fmt in ("ideographTraditional", "ideographZodiac"):
        cycle = _TIANGAN if fmt == "ideographTraditional" else _DIZHI
        return cycle[(n - 1) % len(cycle)] if n > 0 else str(n)
    if fmt in ("decimalEnclosedCircle", "decimalEnclosedCircleChinese") and 0 < n <= len(_CIRCLED):
        return _CIRCLED[n - 1]
    if fmt in ("lowerLetter", "upperLetter"):
        return _letters(n).upper() if fmt == "upperLetter" else _letters(n)
    if fmt in ("lowerRoman", "upperRoman"):
        return _roman(n).upper() if fmt == "upperRoman" else _roman(n)
    if fmt == "decimalZero":
        return f"{n:02d}"
    if fmt == "decimalFullWidth":
        return str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    if fmt == "decimalEnclosedParen":
        return f"({n})"
    return str(n)


class _Numbering:
    """Labels of automatically numbered paragraphs, counted in document order."""

    def __init__(self, document: Any) -> None:
        from docx.oxml.ns import qn

        self._qn = qn
        self._levels: dict[str, dict[int, tuple[str, str, int]]] = {}   # abstractNumId → ilvl → (fmt, text, start)
        self._nums: dict[str, tuple[str, dict[int, int]]] = {}          # numId → (abstractNumId, start overrides)
        self._counters: dict[str, list[int | None]] = {}
        self._styles: dict[str, tuple[tuple[str | None, str | None], str | None]] = {}
        self._default_style = ""
        part = document.part
        root = None
        for rel in part.rels.values():  # read the numbering part if there is one; never add one
            if rel.reltype.endswith("/numbering") and not rel.is_external:
                root = rel.target_part.element
        if root is None:
            return
        self._read_styles(document)
        for abstract in root.findall(qn("w:abstractNum")):
            levels = {}
            for lvl in abstract.findall(qn("w:lvl")):
                levels[int(lvl.get(qn("w:ilvl"), "0"))] = (self._val(lvl, "w:numFmt") or "decimal",
                                                           self._val(lvl, "w:lvlText") or "",
                                                           int(self._val(lvl, "w:start") or 1))
            self._levels[abstract.get(qn("w:abstractNumId"), "")] = levels
        for num in root.findall(qn("w:num")):
            overrides = {int(o.get(qn("w:ilvl"), "0")): int(self._val(o, "w:startOverride") or 1)
                         for o in num.findall(qn("w:lvlOverride")) if self._val(o, "w:startOverride")}
            self._nums[num.get(qn("w:numId"), "")] = (self._val(num, "w:abstractNumId") or "", overrides)

    def _val(self, element: Any, tag: str) -> str | None:
        child = element.find(self._qn(tag))
        return None if child is None else child.get(self._qn("w:val"))

    def _read_styles(self, document: Any) -> None:
        """Each paragraph style's own numbering and base, read once (python-docx looks a style up
        by searching every style each time)."""
        qn = self._qn
        for style in document.styles.element.findall(qn("w:style")):
            if style.get(qn("w:type"), "paragraph") != "paragraph":
                continue
            style_id = style.get(qn("w:styleId"), "")
            pPr = style.find(qn("w:pPr"))
            numPr = None if pPr is None else pPr.find(qn("w:numPr"))
            own = (None, None) if numPr is None else (self._val(numPr, "w:numId"), self._val(numPr, "w:ilvl"))
            self._styles[style_id] = (own, self._val(style, "w:basedOn"))
            if style.get(qn("w:default")) in ("1", "true"):
                self._default_style = style_id

    def _num_pr(self, paragraph: Any) -> tuple[str, int] | None:
        """(numId, level) of a paragraph, from its own properties or its style's (and their bases)."""
        pPr = paragraph._p.pPr
        numPr = None if pPr is None else pPr.find(self._qn("w:numPr"))
        num_id, level = (None, None) if numPr is None else (self._val(numPr, "w:numId"), self._val(numPr, "w:ilvl"))
        style_id, depth = paragraph._p.style or self._default_style, 0
        while (num_id is None or level is None) and style_id in self._styles and depth < 10:
            (style_num, style_level), style_id = self._styles[style_id]
            num_id = num_id if num_id is not None else style_num
            level = level if level is not None else style_level
            depth += 1
        if not num_id or num_id == "0":
            return None
        return num_id, int(level or 0)

    def label(self, paragraph: Any) -> str:
        """The number Word shows before ``paragraph`` ('' for none or a bullet); counts it."""
        if not self._nums:
            return ""
        found = self._num_pr(paragraph)
        if found is None or found[0] not in self._nums:
            return ""
        num_id, level = found
        abstract_id, overrides = self._nums[num_id]
        levels = self._levels.get(abstract_id, {})
        if level not in levels or not 0 <= level < 9:
            return ""
        counters = self._counters.setdefault(num_id, [None] * 9)
        fmt, text, start = levels[level]
        start = overrides.get(level, start)
        counters[level] = start if counters[level] is None else counters[level] + 1  # type: ignore[operator]
        for deeper in range(level + 1, 9):
            counters[deeper] = None
        if fmt == "bullet":
            return ""
        for index in range(9):
            placeholder = f"%{index + 1}"
            if placeholder in text:
                lvl_fmt, _, lvl_start = levels.get(index, ("decimal", "", 1))
                value = counters[index] if counters[index] is not None else overrides.get(index, lvl_start)
                text = text.replace(placeholder, format_number(value, lvl_fmt))  # type: ignore[arg-type]
        return text


def _blocks(document: Any) -> Iterator[Any]:
    """The body's paragraphs and tables in order, content controls (``w:sdt``) opened."""
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    def walk(element: Any) -> Iterator[Any]:
        for child in element.iterchildren():
            if child.tag == qn("w:p"):
                yield Paragraph(child, document)
            elif child.tag == qn("w:tbl"):
                yield Table(child, document)
            elif child.tag == qn("w:sdt"):
                content = child.find(qn("w:sdtContent"))
                if content is not None:
                    yield from walk(content)

    yield from walk(document.element.body)


def _grid(table: Any, document: Any, numbering: _Numbering) -> Grid:
    """The table's grid from its rows: a cell's columns from ``gridBefore`` and the ``gridSpan``s
    before it, its rows from the ``vMerge="continue"`` cells under it."""
    from docx.oxml.ns import qn
    from docx.text.paragraph import Paragraph

    rows = table._tbl.tr_lst
    if len(rows) > MAX_TABLE_ROWS:
        build_grid([Cell(len(rows) - 1, 0, "")])  # raises: too many rows
    layout: list[dict[int, Any]] = []
    for tr in rows:
        offset, placed = max(0, tr.grid_before), {}
        for tc in tr.tc_lst:
            placed[offset] = tc
            offset += max(1, tc.grid_span)
        layout.append(placed)
    cells = []
    for r, placed in enumerate(layout):
        for offset, tc in placed.items():
            if tc.vMerge == "continue":
                continue
            rowspan = 1
            while r + rowspan < len(layout):
                below = layout[r + rowspan].get(offset)
                if below is None or below.vMerge != "continue":
                    break
                rowspan += 1
            text = "\n".join(numbering.label(p) + p.text for p in (Paragraph(e, document) for e in tc.iter(qn("w:p"))))
            cells.append(Cell(r, offset, text, rowspan, max(1, tc.grid_span)))
    return build_grid(cells, rows=len(layout))


def _title(document: Any, paragraphs: list[Any]) -> str:
    """The core title, else the first Title/Heading paragraph, else a short centred first paragraph."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    title = (document.core_properties.title or "").strip()
    if title:
        return title
    for paragraph in paragraphs:
        style = paragraph.style.name if paragraph.style is not None else ""
        if paragraph.text.strip() and style.lower().startswith(("title", "heading 1", "标题")):
            return paragraph.text.strip()
    first = next((p for p in paragraphs if p.text.strip()), None)
    if first is not None and len(first.text.strip()) <= 60:
        alignment = first.paragraph_format.alignment
        if alignment is None and first.style is not None:
            alignment = first.style.paragraph_format.alignment
        if alignment == WD_ALIGN_PARAGRAPH.CENTER:
            return first.text.strip()
    return ""


def read_docx(data: bytes, name: str) -> ReadDocument:
    """The Word document in ``data`` (already checked by ``sniff.open_zip``)."""
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many kinds for a damaged package
        raise IngestError("Word 文件已损坏或格式不标准，无法读取。请用 Word 或 WPS 打开后另存为 .docx 再上传。",
                          detail=name) from exc
    numbering = _Numbering(document)
    assembler = Assembler()
    paragraphs = []
    for block in _blocks(document):
        if isinstance(block, Table):
            assembler.table(_grid(block, document, numbering))
        else:
            paragraphs.append(block)
            assembler.paragraph(numbering.label(block) + block.text)
    return assembler.finish("docx", _title(document, paragraphs[:5]))
