"""Tests for the document readers (knowledge.readers): each format on the local test documents
(tests/data/local, written by scripts/make_local_docs.py), merged cells, headers recognised by
meaning, repeated headers, notes, tables continued over pages, and the refusals. No model, no
knowledge base: these read files only."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest

from knowledge.errors import IngestError
from knowledge.readers import ReadDocument, TableRow, read_path, read_upload
from knowledge.readers.grid import MAX_TABLE_ROWS, join_text
from knowledge.readers.headers import header_role
from tests import local_docs
from tests.local_docs import LOCAL, make_table_document

DATA = Path(__file__).parent / "data"


def _read(name: str) -> ReadDocument:
    return read_path(LOCAL / name)


def _by_item(document: ReadDocument) -> dict[str, TableRow]:
    return {row.item: row for row in document.rows}


def _refusal(data: bytes, filename: str) -> str:
    with pytest.raises(IngestError) as info:
        read_upload(data, filename)
    return info.value.message


# ---------------------------------------------------------------- the committed documents are current

def test_committed_documents_match_the_generator(tmp_path: Path) -> None:
    """What the committed files hold is what the generator writes today (compared as read, so that
    a library writing different bytes for the same content does not matter)."""
    for written in local_docs.write_all(tmp_path):
        assert read_path(written) == read_path(LOCAL / written.name), written.name


# ---------------------------------------------------------------- 郑州市: HTML

def test_html_rows_and_columns() -> None:
    page = _read("zhengzhou_table.html")
    assert page.kind == "html"
    assert page.title == "郑州市流动儿童在居住地享有关爱服务基础清单（测试）"
    assert len(page.rows) == 14
    assert [r.number for r in page.rows] == [str(n) for n in range(1, 15)]
    assert page.headers == (("序号", "number"), ("服务类别", "category"), ("服务项目", "item"),
                            ("服务对象", "service_object"), ("服务内容", "content"), ("责任单位", "departments"))
    assert page.rows[0] == TableRow(
        number="1", category="教育服务", item="学前教育入园", service_object="居住地适龄随迁子女",
        content="可在居住地按就近原则申请公办幼儿园或普惠性民办幼儿园学位，与本地儿童同等享受保教费减免。",
        departments="市教育局、各区县（市）政府", channel="", extra=(), where="表1 第2行")
    insurance = _by_item(page)["城乡居民基本医疗保险参保"]
    assert (insurance.number, insurance.category, insurance.departments) == ("7", "医疗卫生", "市医保局、市税务局")


def test_html_rowspan_category_applies_down_and_repeated_header_dropped() -> None:
    rows = _read("zhengzhou_table.html").rows
    assert [r.category for r in rows] == ["教育服务"] * 4 + ["医疗卫生"] * 3 + ["社会保障"] * 3 + ["关爱服务"] * 2 \
        + ["托育与校外服务"] * 2
    assert "服务项目" not in {r.item for r in rows}
    assert rows[10].item == "心理健康服务" and rows[10].where == "表1 第13行"  # row 12 was the header again


def test_html_colspan_section_row_sets_the_category() -> None:
    rows = _by_item(_read("zhengzhou_table.html"))
    assert rows["普惠托育服务"].category == "托育与校外服务"  # 五、托育与校外服务 spanning the table
    assert rows["校外活动场所开放"].departments == "市文化广电和旅游局、团市委"
    assert rows["普惠托育服务"].where == "表1 第16行"


def test_html_prose_and_footnote() -> None:
    page = _read("zhengzhou_table.html")
    assert page.text.split("\n") == [
        "郑州市流动儿童在居住地享有关爱服务基础清单（测试）",
        "发布时间：2026-01-15 来源：测试",
        "为推动流动儿童在居住地平等享有基本公共服务，现将本市测试清单公布如下，共 14 项。",
        "联系单位：郑州市测试办公室"]
    assert page.notes == ("注：本清单为测试数据，服务内容以各责任单位公布的办理要求为准。",)
    assert "首页" not in page.text and "版权所有" not in page.text


# ---------------------------------------------------------------- 芜湖市: Word

def test_docx_rows_with_vertical_merges_and_a_two_row_header() -> None:
    document = _read("wuhu_list.docx")
    assert document.kind == "docx"
    assert document.title == "芜湖市流动儿童关爱服务基础清单（测试）"
    assert len(document.rows) == 16
    assert [r.number for r in document.rows] == [str(n) for n in range(1, 17)]
    assert document.headers == (("序号", "number"), ("服务领域", "category"), ("服务事项", "item"),
                                ("服务内容", "content"), ("责任单位/牵头单位", "departments"),
                                ("责任单位/配合单位", "departments"), ("办理渠道", "channel"))
    assert document.rows[0] == TableRow(
        number="1", category="教育", item="入园服务", service_object="",
        content="随迁子女可在居住地申请普惠性幼儿园学位，享受同等学前教育资助。",
        departments="牵头单位：市教育局；配合单位：各县区政府", channel="居住地幼儿园", extra=(), where="表1 第3行")
    rows = _by_item(document)
    assert rows["义务教育入学"].departments == "市教育局"  # 配合单位 empty
    assert rows["医保参保"].channel == "乡镇（街道）便民服务中心；线上医保服务平台"  # two paragraphs in the cell
    assert [r.category for r in document.rows] == ["教育"] * 4 + ["健康"] * 3 + ["救助保障"] * 3 + \
        ["关爱保护"] * 4 + ["住房与托育"] * 2


def test_docx_paragraphs_in_order_with_automatic_numbering() -> None:
    document = _read("wuhu_list.docx")
    assert document.text.split("\n") == [
        "芜湖市流动儿童关爱服务基础清单（测试）",
        "一、总体要求",
        "为让流动儿童在居住地平等享有基本公共服务，结合本市实际，制定本测试清单。",
        "二、服务清单",
        "（一）清单共列出16项服务，涵盖五个领域。",
        "（二）各责任单位应当公开办理渠道。",
        "三、组织实施",
        "1. 各县区可结合实际补充服务事项。",
        "2. 清单实行动态调整，每年更新一次。"]
    assert document.notes == ("注：本清单内容为测试数据，不代表任何正式文件。",)


def test_docx_full_width_section_row(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    table = document.add_table(rows=5, cols=4)
    for c, name in enumerate(("序号", "服务项目", "服务内容", "责任单位")):
        table.cell(0, c).text = name
    table.cell(1, 0).merge(table.cell(1, 3)).text = "一、教育服务"
    for r, values in ((2, ("1", "入学", "就近入学", "教育局")), (3, ("2", "资助", "发放助学金", "教育局"))):
        for c, value in enumerate(values):
            table.cell(r, c).text = value
    table.cell(4, 0).merge(table.cell(4, 3)).text = "备注：以上为测试。"
    path = tmp_path / "section.docx"
    document.save(path)
    read = read_path(path)
    assert [(r.number, r.category, r.item) for r in read.rows] == [("1", "教育服务", "入学"), ("2", "教育服务", "资助")]
    assert read.notes == ("备注：以上为测试。",)


# ---------------------------------------------------------------- 河南省: PDF

def test_pdf_rows_over_two_pages_with_the_header_repeated() -> None:
    document = _read("henan_list.pdf")
    assert document.kind == "pdf"
    assert document.title == "河南省流动儿童关爱服务基础清单（测试）"
    assert len(document.rows) == 22
    assert [r.number for r in document.rows] == [str(n) for n in range(1, 23)]
    assert [r.item for r in document.rows] == [row[1] for row in local_docs.HENAN_ROWS]
    assert document.headers == (("序号", "number"), ("服务类别", "category"), ("服务项目", "item"),
                                ("服务对象", "service_object"), ("服务内容", "content"), ("责任单位", "departments"))
    assert {r.where.split(" ")[0] for r in document.rows} == {"第1页", "第2页"}
    first_on_page_two = next(r for r in document.rows if r.where.startswith("第2页"))
    assert first_on_page_two.where == "第2页 表1 第2行"  # row 1 of page 2 is the header again, dropped
    assert document.rows[2] == TableRow(
        number="3", category="教育", item="学生资助", service_object="家庭经济困难学生",
        content="享受国家助学金、营养膳食补助等资助，资助不受户籍限制。", departments="省教育厅、省财政厅",
        channel="", extra=(), where="第1页 表1 第4行")


def test_pdf_merged_category_and_wrapped_cells() -> None:
    rows = _read("henan_list.pdf").rows
    assert [r.category for r in rows[:5]] == ["教育", "教育", "教育", "教育", "医疗卫生"]  # SPAN over rows 1–4
    assert all("\n" not in r.content and " " not in r.content for r in rows)  # wrapped lines joined
    assert rows[0].content == "在居住地申请普惠性幼儿园学位，按规定享受学前教育资助。"


def test_pdf_prose_notes_and_page_numbers() -> None:
    document = _read("henan_list.pdf")
    assert document.text.split("\n") == [
        "河南省流动儿童关爱服务基础清单（测试）",
        "为落实流动儿童关爱保护工作要求，推动流动儿童在居住地平等享有基本公共服务，制定本测试清单。"
        "各地可在此基础上补充本地服务项目，并向社会公布办理渠道。"]
    assert document.notes == ("注：本清单为测试文件，内容虚构，仅用于检验文件读取。",)
    assert "—" not in document.text  # "— 1 —" page numbers dropped


def test_pdf_table_continued_without_the_header(tmp_path: Path) -> None:
    document = read_path(make_table_document("pdf", 60, tmp_path / "t.pdf", repeat_header=False))
    assert [r.number for r in document.rows] == [str(n) for n in range(1, 61)]
    assert len({r.where.split(" ")[0] for r in document.rows}) >= 2
    later = next(r for r in document.rows if r.where.startswith("第2页"))
    assert later.where == "第2页 表1 第1行" and later.channel and later.category
    assert {r.where.split(" ")[1] for r in document.rows} == {"表1"}


# ---------------------------------------------------------------- 广州市: Excel

def test_xlsx_unusual_headers_in_another_order() -> None:
    book = _read("guangzhou_list.xlsx")
    assert book.kind == "xlsx"
    assert book.headers == (("服务类别", "category"), ("编号", "number"), ("关爱服务事项", "item"),
                            ("主管部门", "departments"), ("内容及标准", "content"), ("保障对象", "service_object"),
                            ("咨询电话", "channel"))
    assert len(book.rows) == 15
    assert book.rows[5] == TableRow(
        number="6", category="医疗健康", item="城乡居民医保参保缴费", service_object="未参加职工医保的儿童",
        content="按年度参保缴费，享受住院和门诊待遇。", departments="市医保局", channel="12393", extra=(),
        where="工作表“清单” 第8行")


def test_xlsx_merged_categories_title_row_and_sheets() -> None:
    book = _read("guangzhou_list.xlsx")
    assert [r.category for r in book.rows] == ["学前和义务教育"] * 4 + ["医疗健康"] * 4 + ["兜底保障"] * 3 + \
        ["关爱服务"] * 4
    assert book.title == "广州市流动儿童关爱服务基础清单（测试）"  # the merged row above the header
    assert book.text.split("\n") == ["广州市流动儿童关爱服务基础清单（测试）", *local_docs.GUANGZHOU_EXPLANATION]
    assert "隐藏事项" not in book.text and all(r.item != "隐藏事项" for r in book.rows)  # hidden sheet skipped


# ---------------------------------------------------------------- N-row tables in every format

@pytest.mark.parametrize("kind", ["html", "docx", "xlsx", "pdf"])
def test_generated_tables_read_back(kind: str, tmp_path: Path) -> None:
    document = read_path(make_table_document(kind, 25, tmp_path / f"t.{kind}"))
    expected = local_docs.table_rows(25)
    assert [(r.number, r.category, r.item, r.service_object, r.content, r.departments, r.channel)
            for r in document.rows] == expected


# ---------------------------------------------------------------- headers by meaning

@pytest.mark.parametrize("header, role", [
    ("服务项目", "item"), ("服 务\n项 目", "item"), ("关爱服务事项", "item"), ("项目名称", "item"),
    ("服务项目（名称）", "item"), ("内容及标准", "content"), ("具体内容", "content"), ("服务标准", "content"),
    ("主管部门", "departments"), ("责任单位（牵头）", "departments"), ("牵头单位及配合单位", "departments"),
    ("咨询电话", "channel"), ("办理渠道", "channel"), ("适用对象", "service_object"), ("保障对象", "service_object"),
    ("序  号", "number"), ("编号", "number"), ("服务领域", "category"), ("类别", "category"), ("ＮＯ．", "number"),
    ("服务对象：", "service_object"),
])
def test_header_roles(header: str, role: str) -> None:
    assert header_role(header) == role


@pytest.mark.parametrize("text", ["义务教育入学", "市教育局", "备注", "", "按规定享受资助"])
def test_cells_that_are_not_headers(text: str) -> None:
    assert header_role(text) is None


def _html(table: str, before: str = "") -> ReadDocument:
    return read_upload(f"<html><body>{before}{table}</body></html>".encode(), "page.html")


def test_two_row_header_columns_in_another_order_and_several_channels() -> None:
    page = _html("""<table>
