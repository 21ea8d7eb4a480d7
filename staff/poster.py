"""Printable QR posters for community committees (社区居委会).

A committee puts the poster up; a family scans the QR code and Telegram opens the 童伴 bot
with the committee's referral code as the deep-link payload
(``https://t.me/<bot>?start=<code>``), so the bot knows which community referred them. When the
committee has a WeChat QR code (its scene the same code, ``bot/wechat/qrcodes.py``), the poster
carries it beside the Telegram one (both 88 mm at most), labelled 微信扫码关注; a WeChat code alone
is printed large, like the Telegram one.

Two renderers share one layout (in millimetres on an A4 portrait page):
- ``poster_pdf``: one A4 page, vector text and a vector QR code. Chinese uses reportlab's
  built-in CID font ``STSong-Light`` (no font file; PDF viewers supply the glyphs).
- ``poster_png``: A4 at ``PNG_DPI`` (200 dpi, 1654 x 2339 px). Pillow needs a real font
  file with CJK glyphs: ``staff/poster_font.py`` finds one (``TONGBAN_POSTER_FONT`` overrides).

The link and the printed names are checked in ``staff/deep_link.py``.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Callable
from dataclasses import dataclass

import qrcode
from qrcode.constants import ERROR_CORRECT_Q

from staff.deep_link import check_poster_inputs
from staff.poster_font import MONO_CANDIDATES, find_poster_font

__all__ = ["PNG_DPI", "poster_pdf", "poster_png"]

PNG_DPI = 200
PAGE_W_MM, PAGE_H_MM = 210.0, 297.0
MM_PER_INCH = 25.4
POINTS_PER_MM = 72 / MM_PER_INCH

# ------------------------------------------------------------------------------ content

HEADLINE = "童伴 · 流动儿童关爱服务助手"
TAGLINE = "问上学、医保、疫苗等政策，申请帮扶"
SCAN_HINT = "用手机扫码，在 Telegram 中打开童伴"
WECHAT_SCAN_HINT = "用微信扫码，关注公众号后提问"
# Two codes side by side: a label over each and a line under it.
WECHAT_LABEL, WECHAT_CAPTION = "微信扫码关注", "关注公众号后直接发消息提问"
TELEGRAM_LABEL, TELEGRAM_CAPTION = "Telegram 扫码", "在 Telegram 中打开童伴"
CODE_LABEL = "推荐码："
NO_SCAN_HINT = "无法扫码？请在手机浏览器中打开："
NO_SCAN_HINTS = {1: NO_SCAN_HINT, 2: "Telegram 无法扫码？请在手机浏览器中打开："}  # by the number of codes
DANGER_LINE = "儿童遇到危险或正在受到伤害，请立即拨打 110 报警"
HOTLINE_LINE = "心理困扰可拨打 12355 青少年服务台"

TEAL = (15, 118, 110)
RED = (185, 28, 28)
INK = (31, 41, 51)
MUTED = (82, 96, 109)
WHITE = (255, 255, 255)
PALE_WHITE = (224, 242, 241)


# ----------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class _Rect:
    x: float
    y: float
    w: float
    h: float
    color: tuple[int, int, int]


@dataclass(frozen=True)
class _Text:
    text: str
    cx: float  # centre x, mm
    baseline: float  # mm from the top of the page
    size: float  # em size, mm
    color: tuple[int, int, int]
    bold: bool = False
    family: str = "cjk"  # "cjk" | "mono" | "latin"


@dataclass(frozen=True)
class _Code:  # a QR code to print: what it encodes, the line over it, the one under it (or none)
    data: str
    label: str
    caption: str = ""


def _codes(link: str | None, wechat_url: str | None) -> list[_Code]:
    if link and wechat_url:
        return [_Code(wechat_url, WECHAT_LABEL, WECHAT_CAPTION), _Code(link, TELEGRAM_LABEL, TELEGRAM_CAPTION)]
    return [_Code(wechat_url, WECHAT_SCAN_HINT)] if wechat_url else [_Code(link, SCAN_HINT)]


@dataclass(frozen=True)
class _QR:
    x: float
    y: float
    size: float
    matrix: list[list[bool]]


# measure(text, size_mm, family, bold) -> width in mm
Measure = Callable[[str, float, str, bool], float]


def _qr_matrix(link: str) -> list[list[bool]]:
    """QR modules, quiet zone of 4 modules included; error correction Q (~25 %) since a
    poster on a notice board gets scuffed."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=4)
    qr.add_data(link)
    qr.make(fit=True)
    return qr.get_matrix()


