"""Readers: a published document's file turned into what it holds, one module a format.

``read_upload(data, filename)`` / ``read_path(path)`` sniff the bytes and return a
``ReadDocument`` (prose, checklist table rows, headers, notes, title) for HTML, ``.docx``,
``.xlsx``, text PDFs and plain text; everything else is refused with an ``IngestError`` whose
message tells staff what to upload instead (``document.py`` describes the shape and the rules).

``text.py`` reads a text file (UTF-8 or GB18030, plain or HTML), ``html.py`` takes the visible text
out of a web page. The text they give goes through ``knowledge.clean_text`` and the outline
splitting of ``knowledge.ingest``.
"""

from knowledge.readers.document import ROLES, ReadDocument, TableRow, read_path, read_upload

__all__ = ["ROLES", "ReadDocument", "TableRow", "read_path", "read_upload"]