<tr><th rowspan=2>项目名称</th><th rowspan=2>编 号</th><th colspan=2>办理方式</th><th rowspan=2>负责单位</th>
    <th rowspan=2>备注</th></tr>
<tr><th>线上</th><th>线下</th></tr>
<tr><td>疫苗接种</td><td>1</td><td>预约小程序</td><td>社区卫生服务中心</td><td>卫健委</td><td>免费</td></tr>
<tr><td>医保参保</td><td>2</td><td></td><td>街道便民服务中心</td><td>医保局</td><td></td></tr>
</table>""")
    assert page.headers == (("项目名称", "item"), ("编号", "number"), ("办理方式/线上", "channel"),
                            ("办理方式/线下", "channel"), ("负责单位", "departments"), ("备注", "other"))
    assert page.rows[0] == TableRow(number="1", category="", item="疫苗接种", service_object="", content="",
                                    departments="卫健委", channel="线上：预约小程序；线下：社区卫生服务中心",
                                    extra=(("备注", "免费"),), where="表1 第3行")
    assert (page.rows[1].channel, page.rows[1].extra) == ("街道便民服务中心", (("备注", ""),))


def test_a_table_without_an_item_column_is_text() -> None:
    page = _html("<table><tr><th>单位</th><th>电话</th></tr><tr><td>市教育局</td><td>12345</td></tr></table>",
                 before="<p>联系方式如下：</p>")
    assert page.rows == () and page.headers == ()
    assert page.text.split("\n") == ["联系方式如下：", "单位 电话", "市教育局 12345"]


def test_rows_above_the_header_are_prose_and_numbered_section_rows() -> None:
    page = _html("""<table>