def _fit(measure: Measure, text: str, *, size: float, min_size: float, max_w: float,
         family: str = "cjk", bold: bool = False) -> tuple[list[str], float]:
    """Shrink the text down to min_size to fit max_w; if it still does not fit, wrap it."""
    while size > min_size and measure(text, size, family, bold) > max_w:
        size = max(min_size, size * 0.94)
    if measure(text, size, family, bold) <= max_w:
        return [text], size
    lines, current = [], ""
    for ch in text:
        if current and measure(current + ch, size, family, bold) > max_w:
            lines.append(current)
            current = ch
        else:
            current += ch
    if current:
        lines.append(current)
    return lines, size


def _split_runs(text: str, is_latin: Callable[[str], bool]) -> list[tuple[str, bool]]:
    """Split text into maximal runs of (is_latin(ch)) characters: [(piece, latin?), ...]."""
    out: list[tuple[str, bool]] = []
    for ch in text:
        latin = is_latin(ch)
        if out and out[-1][1] == latin:
            out[-1] = (out[-1][0] + ch, latin)
        else:
            out.append((ch, latin))
    return out


def _text_block(measure: Measure, y: float, *, link: str | None, committee: str, area: str,
                code: str, hint: str = NO_SCAN_HINT) -> tuple[list, float]:
    """Everything under the QR codes, flowing down from baseline y; returns (ops, end y)."""
    cx = PAGE_W_MM / 2
    max_w = PAGE_W_MM - 2 * 16
    ops: list = []
    lines, size = _fit(measure, CODE_LABEL + code, size=6, min_size=3.5, max_w=max_w,
                       family="mono", bold=True)
    for line in lines:
        ops.append(_Text(line, cx, y, size, INK, family="mono", bold=True))
        y += size * 1.3
    y += 14 - 6 * 1.3

    lines, size = _fit(measure, committee, size=8.5, min_size=5.5, max_w=max_w, bold=True)
    for line in lines:
        ops.append(_Text(line, cx, y, size, INK, bold=True))
        y += size * 1.3
    if area:
        lines, size = _fit(measure, area, size=5.5, min_size=4, max_w=max_w)
        for line in lines:
            ops.append(_Text(line, cx, y, size, MUTED))
            y += size * 1.35
    if link:  # the Telegram link, for a phone that cannot scan (a WeChat code's URL opens nothing useful)
        y += 4
        ops.append(_Text(hint, cx, y, 4.5, MUTED))
        y += 7
        lines, size = _fit(measure, link, size=5, min_size=3.5, max_w=max_w, family="latin")
        for line in lines:
            ops.append(_Text(line, cx, y, size, INK, family="latin"))
            y += size * 1.3
    return ops, y - 4


FOOTER_H = 30
QR_TOP = 70
QR_SIZES = (122, 116, 110, 104, 98, 92)  # mm, quiet zone included; largest that fits wins
PAIR_SIZES = (88, 84, 80, 76)  # two side by side, PAIR_GAP apart
PAIR_GAP = 8


def _layout(measure: Measure, *, codes: list[_Code], link: str | None, committee: str, area: str,
            code: str) -> list:
    cx = PAGE_W_MM / 2
    max_w = PAGE_W_MM - 2 * 16
    band_top = PAGE_H_MM - FOOTER_H
    ops: list = []

    # Header band: headline and what the bot does.
    ops.append(_Rect(0, 0, PAGE_W_MM, 50, TEAL))
    lines, size = _fit(measure, HEADLINE, size=11, min_size=7, max_w=max_w, bold=True)
    ops.append(_Text(lines[0], cx, 22, size, WHITE, bold=True))
    lines, size = _fit(measure, TAGLINE, size=7, min_size=5, max_w=max_w)
    ops.append(_Text(lines[0], cx, 38, size, PALE_WHITE))

    # The QR codes as large as the page allows once the text under them has its room.
    captioned = any(c.caption for c in codes)
    for qr_size in (QR_SIZES if len(codes) == 1 else PAIR_SIZES):
        block, end = _text_block(measure, QR_TOP + qr_size + (18 if captioned else 6), link=link,
                                 committee=committee, area=area, code=code, hint=NO_SCAN_HINTS[len(codes)])
        if end <= band_top - 3:
            break
    else:  # cannot happen within the input length limits
        raise ValueError("海报内容过长，无法排版。")
    step = qr_size + PAIR_GAP
    for index, printed in enumerate(codes):
        centre = cx + (index - (len(codes) - 1) / 2) * step
        lines, size = _fit(measure, printed.label, size=7, min_size=5, max_w=min(max_w, step))
        ops.append(_Text(lines[0], centre, 65, size, INK, bold=True))
        ops.append(_QR(centre - qr_size / 2, QR_TOP, qr_size, _qr_matrix(printed.data)))
        if printed.caption:
            ops.append(_Text(printed.caption, centre, QR_TOP + qr_size + 5, 4.5, MUTED))
    ops.extend(block)

    # Footer band: danger line, always at the bottom of the page.
    ops.append(_Rect(0, band_top, PAGE_W_MM, FOOTER_H, RED))
    lines, size = _fit(measure, DANGER_LINE, size=7, min_size=5, max_w=max_w, bold=True)
    ops.append(_Text(lines[0], cx, band_top + 13, size, WHITE, bold=True))
    ops.append(_Text(HOTLINE_LINE, cx, band_top + 23, 4.5, WHITE))
    return ops


