"""The font the PNG poster is drawn with: a face with Chinese glyphs found on this machine.

``TONGBAN_POSTER_FONT`` overrides; else a font shipped in ``staff/fonts/``, else well-known
locations (Debian's ``fonts-noto-cjk``, ``fonts-wqy-microhei``…, macOS, Windows), else what
``fc-list :lang=zh`` knows. Each candidate is probed by drawing a few Chinese characters.
The PDF poster needs none of this (it uses reportlab's built-in CID font).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FONT_ENV", "MONO_CANDIDATES", "PosterFont", "PosterFontError", "find_poster_font"]

FONT_ENV = "TONGBAN_POSTER_FONT"

class PosterFontError(RuntimeError):
    """No font with Chinese glyphs was found for the PNG poster."""


@dataclass(frozen=True)
class PosterFont:
    path: str
    index: int = 0
    name: str = ""
    bold_path: str | None = None
    bold_index: int = 0


_FONT_DIR = Path(__file__).with_name("fonts")

# (regular, bold) in order of preference; for a .ttc the Simplified Chinese face is chosen
# by name. Debian: fonts-noto-cjk, fonts-wqy-microhei, fonts-wqy-zenhei, fonts-arphic-uming,
# fonts-droid-fallback. Then other Linux layouts, macOS and Windows.
FONT_CANDIDATES: list[tuple[str, str | None]] = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
     "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
    ("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
     "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Bold.otf"),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
     "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc"),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
     "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc"),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", None),
    ("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc", None),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", None),
    ("/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc", None),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", None),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", None),
    ("/System/Library/Fonts/PingFang.ttc", None),
    ("/System/Library/Fonts/STHeiti Medium.ttc", None),
    ("C:/Windows/Fonts/msyh.ttc", "C:/Windows/Fonts/msyhbd.ttc"),
    ("C:/Windows/Fonts/simhei.ttf", None),
]
MONO_CANDIDATES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Bold.ttf",
]
_PROBE = "童伴关爱"


def _has_cjk(path: str, index: int) -> tuple[bool, str]:
    from PIL import ImageFont

    font = ImageFont.truetype(path, 32, index=index, layout_engine=ImageFont.Layout.BASIC)
    notdef = bytes(font.getmask("\uffff"))
    name = " ".join(n for n in font.getname() if n)
    for ch in _PROBE:
        mask = font.getmask(ch)
        if mask.getbbox() is None or bytes(mask) == notdef:
            return False, name
    return True, name


def _best_face(path: str) -> tuple[int, str] | None:
    """The face of a font file (or collection) that has CJK glyphs, preferring the
    Simplified Chinese, non-monospaced one. None when no face has them."""
    faces = []
    for index in range(16):
        try:
            ok, name = _has_cjk(path, index)
        except OSError:
            break  # no more faces (or not a font at all)
        if ok:
            score = (" SC" in f" {name}") * 2 + ("简" in name) * 2 - ("Mono" in name)
            faces.append((score, -index, index, name))
        if not path.lower().endswith((".ttc", ".otc")):
            break
    if not faces:
        return None
    _, _, index, name = max(faces)
    return index, name


def _fc_list_candidates() -> list[str]:
    if not shutil.which("fc-list"):
        return []
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file", "family"], capture_output=True,
                             text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    entries = []
    for line in out.splitlines():
        path, _, family = line.partition(":")
        path = path.strip()
        if path:
            sans = any(word in family for word in ("Sans", "Hei", "黑"))
            entries.append((not sans, path))
    return [path for _, path in sorted(set(entries))]


@functools.lru_cache(maxsize=8)
def _resolve_font(override: str | None) -> PosterFont:
    if override:
        if not os.path.isfile(override):
            raise PosterFontError(f"{FONT_ENV}={override!r}: no such font file.")
        face = _best_face(override)
        if face is None:
            raise PosterFontError(f"{FONT_ENV}={override!r} has no Chinese glyphs (checked "
                                  f"{_PROBE!r}); point it at a CJK font (.ttf/.otf/.ttc).")
        return PosterFont(override, face[0], face[1])

    shipped = sorted(str(p) for p in _FONT_DIR.glob("*")
                     if p.suffix.lower() in (".ttf", ".otf", ".ttc", ".otc"))
    candidates: list[tuple[str, str | None]] = [(p, None) for p in shipped]
    candidates += FONT_CANDIDATES
    candidates += [(p, None) for p in _fc_list_candidates()]
    seen = set()
    for regular, bold in candidates:
        if regular in seen or not os.path.isfile(regular):
            continue
        seen.add(regular)
        face = _best_face(regular)
        if face is None:
            continue
        bold_face = _best_face(bold) if bold and os.path.isfile(bold) else None
        return PosterFont(regular, face[0], face[1],
                          bold if bold_face else None, bold_face[0] if bold_face else 0)
    raise PosterFontError(
        "找不到含中文字形的字体，无法生成 PNG 海报（PDF 海报不受影响）。"
        " No CJK font found for the PNG poster: install one (Debian: "
        "`apt-get install fonts-wqy-microhei` or `fonts-noto-cjk`; scripts/ensure-browser "
        f"does this), or set {FONT_ENV} to a .ttf/.otf/.ttc file with Chinese glyphs."
    )


def find_poster_font() -> PosterFont:
    """The CJK font for PNG posters: ``$TONGBAN_POSTER_FONT`` if set (it must exist and
    have Chinese glyphs), else a font shipped in ``staff/fonts/``, else the first of
    ``FONT_CANDIDATES`` present, else what ``fc-list :lang=zh`` knows. Raises
    ``PosterFontError`` when there is none."""
    return _resolve_font(os.environ.get(FONT_ENV) or None)
