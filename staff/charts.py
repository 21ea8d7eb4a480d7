"""Server-rendered SVG charts for the staff pages: no JavaScript, no CDN.

Both functions return an inline ``<svg>`` string, ready to drop into a Jinja2 template with
``|safe``. Every piece of text that comes from the caller (title, labels) is XML-escaped
here, because labels can carry user-influenced text (community names, free-text
categories). The charts are accessible: ``role="img"``, an ``aria-label``, a ``<title>``
and a ``<desc>`` that lists the data, so a screen reader gets the numbers too.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Sequence

__all__ = ["EMPTY_TEXT", "bar_chart_svg", "column_chart_svg"]

EMPTY_TEXT = "暂无数据"

_FONT = ("'Noto Sans CJK SC','Source Han Sans SC','WenQuanYi Micro Hei','PingFang SC',"
         "'Microsoft YaHei',sans-serif")
_BAR = "#2f6f9f"
_BAR_TEXT_IN = "#ffffff"
_TEXT = "#1f2933"
_MUTED = "#616e7c"
_GRID = "#d9dee3"
_AXIS = "#9aa5b1"
_TITLE_SIZE = 15
_LABEL_SIZE = 12

# Characters XML 1.0 does not allow, even escaped (C0 controls other than tab/LF/CR, etc.).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _esc(text: object) -> str:
    """Escape for both XML text and attribute values; drop characters XML forbids."""
    return html.escape(_XML_INVALID.sub("", str(text)), quote=True)


def _text_width(text: str, size: float) -> float:
    """Rough rendered width: CJK/full-width characters are ~1 em, others ~0.6 em."""
    width = 0.0
    for ch in text:
        width += size if unicodedata.east_asian_width(ch) in ("W", "F") else size * 0.6
    return width


def _truncate(text: str, size: float, max_width: float) -> str:
    if _text_width(text, size) <= max_width:
        return text
    ellipsis_w = _text_width("…", size)
    out = []
    width = 0.0
    for ch in text:
        w = _text_width(ch, size)
        if width + w + ellipsis_w > max_width:
            break
        out.append(ch)
        width += w
    return "".join(out) + "…"


def _nice_ticks(max_value: int, target: int = 5) -> list[int]:
    """Integer gridline values from 0 to >= max_value, at a 1/2/5 x 10^n step (step >= 1)."""
    top = max(int(max_value), 1)
    raw = top / target
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = magnitude
    for factor in (1, 2, 5, 10):
        step = max(1, int(factor * magnitude))
        if step >= raw:
            break
    count = math.ceil(top / step)
    return [i * step for i in range(count + 1)]


def _fmt(value: int) -> str:
    return f"{value:,}" if abs(value) >= 10000 else str(value)


def _clean(data: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    cleaned = []
    for label, value in data:
        try:
            number = int(value) if value is not None else 0
        except (TypeError, ValueError):
            number = 0
        cleaned.append((str(label), number))
    return cleaned


def _open_svg(title: str, width: int, height: int, data: list[tuple[str, int]]) -> list[str]:
    summary = "；".join(f"{label}：{value}" for label, value in data) if data else EMPTY_TEXT
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{_esc(title)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'style="max-width:100%;height:auto" font-family="{_esc(_FONT)}">',
        f"<title>{_esc(title)}</title>",
        f"<desc>{_esc(summary)}</desc>",
        f'<text x="0" y="{_TITLE_SIZE + 3}" font-size="{_TITLE_SIZE}" font-weight="bold" '
        f'fill="{_TEXT}">{_esc(title)}</text>',
    ]


def _empty_svg(title: str, width: int, height: int) -> str:
    parts = _open_svg(title, width, height, [])
    parts.append(
        f'<text x="{width / 2:.1f}" y="{(height + _TITLE_SIZE) / 2:.1f}" font-size="14" '
        f'fill="{_MUTED}" text-anchor="middle" dominant-baseline="middle">{EMPTY_TEXT}</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


def bar_chart_svg(title: str, data: list[tuple[str, int]], *, width: int = 560,
                  bar_height: int = 22) -> str:
    """Horizontal bars, one per ``(label, value)``, label on the left and value on the bar.

    Values are counts (ints); negatives are drawn as zero-length bars but printed as given.
    """
    data = _clean(data)
    top = _TITLE_SIZE + 16
    axis_h = 18
    if not data:
        return _empty_svg(title, width, top + 60)

    gap = max(4, bar_height // 3)
    label_w = min(max(_text_width(label, _LABEL_SIZE) for label, _ in data) + 8, width * 0.38)
    label_w = max(label_w, 40)
    value_room = _text_width(_fmt(max(v for _, v in data)), _LABEL_SIZE) + 8
    plot_x = label_w + 4
    plot_w = max(width - plot_x - value_room, 40)
    ticks = _nice_ticks(max(v for _, v in data))
    scale = plot_w / ticks[-1]
    plot_h = len(data) * (bar_height + gap) - gap
    height = top + plot_h + axis_h + 6

    parts = _open_svg(title, width, height, data)
    # Gridlines with integer labels under the plot.
    for tick in ticks:
        x = plot_x + tick * scale
        parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{top + plot_h + 2}" '
                     f'stroke="{_GRID if tick else _AXIS}" stroke-width="1"/>')
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + axis_h}" font-size="11" '
                     f'fill="{_MUTED}" text-anchor="middle">{_fmt(tick)}</text>')
    for i, (label, value) in enumerate(data):
        y = top + i * (bar_height + gap)
        bar_w = max(value, 0) * scale
        mid = y + bar_height / 2
        shown = _truncate(label, _LABEL_SIZE, label_w - 8)
        value_text = _fmt(value)
        parts.append("<g>")
        parts.append(f"<title>{_esc(label)}：{value_text}</title>")
        parts.append(f'<text x="{label_w:.1f}" y="{mid:.1f}" font-size="{_LABEL_SIZE}" '
                     f'fill="{_TEXT}" text-anchor="end" dominant-baseline="middle">'
                     f"{_esc(shown)}</text>")
        parts.append(f'<rect x="{plot_x:.1f}" y="{y}" width="{bar_w:.1f}" '
                     f'height="{bar_height}" fill="{_BAR}" rx="2"/>')
        text_w = _text_width(value_text, _LABEL_SIZE)
        if bar_w >= text_w + 10:  # value inside the bar's end
            parts.append(f'<text x="{plot_x + bar_w - 5:.1f}" y="{mid:.1f}" '
                         f'font-size="{_LABEL_SIZE}" fill="{_BAR_TEXT_IN}" text-anchor="end" '
                         f'dominant-baseline="middle">{value_text}</text>')
        else:  # short bar: value just after it
            parts.append(f'<text x="{plot_x + bar_w + 4:.1f}" y="{mid:.1f}" '
                         f'font-size="{_LABEL_SIZE}" fill="{_TEXT}" '
                         f'dominant-baseline="middle">{value_text}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def column_chart_svg(title: str, data: list[tuple[str, int]], *, width: int = 560,
                     height: int = 240) -> str:
    """Vertical columns, e.g. counts by month with labels like ``2026-07``.

    The value is printed above each column; when columns get too narrow for every label,
    only every n-th category label is shown (each column still has a tooltip title).
    """
    data = _clean(data)
    if not data:
        return _empty_svg(title, width, height)

    top = _TITLE_SIZE + 22  # room for the title and the value above the tallest column
    bottom = 22
    ticks = _nice_ticks(max(v for _, v in data))
    axis_w = _text_width(_fmt(ticks[-1]), 11) + 8
    plot_x = axis_w
    plot_w = max(width - plot_x - 4, 40)
    plot_h = max(height - top - bottom, 40)
    base_y = top + plot_h
    slot = plot_w / len(data)
    col_w = max(min(slot * 0.7, 48), 1)
    scale = plot_h / ticks[-1]
    widest_label = max(_text_width(label, 11) for label, _ in data)
    label_every = max(1, math.ceil((widest_label + 6) / slot))
    show_values = _text_width(_fmt(max(v for _, v in data)), 11) <= slot + 2

    parts = _open_svg(title, width, height, data)
    for tick in ticks:
        y = base_y - tick * scale
        parts.append(f'<line x1="{plot_x:.1f}" y1="{y:.1f}" x2="{plot_x + plot_w:.1f}" '
                     f'y2="{y:.1f}" stroke="{_GRID if tick else _AXIS}" stroke-width="1"/>')
        parts.append(f'<text x="{plot_x - 4:.1f}" y="{y:.1f}" font-size="11" fill="{_MUTED}" '
                     f'text-anchor="end" dominant-baseline="middle">{_fmt(tick)}</text>')
    for i, (label, value) in enumerate(data):
        cx = plot_x + slot * (i + 0.5)
        col_h = max(value, 0) * scale
        value_text = _fmt(value)
        parts.append("<g>")
        parts.append(f"<title>{_esc(label)}：{value_text}</title>")
        parts.append(f'<rect x="{cx - col_w / 2:.1f}" y="{base_y - col_h:.1f}" '
                     f'width="{col_w:.1f}" height="{col_h:.1f}" fill="{_BAR}" rx="2"/>')
        if show_values:
            parts.append(f'<text x="{cx:.1f}" y="{base_y - col_h - 4:.1f}" font-size="11" '
                         f'fill="{_TEXT}" text-anchor="middle">{value_text}</text>')
        if i % label_every == 0:
            shown = _truncate(label, 11, slot * label_every - 4)
            parts.append(f'<text x="{cx:.1f}" y="{base_y + 15:.1f}" font-size="11" '
                         f'fill="{_MUTED}" text-anchor="middle">{_esc(shown)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)
