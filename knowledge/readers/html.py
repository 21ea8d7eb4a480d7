"""HTML → visible text: block elements become line breaks; scripts, navigation, footers and share
boxes (named by tag, class or id) are skipped. ``knowledge/clean_text.py`` normalises what comes out."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_DROP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "nav", "footer", "aside",
                        "iframe", "svg", "object", "button", "select", "rt", "rp"})
_DROP_CLASSES = frozenset({"nav", "navbar", "menu", "header", "footer", "foot", "top", "breadcrumb",
                           "crumb", "crumbs", "share", "sidebar", "bdsharebuttonbox"})
_BLOCK_TAGS = frozenset({"p", "div", "br", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "h1", "h2",
                         "h3", "h4", "h5", "h6", "section", "article", "main", "header", "blockquote",
                         "pre", "hr", "center", "form", "body"})
_VOID_TAGS = frozenset({"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "wbr", "source"})
_HTML_SNIFF_RE = re.compile(r"<(?:!doctype|/?(?:html|head|body|div|p|br|span|table|tr|td|li|ul|ol|a|h[1-6]|script"
                            r"|style|meta|strong|b|font|section|article|img))\b[^>]*>", re.I)


class _TextExtractor(HTMLParser):
    """Collects visible text; block elements become line breaks, chrome is skipped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # entities are unescaped for us
        self.chunks: list[str] = []
        self._skip_tag: str | None = None
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_tag == "head" and tag == "body":  # a page that never closes <head>
            self._skip_tag = None
        if self._skip_tag is not None:
            self._skip_depth += 1 if tag == self._skip_tag else 0
            return
        if (tag in _DROP_TAGS or _is_chrome_box(attrs)) and tag not in _VOID_TAGS:
            self._skip_tag, self._skip_depth = tag, 1
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")
        elif tag in ("td", "th"):
            self.chunks.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if self._skip_tag is not None:
            if tag == self._skip_tag:
                self._skip_depth -= 1
                self._skip_tag = None if self._skip_depth == 0 else self._skip_tag
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skip_tag is None:
            self.chunks.append(re.sub(r"\s+", " ", data))  # source newlines are not line breaks


def _is_chrome_box(attrs: list[tuple[str, str | None]]) -> bool:
    """True for a navigation/footer/share box named by its class or id."""
    return any(key in ("class", "id") and value and not _DROP_CLASSES.isdisjoint(value.lower().split())
               for key, value in attrs)


def html_to_text(raw: str) -> str:
    """The visible text of an HTML page, one block a line."""
    parser = _TextExtractor()
    parser.feed(raw)
    parser.close()
    return "".join(parser.chunks)


def looks_like_html(text: str) -> bool:
    """Whether ``text`` holds HTML tags (a notice pasted or saved from a web page)."""
    return bool(_HTML_SNIFF_RE.search(text))
