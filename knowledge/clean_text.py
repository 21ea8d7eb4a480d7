"""Normalised Simplified-Chinese text from a notice: HTML → text (``knowledge/readers/html.py``),
pinyin annotations dropped (``網(wǎng)``), Traditional → Simplified (OpenCC t2s), whitespace and
full-width forms normalised, site boilerplate (editor lines, print/share links, copyright) dropped.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

from knowledge.readers.html import html_to_text, looks_like_html


# ---------------------------------------------------------------- pinyin annotations

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PINYIN_GROUP_RE = re.compile(
    rf"(?<=[{_CJK}])\s?[(（]\s*([A-Za-z\u00c0-\u024f\u1e00-\u1eff\u0300-\u036f1-5' \-]{{1,40}}?)\s*[)）]")
_TONE_MARKS = frozenset("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ")
_UNTONE = str.maketrans("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ", "aaaaeeeeiiiioooouuuuvvvvvnnnm")  # ü → v
_FINALS = ("a o e ai ei ao ou an en ang eng ong er i ia ie iao iu ian in iang ing iong u ua uo uai ui uan un "
           "uang ueng ue ve vn v").split()
_SYLLABLES = frozenset(initial + final for final in _FINALS for initial in (
    "", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "zh", "ch", "sh", "r", "z", "c", "s",
    "y", "w")) | {"hng", "ng", "hm", "m", "n"}


def _is_pinyin(group: str) -> bool:
    """Tone-marked (or tone-numbered) syllables only: 'wǎng', 'guān yú', 'bao3'; not '(English)'."""
    s = unicodedata.normalize("NFC", group).strip().lower()
    if _TONE_MARKS.isdisjoint(s) and not re.search(r"[a-zü][1-5]", s):
        return False
    words = [w for w in re.split(r"[\s'\-]+", s) if w]
    return 0 < len(words) <= 8 and all(_is_syllable_run(w.translate(_UNTONE)) for w in words)


def _is_syllable_run(word: str) -> bool:
    """Word is one or more syllables, each optionally followed by a tone digit (linear-time check)."""
    pieces = re.split(r"[1-5]", word)  # a digit must close a syllable: no empty piece before one
    if any(not piece for piece in pieces[:-1]):
        return False
    for piece in filter(None, pieces):
        reach = [True] + [False] * len(piece)
        for end in range(1, len(piece) + 1):  # syllables are at most 6 letters (zhuang)
            starts = range(max(0, end - 6), end)
            reach[end] = any(reach[start] and piece[start:end] in _SYLLABLES for start in starts)
        if not reach[-1]:
            return False
    return True


def _strip_pinyin(text: str) -> str:
    return _PINYIN_GROUP_RE.sub(lambda m: "" if _is_pinyin(m.group(1)) else m.group(0), text)


# ---------------------------------------------------------------- clean_text

_FULLWIDTH = {cp: cp - 0xFEE0 for lo, hi in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
              for cp in range(lo, hi + 1)} | {0x3000: 0x20}
_ZERO_WIDTH_RE = re.compile("[\u200b-\u200d\u2060\ufeff]")
_SPACES_RE = re.compile(r"[ \t\f\v\xa0\u2000-\u200a\u202f\u205f]+")
_WIDE = _CJK + "\u3000-\u303f\uff00-\uffef\u2018-\u201d\u2026"
_CJK_GAP_RE = re.compile(rf"(?<=[{_WIDE}]) (?=[{_WIDE}])")
_BOILERPLATE_LABEL_RE = re.compile(
    r"^[【\[]?(?:责任编辑|编辑|来源|信息来源|文章来源|作者|校对|审核|审校|发布时间|发布日期|浏览次数|点击数|阅读次数)\s*[:：]")
_BOILERPLATE_ANY_RE = re.compile(
    r"字号\s*[:：]?\s*[\[【(（]?\s*大\s*中\s*小|打印本页|关闭窗口|分享到|版权所有|copyright|©|icp备|公网安备"
    r"|网站地图|联系我们|扫一扫|相关链接|当前位置|您现在的位置|您的位置|返回顶部|上一篇|下一篇|网站标识码"
    r"|[【\[]\s*(?:打\s*印|关\s*闭|收\s*藏|返\s*回)\s*[】\]]", re.I)


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _is_boilerplate(line: str) -> bool:
    """Site chrome: editor/source lines, print/close/share links, copyright and ICP lines."""
    return len(line) <= 120 and bool(_BOILERPLATE_LABEL_RE.match(line) or _BOILERPLATE_ANY_RE.search(line))


def clean_text(raw: str, *, html: bool | None = None) -> str:
    """Normalised Simplified-Chinese text, one paragraph per line (``html=None`` sniffs for tags)."""
    is_html = looks_like_html(raw) if html is None else html
    text = html_to_text(raw) if is_html else raw
    text = _converter().convert(_strip_pinyin(text))  # strip first so 關(guān)於 converts as 關於
    text = _ZERO_WIDTH_RE.sub("", text).translate(_FULLWIDTH)
    lines = []
    for line in re.split(r"\r\n|\r|\n", text):
        line = _SPACES_RE.sub(" ", line).strip()
        if line and not _is_boilerplate(line):
            lines.append(_CJK_GAP_RE.sub("", line))
    return "\n".join(lines)