<tr><td colspan=3>附件：测试清单</td></tr>
<tr><td>序号</td><td>服务项目</td><td>责任单位</td></tr>
<tr><td>一</td><td colspan=2>医疗卫生</td></tr>
<tr><td>1</td><td>预防接种</td><td>卫健委</td></tr>
<tr><td colspan=3>注：测试。</td></tr>
</table>""")
    assert page.title == "附件：测试清单" and page.text == "附件：测试清单"
    assert [(r.number, r.category, r.item) for r in page.rows] == [("1", "医疗卫生", "预防接种")]
    assert page.notes == ("注：测试。",)


def test_a_table_continued_in_the_next_one_and_a_row_split_over_the_break() -> None:
    page = _html("""<table>
<tr><th>序号</th><th>服务类别</th><th>服务项目</th><th>服务内容</th></tr>
<tr><td>1</td><td>教育</td><td>入学</td><td>在居住地就近</td></tr>
</table>
<table>
<tr><td></td><td></td><td></td><td>入学。</td></tr>
<tr><td>2</td><td></td><td>资助</td><td>发放助学金。</td></tr>
</table>""")
    assert [(r.number, r.category, r.item, r.content, r.where) for r in page.rows] == [
        ("1", "教育", "入学", "在居住地就近入学。", "表1 第2行"),
        ("2", "教育", "资助", "发放助学金。", "表1 第2行")]


def test_an_item_merged_over_two_rows_is_one_row() -> None:
    page = _html("""<table>
