"""Readers: a published document's file turned into text, one module a format.

``text.py`` reads a text file (UTF-8 or GB18030, plain or HTML), ``html.py`` takes the visible text
out of a web page. The text they give goes through ``knowledge.clean_text`` and the outline
splitting of ``knowledge.ingest``.
"""
