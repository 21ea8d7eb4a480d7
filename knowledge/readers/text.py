"""A text file (a notice saved as plain text or as a web page) read for ingestion."""

from __future__ import annotations

import os
from pathlib import Path

from knowledge.errors import IngestError
from knowledge.readers.html import looks_like_html

HTML_SUFFIXES = frozenset({".html", ".htm", ".shtml", ".xhtml"})


def read_document(path: str | os.PathLike[str]) -> tuple[str, bool]:
    """(text, is_html) of a file: UTF-8 (with or without BOM) or GB18030; HTML by extension or tags."""
    file = Path(path)
    data = file.read_bytes()
    for encoding in ("utf-8", "gb18030"):  # utf-8-sig is covered: a BOM decodes to U+FEFF, dropped here
        try:
            text = data.decode(encoding).removeprefix("\ufeff")
            break
        except UnicodeDecodeError:
            continue
    else:
        raise IngestError("无法识别文件的文字编码，请另存为 UTF-8 或 GB18030 后重新上传。", detail=file.name)
    is_html = file.suffix.lower() in HTML_SUFFIXES or looks_like_html(text)
    return text, is_html