<tr><th>服务项目</th><th>服务内容</th><th>责任单位</th></tr>
<tr><td rowspan=2>义务教育</td><td>小学就近入学</td><td rowspan=2>教育局</td></tr>
<tr><td>初中统筹安排</td></tr>
</table>""")
    assert [(r.item, r.content, r.departments) for r in page.rows] == [("义务教育", "小学就近入学初中统筹安排", "教育局")]


def test_cell_lines_joined_sensibly() -> None:
    assert join_text("义务教育\n入学") == "义务教育入学"
    assert join_text("Call\ncentre") == "Call centre"
    assert join_text("市教育局\n市财政局", "departments") == "市教育局、市财政局"
    assert join_text("电话\n线上平台", "channel") == "电话；线上平台"
    assert join_text("入学条件。\n1. 居住证") == "入学条件。1. 居住证"
    assert join_text("提供以下服务\n1. 咨询") == "提供以下服务；1. 咨询"


# ---------------------------------------------------------------- sniffing, not the extension

def test_a_docx_named_pdf_is_read_as_docx() -> None:
    document = read_upload((LOCAL / "wuhu_list.docx").read_bytes(), "清单.pdf")
    assert document.kind == "docx" and len(document.rows) == 16


def test_an_xlsx_named_txt_is_read_as_xlsx() -> None:
    assert read_upload((LOCAL / "guangzhou_list.xlsx").read_bytes(), "清单.txt").kind == "xlsx"


def test_a_text_file_is_read_as_before() -> None:
    plain = DATA / "notice_plain.txt"
    document = read_path(plain)
    assert document.kind == "text" and document.rows == ()
    assert document.text == plain.read_text(encoding="utf-8").replace("\r\n", "\n")
    gbk = read_upload(plain.read_text(encoding="utf-8").encode("gb18030"), "notice.txt")
    assert gbk.text == document.text


def test_an_html_notice_without_tables_keeps_its_text() -> None:
    document = read_path(DATA / "notice_traditional_pinyin.html")
    assert document.kind == "html" and document.rows == ()
    assert "關(guān)於" in document.text  # not cleaned here: clean_text does that


# ---------------------------------------------------------------- refusals

def _ole(stream_name: str) -> bytes:
    """The start of an OLE2 compound file with one directory entry named ``stream_name``."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    entry = stream_name.encode("utf-16-le") + b"\x00\x00"
    return header + entry.ljust(128, b"\x00") + b"\x00" * 1024


