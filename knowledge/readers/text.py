"""A text file (a notice saved as plain text or as a web page) read for ingestion."""

from __future__ import annotations

import os
import re
from pathlib import Path

from knowledge.errors import IngestError
from knowledge.readers.html import looks_like_html

HTML_SUFFIXES = frozenset({".html", ".htm", ".shtml", ".xhtml"})
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def decode_text(data: bytes, name: str = "") -> str:
    """The text in ``data``: UTF-8 (with or without BOM), else GB18030. Bytes that decode mostly to
    control characters (a binary file) are refused."""
    for encoding in ("utf-8", "gb18030"):  # utf-8-sig is covered: a BOM decodes to U+FEFF, dropped here
        try:
            text = data.decode(encoding).removeprefix("\ufeff")
            break
        except UnicodeDecodeError:
            continue
    else:
        raise IngestError("无法识别文件的文字编码，请另存为 UTF-8 或 GB18030 后重新上传。", detail=name)
    sample = text[:20000]
    if sample and len(_CONTROL_RE.findall(sample)) > max(8, len(sample) // 100):
        raise IngestError("无法识别的文件格式（不是文字文件）。目前可以读取：网页（.html）、Word 文档（.docx）、"
                          "Excel 表格（.xlsx）、文字版 PDF 和纯文本（.txt）。", detail=name)
    return text


def read_document(path: str | os.PathLike[str]) -> tuple[str, bool]:
    """(text, is_html) of a file: UTF-8 (with or without BOM) or GB18030; HTML by extension or tags."""
    file = Path(path)
    text = decode_text(file.read_bytes(), file.name)
    is_html = file.suffix.lower() in HTML_SUFFIXES or looks_like_html(text)
    return text, is_html