# -------------------------------------------------------------------------------- PNG


def poster_png(*, link: str | None, committee_name: str, area_name: str, code: str,
               wechat_url: str | None = None) -> bytes:
    """The poster as an A4 portrait PNG at ``PNG_DPI`` (1654 x 2339 px at 200 dpi)."""
    from PIL import Image, ImageDraw, ImageFont

    link, committee, area, wechat_url = check_poster_inputs(link, committee_name, area_name, code, wechat_url)
    spec = find_poster_font()
    px_per_mm = PNG_DPI / MM_PER_INCH
    basic = ImageFont.Layout.BASIC
    mono_path = next((p for p in MONO_CANDIDATES if os.path.isfile(p)), None)

    @functools.lru_cache(maxsize=64)
    def font(size_mm: float, mono: bool, bold: bool):
        px = max(8, round(size_mm * px_per_mm))
        if mono:
            return ImageFont.truetype(mono_path, px, layout_engine=basic), 0
        if bold and spec.bold_path:
            return ImageFont.truetype(spec.bold_path, px, index=spec.bold_index,
                                      layout_engine=basic), 0
        face = ImageFont.truetype(spec.path, px, index=spec.index, layout_engine=basic)
        # No bold face: embolden with a thin stroke of the text colour.
        return face, (max(1, round(px * 0.03)) if bold else 0)

    def runs(text: str, size: float, family: str, bold: bool):
        """[(piece, font, stroke)]: the code in a monospaced font (0/O, 1/l/I distinct) when
        there is one; everything else, Latin included, in the CJK font."""
        use_mono = family == "mono" and mono_path is not None
        return [(piece, *font(size, use_mono and latin, bold))
                for piece, latin in _split_runs(text, lambda ch: ch.isascii())]

    def measure(text: str, size: float, family: str, bold: bool) -> float:
        return sum(face.getlength(piece) + 2 * stroke
                   for piece, face, stroke in runs(text, size, family, bold)) / px_per_mm

    ops = _layout(measure, codes=_codes(link, wechat_url), link=link, committee=committee, area=area,
                  code=code)
    width, height = round(PAGE_W_MM * px_per_mm), round(PAGE_H_MM * px_per_mm)
    image = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(image)
    for op in ops:
        if isinstance(op, _Rect):
            draw.rectangle([round(op.x * px_per_mm), round(op.y * px_per_mm),
                            round((op.x + op.w) * px_per_mm) - 1,
                            round((op.y + op.h) * px_per_mm) - 1], fill=op.color)
        elif isinstance(op, _Text):
            x = op.cx * px_per_mm - measure(op.text, op.size, op.family, op.bold) * px_per_mm / 2
            for piece, face, stroke in runs(op.text, op.size, op.family, op.bold):
                draw.text((x + stroke, op.baseline * px_per_mm), piece, font=face,
                          fill=op.color, anchor="ls", stroke_width=stroke, stroke_fill=op.color)
                x += face.getlength(piece) + 2 * stroke
        elif isinstance(op, _QR):
            n = len(op.matrix)
            module = max(1, int(op.size * px_per_mm) // n)  # whole pixels: crisp modules
            side = module * n
            small = Image.new("1", (n, n), 1)
            small.putdata([0 if dark else 1 for row in op.matrix for dark in row])
            qr_image = small.resize((side, side), Image.Resampling.NEAREST)
            left = round((op.x + op.size / 2) * px_per_mm - side / 2)
            top = round((op.y + op.size / 2) * px_per_mm - side / 2)
            image.paste(qr_image.convert("RGB"), (left, top))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", dpi=(PNG_DPI, PNG_DPI))
    return buffer.getvalue()


# -------------------------------------------------------------------------------- PDF

_PDF_CJK = "STSong-Light"
# Latin-1 text goes in the PDF base-14 fonts: crisp, and some viewers' STSong-Light
# substitutes lack symbols such as "·" (U+00B7).
_PDF_LATIN = {("cjk", False): "Helvetica", ("cjk", True): "Helvetica-Bold",
              ("latin", False): "Helvetica", ("latin", True): "Helvetica-Bold",
              ("mono", False): "Courier-Bold", ("mono", True): "Courier-Bold"}


def _pdf_runs(text: str, family: str, bold: bool) -> list[tuple[str, str]]:
    return [(piece, _PDF_LATIN[family, bold] if latin else _PDF_CJK)
            for piece, latin in _split_runs(text, lambda ch: ord(ch) < 0x100)]


@functools.lru_cache(maxsize=1)
def _register_cid_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont(_PDF_CJK))
    return _PDF_CJK