def test_old_word_and_wps_files_are_refused_with_what_to_do() -> None:
    for name in ("通知.doc", "通知.wps"):
        message = _refusal(_ole("WordDocument"), name)
        assert ".docx" in message and "PDF" in message and "另存为" in message


def test_old_spreadsheets_are_refused_with_what_to_do() -> None:
    for name in ("清单.xls", "清单.et"):
        message = _refusal(_ole("Workbook"), name)
        assert ".xlsx" in message and "另存为" in message


def test_a_password_protected_office_file_is_refused() -> None:
    assert "密码" in _refusal(_ole("EncryptedPackage"), "清单.docx")


def test_images_are_refused_saying_what_is_accepted() -> None:
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + b"\x00" * 17
    message = _refusal(png, "清单.docx")
    assert "图片" in message and ".docx" in message and ".xlsx" in message and "PDF" in message
    assert "图片" in _refusal(b"\xff\xd8\xff\xe0" + b"\x00" * 100, "scan.jpg")


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_zip_that_is_neither_word_nor_excel_is_refused() -> None:
    message = _refusal(_zip({"清单.txt": "一、测试".encode()}), "清单.docx")
    assert "压缩包" in message and ".xlsx" in message
    assert "演示文稿" in _refusal(_zip({"ppt/presentation.xml": b"<p/>"}), "清单.pptx")


def test_a_zip_bomb_is_refused_before_parsing() -> None:
    bomb = _zip({"word/document.xml": b"<w:document/>", "word/media/zeros.bin": b"\x00" * (70 * 2 ** 20)})
    assert len(bomb) < 2 * 2 ** 20  # fits the upload limit
    assert "过大" in _refusal(bomb, "清单.docx")
    many = _zip({"word/document.xml": b"<w:document/>", **{f"x/{i}": b"" for i in range(2100)}})
    assert "部件过多" in _refusal(many, "清单.docx")


def test_a_broken_docx_is_refused() -> None:
    assert "Word" in _refusal(_zip({"word/document.xml": b"not xml"}), "清单.docx")


def _pdf_pages(tmp_path: Path, pages: list[str]) -> bytes:
    """A PDF whose pages are "text" (a line of Chinese), "image" (a picture, no text) or "blank"."""
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    path = tmp_path / "pages.pdf"
    drawing = canvas.Canvas(str(path))
    picture = ImageReader(Image.new("RGB", (40, 40), "gray"))
    for kind in pages:
        if kind == "text":
            drawing.setFont("STSong-Light", 12)
            drawing.drawString(72, 720, "一、测试正文")
        elif kind == "image":
            drawing.drawImage(picture, 72, 600, 200, 200)
        drawing.showPage()
    drawing.save()
    return path.read_bytes()


def test_a_scanned_pdf_is_refused(tmp_path: Path) -> None:
    message = _refusal(_pdf_pages(tmp_path, ["image"]), "清单.pdf")
    assert "扫描" in message and "OCR" in message
    middle = _refusal(_pdf_pages(tmp_path, ["text", "image", "text"]), "清单.pdf")
    assert "第2页" in middle and "扫描" in middle
    assert "没有可提取的文字" in _refusal(_pdf_pages(tmp_path, ["blank"]), "清单.pdf")


def test_a_stamped_last_page_is_not_a_scan(tmp_path: Path) -> None:
    assert read_upload(_pdf_pages(tmp_path, ["text", "image"]), "清单.pdf").text == "一、测试正文"


def test_a_pdf_bomb_is_refused_before_parsing() -> None:
    import zlib

    stream = zlib.compress(b"\x00" * (70 * 2 ** 20), 9)
    bomb = b"%PDF-1.4\n1 0 obj\n<< /Filter /FlateDecode >>\nstream\n" + stream + b"\nendstream\nendobj\n%%EOF\n"
    assert len(bomb) < 2 * 2 ** 20
    assert "过大" in _refusal(bomb, "清单.pdf")


def test_empty_binary_and_rtf_files_are_refused() -> None:
    assert "空" in _refusal(b"  \n", "清单.txt")
    assert "无法识别" in _refusal(bytes(range(256)) * 4, "清单.dat")
    assert ".docx" in _refusal(b"{\\rtf1\\ansi test}", "清单.rtf")


def test_a_table_too_large_is_refused() -> None:
    rows = "".join(f"<tr><td>{i}</td><td>事项{i}</td></tr>" for i in range(MAX_TABLE_ROWS + 1))
    with pytest.raises(IngestError) as info:
        _html(f"<table><tr><th>序号</th><th>服务项目</th></tr>{rows}</table>")
    assert "表格过大" in info.value.message


def test_hostile_spans_are_bounded() -> None:
    page = _html("<table><tr><th>序号</th><th>服务项目</th></tr><tr><td colspan=999999>一、教育</td></tr>"
                 "<tr><td rowspan=999999>1</td><td>入学</td></tr><tr><td>资助</td></tr></table>")
    assert [(r.number, r.category, r.item) for r in page.rows] == [("1", "教育", "入学"), ("1", "教育", "资助")]
    assert page.headers == (("序号", "number"), ("服务项目", "item"))


def test_a_sheet_too_large_is_refused(tmp_path: Path) -> None:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("清单")
    sheet.append(["序号", "服务项目"])
    for i in range(MAX_TABLE_ROWS + 1):
        sheet.append([i, "事项"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert "过大" in _refusal(buffer.getvalue(), "清单.xlsx")


def test_a_pdf_page_of_countless_lines_is_refused(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    path = tmp_path / "lines.pdf"
    drawing = canvas.Canvas(str(path))
    drawing.drawString(72, 800, "lines")
    for i in range(4200):
        drawing.line(10 + (i % 50) * 10, 100 + (i // 50) * 8, 15 + (i % 50) * 10, 100 + (i // 50) * 8)
    drawing.save()
    assert "线条过多" in _refusal(path.read_bytes(), "lines.pdf")


def test_html_offsets_hold_with_crlf_gb18030_and_one_line() -> None:
    raw = (LOCAL / "zhengzhou_table.html").read_text(encoding="utf-8")
    expected = _read("zhengzhou_table.html")
    assert read_upload(raw.replace("\n", "\r\n").encode("utf-8"), "p.html") == expected
    assert read_upload(raw.encode("gb18030"), "p.html") == expected
    assert read_upload(raw.replace("\n", "").encode("utf-8"), "p.html") == expected


def test_a_text_quoting_a_pdf_header_is_text() -> None:
    assert read_upload("一、说明：文件头为 %PDF-1.7".encode(), "a.txt").kind == "text"