def poster_pdf(*, link: str | None, committee_name: str, area_name: str, code: str,
               wechat_url: str | None = None) -> bytes:
    """The poster as a one-page A4 portrait PDF with vector text and vector QR codes."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen import canvas

    link, committee, area, wechat_url = check_poster_inputs(link, committee_name, area_name, code, wechat_url)
    _register_cid_font()
    pt = POINTS_PER_MM

    def measure(text: str, size: float, family: str, bold: bool) -> float:
        return sum(stringWidth(piece, name, size * pt)
                   for piece, name in _pdf_runs(text, family, bold)) / pt

    ops = _layout(measure, codes=_codes(link, wechat_url), link=link, committee=committee, area=area,
                  code=code)
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=True, pageCompression=1)
    page.setTitle(f"童伴二维码海报 · {committee}")
    page.setAuthor("童伴 Tongban")
    page.setSubject(f"{committee} {area} 推荐码 {code}".strip())
    page_h = PAGE_H_MM * pt

    def rgb(color):
        return tuple(c / 255 for c in color)

    for op in ops:
        if isinstance(op, _Rect):
            page.setFillColorRGB(*rgb(op.color))
            page.rect(op.x * pt, page_h - (op.y + op.h) * pt, op.w * pt, op.h * pt,
                      stroke=0, fill=1)
        elif isinstance(op, _Text):
            size = op.size * pt
            pieces = _pdf_runs(op.text, op.family, op.bold)
            total = sum(stringWidth(t, f, size) for t, f in pieces)
            page.saveState()  # the text render mode is graphics state: keep it per line
            text = page.beginText()
            text.setTextOrigin(op.cx * pt - total / 2, page_h - op.baseline * pt)
            page.setFillColorRGB(*rgb(op.color))
            page.setStrokeColorRGB(*rgb(op.color))
            page.setLineWidth(size * 0.035)
            for piece, font_name in pieces:
                text.setFont(font_name, size)
                # STSong has no bold face: fill + stroke its outlines for bold text.
                text.setTextRenderMode(2 if op.bold and font_name == _PDF_CJK else 0)
                text.textOut(piece)
            page.drawText(text)
            page.restoreState()
            if op.family == "latin" and op.text.startswith(("https://", "http://")):
                page.linkURL(op.text, (op.cx * pt - total / 2, page_h - op.baseline * pt - 2,
                                       op.cx * pt + total / 2,
                                       page_h - op.baseline * pt + size), relative=0)
        elif isinstance(op, _QR):
            n = len(op.matrix)
            module = op.size * pt / n
            x0, y0 = op.x * pt, page_h - op.y * pt
            page.setFillColorRGB(1, 1, 1)  # the quiet zone stays white even on a tinted page
            page.rect(x0, y0 - n * module, n * module, n * module, stroke=0, fill=1)
            path = page.beginPath()
            for r, row in enumerate(op.matrix):
                c = 0
                while c < n:
                    if row[c]:
                        start = c
                        while c < n and row[c]:
                            c += 1
                        path.rect(x0 + start * module, y0 - (r + 1) * module,
                                  (c - start) * module, module)
                    else:
                        c += 1
            page.setFillColorRGB(0, 0, 0)
            page.drawPath(path, stroke=0, fill=1)
    page.showPage()
    page.save()
    return buffer.getvalue()
