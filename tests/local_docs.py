"""Test documents for the readers (``knowledge/readers``): four local checklists as they are
published — an HTML table, a Word document, a text PDF, a workbook — for real localities, with
invented content marked 测试 (no real notice's wording), and :func:`make_table_document`, an
N-row checklist table in any of the four formats (for the ingestion benchmark).

``scripts/make_local_docs.py`` writes the four into ``tests/data/local/`` (committed: regenerating
needs python-docx, openpyxl and reportlab, no font file — the PDF uses reportlab's built-in CID font
STSong-Light). The output is byte-for-byte reproducible (fixed dates and ZIP timestamps).
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from pathlib import Path

LOCAL = Path(__file__).parent / "data" / "local"
FIXED_DATE = (2026, 1, 15, 0, 0, 0)

# ---------------------------------------------------------------- 郑州市 (410100): an HTML table

ZHENGZHOU_TITLE = "郑州市流动儿童在居住地享有关爱服务基础清单（测试）"
ZHENGZHOU_HEADER = ("序号", "服务类别", "服务项目", "服务对象", "服务内容", "责任单位")
# (category or None inside a rowspan, item, object, content, departments — "\n" printed as <br>)
ZHENGZHOU_GROUPS = [
    ("教育服务", [
        ("学前教育入园", "居住地适龄随迁子女", "可在居住地按就近原则申请公办幼儿园或普惠性民办幼儿园学位，与本地儿童同等享受保教费减免。",
         "市教育局\n各区县（市）政府"),
        ("义务教育入学", "持居住证或在居住地稳定居住的适龄儿童", "按“相对就近、统筹安排”安排到公办学校或政府购买学位的民办学校就读。",
         "市教育局"),
        ("学生资助", "家庭经济困难的在校学生", "按学段享受国家助学金、生活补助和免除学杂费等资助。", "市教育局、市财政局"),
        ("初中毕业升学考试报名", "在居住地就读初中的随迁子女", "符合条件的可在居住地报名参加中考，与本地学生同等录取。", "市教育局"),
    ]),
    ("医疗卫生", [
        ("预防接种", "0—6岁儿童", "免费接种国家免疫规划疫苗，凭预防接种证在居住地接种单位就近接种。", "市卫生健康委"),
        ("儿童健康管理", "0—6岁儿童", "提供新生儿访视、定期健康检查和生长发育评估等基本公共卫生服务。", "市卫生健康委"),
        ("城乡居民基本医疗保险参保", "未参加职工医保的流动儿童", "可在居住地参加城乡居民基本医疗保险，按规定享受财政补助和医保待遇。",
         "市医保局\n市税务局"),
    ]),
    ("社会保障", [
        ("临时救助", "遭遇突发困难的流动儿童家庭", "因意外事故、突发重大疾病等导致基本生活陷入困境的，可向居住地乡镇（街道）申请临时救助。",
         "市民政局"),
        ("残疾儿童康复救助", "0—6岁残疾儿童和孤独症儿童", "在定点康复机构接受康复训练的，按规定给予康复救助补贴。", "市残联"),
        ("公共租赁住房保障", "符合条件的新市民家庭", "可按规定申请公共租赁住房或保障性租赁住房，优先保障多子女家庭。",
         "市住房保障和房地产管理局"),
    ]),
    ("关爱服务", [
        ("心理健康服务", "有需要的流动儿童及其家长", "学校和社区提供心理健康教育、心理咨询和危机干预转介服务。",
         "市卫生健康委、市教育局"),
        ("家庭教育指导", "流动儿童家长", "通过家长学校、线上课程和入户指导，帮助家长提升家庭教育能力。", "市妇联、市教育局"),
    ]),
]
ZHENGZHOU_SECTION = "五、托育与校外服务"
ZHENGZHOU_AFTER_SECTION = [
    ("普惠托育服务", "3岁以下婴幼儿家庭", "可就近选择普惠托育机构，按规定享受托育服务补贴。", "市卫生健康委"),
    ("校外活动场所开放", "流动儿童", "青少年宫、图书馆、博物馆等场所免费或优惠开放，寒暑假组织公益活动。", "市文化广电和旅游局、团市委"),
]
ZHENGZHOU_NOTE = "注：本清单为测试数据，服务内容以各责任单位公布的办理要求为准。"


def zhengzhou_html() -> str:
    def cells(values: tuple[str, ...], tag: str = "td") -> str:
        return "".join(f"<{tag}>{html.escape(v).replace(chr(10), '<br>')}</{tag}>" for v in values)

    head = f"<tr>{cells(ZHENGZHOU_HEADER, 'th')}</tr>"
    body, number = [], 0
    for group_index, (category, rows) in enumerate(ZHENGZHOU_GROUPS):
        if group_index == 3:  # the header printed again, as a page-long web table does
            body.append(head)
        for i, (item, target, content, departments) in enumerate(rows):
            number += 1
            first = f'<td rowspan="{len(rows)}">{category}</td>' if i == 0 else ""
            body.append(f"<tr><td>{number}</td>{first}{cells((item, target, content, departments))}</tr>")
    body.append(f'<tr><td colspan="6"><strong>{ZHENGZHOU_SECTION}</strong></td></tr>')
    for item, target, content, departments in ZHENGZHOU_AFTER_SECTION:
        number += 1
        body.append(f"<tr><td>{number}</td><td></td>{cells((item, target, content, departments))}</tr>")
    rows_html = "\n".join(body)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{ZHENGZHOU_TITLE}_测试网站</title>
<style>td {{ border: 1px solid #999; }}</style></head>
<body>
<div class="nav"><a href="/">首页</a> &gt; <a href="/zwgk">政务公开</a></div>
<div class="article">
<h1>{ZHENGZHOU_TITLE}</h1>
<p class="info">发布时间：2026-01-15　来源：测试</p>
<p>　　为推动流动儿童在居住地平等享有基本公共服务，现将本市测试清单公布如下，共&nbsp;14&nbsp;项。</p>
<table border="1" cellspacing="0">
<thead>{head}</thead>
<tbody>
{rows_html}
</tbody>
</table>
<p>{ZHENGZHOU_NOTE}</p>
<p>　　联系单位：郑州市测试办公室</p>
</div>
<div class="footer">版权所有 测试网站 &copy; 2026</div>
</body></html>
"""


# ---------------------------------------------------------------- 芜湖市 (340200): a Word document

WUHU_TITLE = "芜湖市流动儿童关爱服务基础清单（测试）"
WUHU_GROUPS = [
    ("教育", [
        ("入园服务", "随迁子女可在居住地申请普惠性幼儿园学位，享受同等学前教育资助。", "市教育局", "各县区政府", "居住地幼儿园"),
        ("义务教育入学", "符合条件的随迁子女在居住地入学，纳入当地义务教育保障范围。", "市教育局", "", "市义务教育招生平台"),
        ("学生资助", "家庭经济困难学生按规定享受资助，不受户籍限制。", "市教育局", "市财政局", "就读学校"),
        ("课后服务", "学校提供课后托管和兴趣活动，随迁子女自愿参加。", "市教育局", "", "就读学校"),
    ]),
    ("健康", [
        ("预防接种", "0—6岁儿童在居住地免费接种免疫规划疫苗。", "市卫生健康委", "", "社区卫生服务中心"),
        ("医保参保", "流动儿童可在居住地参加城乡居民医保，享受同等待遇。", "市医保局", "市税务局", "乡镇（街道）便民服务中心\n线上医保服务平台"),
        ("儿童保健", "0—6岁儿童享受免费健康检查和眼保健服务。", "市卫生健康委", "", "社区卫生服务中心"),
    ]),
    ("救助保障", [
        ("临时救助", "因突发事件陷入困境的家庭可在居住地申请临时救助。", "市民政局", "", "乡镇（街道）社会救助窗口"),
        ("残疾儿童康复救助", "符合条件的残疾儿童在定点机构康复，享受救助补贴。", "市残联", "市卫生健康委", "县区残联"),
        ("困境儿童保障", "对生活困难的流动儿童按规定落实分类保障。", "市民政局", "", "村（居）儿童主任"),
    ]),
    ("关爱保护", [
        ("儿童之家活动", "社区儿童之家免费开放，组织阅读、游戏和安全教育活动。", "市民政局", "市妇联", "所在社区"),
        ("心理健康服务", "提供心理健康测评、咨询和转介服务。", "市卫生健康委", "市教育局", "心理援助热线"),
        ("家庭教育指导", "为家长提供家庭教育讲座和个别指导。", "市妇联", "市教育局", "家长学校"),
        ("法律援助", "涉及未成年人权益的案件可申请免费法律援助。", "市司法局", "", "公共法律服务中心"),
    ]),
    ("住房与托育", [
        ("保障性租赁住房", "符合条件的新市民家庭可申请保障性租赁住房。", "市住房城乡建设局", "", "市住房保障服务窗口"),
        ("托育服务", "3岁以下婴幼儿可入托普惠托育机构。", "市卫生健康委", "", "普惠托育机构"),
    ]),
]
WUHU_NOTE = "注：本清单内容为测试数据，不代表任何正式文件。"


def _number_paragraph(paragraph, num_id: int, level: int) -> None:
    numPr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
    numPr.get_or_add_ilvl().val = level
    numPr.get_or_add_numId().val = num_id


def _chinese_numbering(document) -> int:
    """A list definition: level 0 一、 level 1 （一）; returns its numId."""
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls, qn

    abstract = parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="90"><w:multiLevelType w:val="multilevel"/>'
        '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="%1、"/>'
        '<w:lvlJc w:val="left"/></w:lvl>'
        '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="（%2）"/>'
        '<w:lvlJc w:val="left"/></w:lvl></w:abstractNum>')
    numbering = document.part.numbering_part.element
    first_num = numbering.find(qn("w:num"))
    if first_num is not None:
        first_num.addprevious(abstract)
    else:
        numbering.append(abstract)
    return numbering.add_num(90).numId


def write_wuhu_docx(path: Path) -> Path:
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    document = docx.Document()
    num_id = _chinese_numbering(document)
    title = document.add_paragraph(WUHU_TITLE)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _number_paragraph(document.add_paragraph("总体要求"), num_id, 0)
    document.add_paragraph("为让流动儿童在居住地平等享有基本公共服务，结合本市实际，制定本测试清单。")
    _number_paragraph(document.add_paragraph("服务清单"), num_id, 0)
    _number_paragraph(document.add_paragraph("清单共列出16项服务，涵盖五个领域。"), num_id, 1)
    _number_paragraph(document.add_paragraph("各责任单位应当公开办理渠道。"), num_id, 1)
    count = sum(len(rows) for _, rows in WUHU_GROUPS)
    table = document.add_table(rows=2 + count, cols=7)
    table.style = "Table Grid"
    for c, name in enumerate(("序号", "服务领域", "服务事项", "服务内容", "责任单位", "", "办理渠道")):
        table.cell(0, c).text = name
    table.cell(1, 4).text, table.cell(1, 5).text = "牵头单位", "配合单位"
    table.cell(0, 4).merge(table.cell(0, 5))  # gridSpan
    for c in (0, 1, 2, 3, 6):
        table.cell(0, c).merge(table.cell(1, c))  # vMerge
    r = 2
    for category, rows in WUHU_GROUPS:
        for i, (item, content, lead, partner, channel) in enumerate(rows):
            for c, value in ((0, str(r + i - 1)), (2, item), (3, content), (4, lead), (5, partner)):
                table.cell(r + i, c).text = value
            cell = table.cell(r + i, 6)
            cell.text = channel.split("\n")[0]
            for extra in channel.split("\n")[1:]:
                cell.add_paragraph(extra)
        merged = table.cell(r, 1).merge(table.cell(r + len(rows) - 1, 1))
        merged.text = category
        r += len(rows)
    document.add_paragraph(WUHU_NOTE)
    _number_paragraph(document.add_paragraph("组织实施"), num_id, 0)
    document.add_paragraph("1. 各县区可结合实际补充服务事项。")
    document.add_paragraph("2. 清单实行动态调整，每年更新一次。")
    document.core_properties.title = WUHU_TITLE
    return _save_docx(document, path)


# ---------------------------------------------------------------- 河南省 (410000): a text PDF

HENAN_TITLE = "河南省流动儿童关爱服务基础清单（测试）"
HENAN_HEADER = ("序号", "服务类别", "服务项目", "服务对象", "服务内容", "责任单位")
HENAN_ROWS = [  # (category, item, object, content, departments); the first four share one merged category cell
    ("教育", "学前教育", "3—6岁随迁子女", "在居住地申请普惠性幼儿园学位，按规定享受学前教育资助。", "省教育厅"),
    ("教育", "义务教育", "适龄随迁子女", "以居住证为主要依据，在居住地就近入学。", "省教育厅"),
    ("教育", "学生资助", "家庭经济困难学生", "享受国家助学金、营养膳食补助等资助，资助不受户籍限制。", "省教育厅、省财政厅"),
    ("教育", "升学考试", "在豫就读的随迁子女", "符合条件的在居住地参加中考和高考报名。", "省教育厅"),
    ("医疗卫生", "预防接种", "0—6岁儿童", "在居住地接种单位免费接种免疫规划疫苗。", "省卫生健康委"),
    ("医疗卫生", "儿童健康检查", "0—6岁儿童", "免费提供健康检查、视力和口腔筛查。", "省卫生健康委"),
    ("医疗卫生", "基本医疗保险", "流动儿童", "可在居住地参加城乡居民医保，缴费后享受医保待遇。", "省医保局、省税务局"),
    ("医疗卫生", "孕产妇和新生儿服务", "流动人口孕产妇及新生儿", "提供孕产期保健和新生儿疾病筛查。", "省卫生健康委"),
    ("社会救助", "临时救助", "生活困难的流动儿童家庭", "遭遇急难的可向居住地乡镇（街道）申请临时救助。", "省民政厅"),
    ("社会救助", "最低生活保障", "符合条件的家庭", "按户籍地或居住地规定申请低保，保障基本生活。", "省民政厅"),
    ("社会救助", "残疾儿童康复救助", "0—6岁残疾儿童", "在定点康复机构康复训练，按标准给予救助。", "省残联"),
    ("社会救助", "困境儿童保障", "困境儿童", "落实基本生活、医疗、教育等分类保障。", "省民政厅"),
    ("关爱服务", "儿童之家", "流动儿童", "社区儿童之家提供课后看护、阅读和游戏活动。", "省民政厅、省妇联"),
    ("关爱服务", "心理健康服务", "流动儿童及家长", "提供心理健康教育、咨询和危机干预。", "省卫生健康委、省教育厅"),
    ("关爱服务", "家庭教育指导", "流动儿童家长", "开展家庭教育讲座、咨询和亲子活动。", "省妇联、省教育厅"),
    ("关爱服务", "未成年人保护热线", "流动儿童及其家庭", "受理侵害未成年人权益的求助和举报。", "省民政厅"),
    ("关爱服务", "法律援助", "流动儿童及其家庭", "涉及未成年人的法律事项可申请法律援助。", "省司法厅"),
    ("住房保障", "公共租赁住房", "符合条件的流动人口家庭", "按规定申请公租房，多子女家庭优先。", "省住房城乡建设厅"),
    ("住房保障", "保障性租赁住房", "新市民、青年人", "面向无房家庭提供小户型租赁住房。", "省住房城乡建设厅"),
    ("托育服务", "普惠托育", "3岁以下婴幼儿", "在普惠托育机构入托，按规定享受补贴。", "省卫生健康委"),
    ("文体服务", "公共文化场馆开放", "流动儿童", "图书馆、文化馆、博物馆免费开放。", "省文化和旅游厅"),
    ("文体服务", "假期托管", "有需要的学生", "寒暑假期间学校和社区提供公益托管。", "省教育厅、团省委"),
]
HENAN_NOTE = "注：本清单为测试文件，内容虚构，仅用于检验文件读取。"


def _pdf_styles():
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    body = ParagraphStyle("body", fontName="STSong-Light", fontSize=10.5, leading=16, wordWrap="CJK",
                          firstLineIndent=21)
    cell = ParagraphStyle("cell", fontName="STSong-Light", fontSize=9, leading=12, wordWrap="CJK")
    title = ParagraphStyle("title", fontName="STSong-Light", fontSize=16, leading=24, alignment=1)
    return body, cell, title


def _page_number(canvas, document) -> None:
    canvas.setFont("STSong-Light", 9)
    canvas.drawCentredString(297, 30, f"— {document.page} —")


def _pdf_table(header, rows, spans, cell_style, repeat_header: bool):
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Table, TableStyle

    data = [[Paragraph(h, cell_style) for h in header]] + [[Paragraph(v, cell_style) for v in row] for row in rows]
    table = Table(data, colWidths=[28, 48, 70, 80, 170, 70], repeatRows=1 if repeat_header else 0)
    style = [("GRID", (0, 0), (-1, -1), 0.6, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("TOPPADDING", (0, 0), (-1, -1), 7), ("BOTTOMPADDING", (0, 0), (-1, -1), 7)]
    style += [("SPAN", (1, first), (1, last)) for first, last in spans]
    table.setStyle(TableStyle(style))
    return table


def _build_pdf(path: Path, title_text: str, intro: str, table, note: str) -> Path:
    from reportlab import rl_config
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    rl_config.invariant = 1  # fixed dates and ids: the same bytes every time
    body, _, title = _pdf_styles()
    document = SimpleDocTemplate(str(path), pagesize=A4, title=title_text, author="测试",
                                 leftMargin=56, rightMargin=56, topMargin=56, bottomMargin=56)
    document.build([Paragraph(title_text, title), Spacer(1, 8), Paragraph(intro, body), Spacer(1, 8), table,
                    Spacer(1, 8), Paragraph(note, body)], onFirstPage=_page_number, onLaterPages=_page_number)
    return path


def write_henan_pdf(path: Path) -> Path:
    _, cell, _ = _pdf_styles()
    rows = []
    for i, (category, item, target, content, departments) in enumerate(HENAN_ROWS, start=1):
        rows.append((str(i), "" if 1 < i <= 4 else category, item, target, content, departments))
    table = _pdf_table(HENAN_HEADER, rows, [(1, 4)], cell, repeat_header=True)
    intro = ("为落实流动儿童关爱保护工作要求，推动流动儿童在居住地平等享有基本公共服务，制定本测试清单。"
             "各地可在此基础上补充本地服务项目，并向社会公布办理渠道。")
    return _build_pdf(path, HENAN_TITLE, intro, table, HENAN_NOTE)


# ---------------------------------------------------------------- 广州市 (440100): a workbook

GUANGZHOU_TITLE = "广州市流动儿童关爱服务基础清单（测试）"
GUANGZHOU_HEADER = ("服务类别", "编号", "关爱服务事项", "主管部门", "内容及标准", "保障对象", "咨询电话")
GUANGZHOU_GROUPS = [  # (item, department, content, object, phone)
    ("学前和义务教育", [
        ("学前教育资助", "市教育局", "在园幼儿按规定享受保教费补助。", "在穗就读的适龄幼儿", "12345"),
        ("义务教育阶段入学", "市教育局", "按积分或条件入读公办学校或政府补贴学位。", "来穗人员适龄随迁子女", "12345"),
        ("随迁子女参加中考", "市教育局", "符合条件的在本市报名参加中考。", "在穗就读初中的随迁子女", "12345"),
        ("校内课后服务", "市教育局", "学校提供课后看护和托管服务。", "在校学生", "就读学校"),
    ]),
    ("医疗健康", [
        ("免疫规划疫苗接种", "市卫生健康委", "免费接种国家免疫规划疫苗。", "0—6岁儿童", "12320"),
        ("城乡居民医保参保缴费", "市医保局", "按年度参保缴费，享受住院和门诊待遇。", "未参加职工医保的儿童", "12393"),
        ("儿童眼保健和视力检查", "市卫生健康委", "提供眼病筛查和视力评估。", "0—6岁儿童", "12320"),
        ("孤独症儿童康复训练", "市残联", "定点机构提供康复训练并给予补贴。", "经评估的孤独症儿童", "12345"),
    ]),
    ("兜底保障", [
        ("临时救助", "市民政局", "对急难型困难家庭给予临时救助。", "遭遇急难的来穗家庭", "12345"),
        ("困境儿童分类保障", "市民政局", "按困境类型给予基本生活保障。", "困境儿童", "12345"),
        ("残疾儿童康复救助", "市残联", "按规定给予康复救助补贴。", "0—6岁残疾儿童", "12345"),
    ]),
    ("关爱服务", [
        ("儿童心理健康咨询", "市卫生健康委", "提供心理咨询和危机干预。", "有需要的儿童及家长", "12356"),
        ("家庭教育指导服务", "市妇联", "开展家庭教育讲座和个别咨询。", "儿童家长", "12338"),
        ("社区儿童之家活动", "市民政局", "儿童之家免费开放并组织活动。", "社区内儿童", "所在社区"),
        ("普惠托育服务", "市卫生健康委", "普惠托育机构提供全日托或临时托。", "3岁以下婴幼儿", "12345"),
    ]),
]
GUANGZHOU_EXPLANATION = ("说明：", "1. 本表为测试数据，内容虚构。", "2. 咨询电话以各部门公布为准。")


def write_guangzhou_xlsx(path: Path) -> Path:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "清单"
    sheet.append([GUANGZHOU_TITLE])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(GUANGZHOU_HEADER))
    sheet.append(list(GUANGZHOU_HEADER))
    number = 0
    for category, rows in GUANGZHOU_GROUPS:
        first = sheet.max_row + 1
        for i, (item, department, content, target, phone) in enumerate(rows):
            number += 1
            sheet.append([category if i == 0 else None, number, item, department, content, target, phone])
        sheet.merge_cells(start_row=first, start_column=1, end_row=first + len(rows) - 1, end_column=1)
    notes = workbook.create_sheet("说明")
    for line in GUANGZHOU_EXPLANATION:
        notes.append([line])
    hidden = workbook.create_sheet("字典")
    hidden.append(["服务项目", "服务内容"])
    hidden.append(["隐藏事项", "不应读到"])
    hidden.sheet_state = "hidden"
    return _save_xlsx(workbook, path)


# ---------------------------------------------------------------- N-row tables, any format

_TEMPLATES = [  # (category, item, object, content, departments, channel)
    ("教育服务", "义务教育入学", "适龄随迁子女", "在居住地就近入学，与本地学生同等对待。", "市教育局", "居住地学校"),
    ("教育服务", "学生资助", "家庭经济困难学生", "按规定享受助学金和生活补助。", "市教育局、市财政局", "就读学校"),
    ("医疗卫生", "预防接种", "0—6岁儿童", "免费接种免疫规划疫苗。", "市卫生健康委", "社区卫生服务中心"),
    ("医疗卫生", "医保参保", "流动儿童", "在居住地参加城乡居民医保。", "市医保局", "便民服务中心"),
    ("社会保障", "临时救助", "困难家庭", "遭遇急难可申请临时救助。", "市民政局", "乡镇（街道）"),
    ("社会保障", "残疾儿童康复救助", "0—6岁残疾儿童", "定点机构康复并给予补贴。", "市残联", "县区残联"),
    ("关爱服务", "心理健康服务", "儿童及家长", "提供心理咨询和转介。", "市卫生健康委", "心理援助热线"),
    ("关爱服务", "家庭教育指导", "儿童家长", "开展家庭教育讲座和咨询。", "市妇联", "家长学校"),
    ("住房托育", "保障性租赁住房", "新市民家庭", "符合条件的可申请租赁住房。", "市住房城乡建设局", "住房保障窗口"),
    ("住房托育", "普惠托育", "3岁以下婴幼儿", "入托普惠托育机构享受补贴。", "市卫生健康委", "托育机构"),
]
TABLE_HEADER = ("序号", "服务类别", "服务项目", "服务对象", "服务内容", "责任单位", "办理渠道")
TABLE_TITLE = "流动儿童关爱服务清单（测试，{rows}项）"


def table_rows(count: int) -> list[tuple[str, ...]]:
    """``count`` rows (序号, 类别, 项目, 对象, 内容, 单位, 渠道): ten rows per category in turn."""
    rows = []
    for i in range(count):
        category, item, target, content, departments, channel = _TEMPLATES[(i // 10) % len(_TEMPLATES)]
        rows.append((str(i + 1), category, f"{item}（第{i + 1}项）", target, content, departments, channel))
    return rows


def _runs(rows: list[tuple[str, ...]]) -> list[tuple[int, int]]:
    """(first, last) row indices of each run of one category."""
    runs, start = [], 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i][1] != rows[start][1]:
            runs.append((start, i - 1))
            start = i
    return runs


def make_table_document(kind: str, rows: int, path: str | Path, *, repeat_header: bool = True) -> Path:
    """An N-row checklist table (``table_rows``) as ``kind`` ("html", "docx", "xlsx" or "pdf") at
    ``path``: merged category cells in HTML, Word and Excel; in a PDF the category is printed on
    every row and the header repeated on each page unless ``repeat_header`` is False."""
    path, data = Path(path), table_rows(rows)
    title = TABLE_TITLE.format(rows=rows)
    if kind == "html":
        lines = [f"<html><head><meta charset='utf-8'><title>{title}</title></head><body><h1>{title}</h1>",
                 "<table border='1'><tr>" + "".join(f"<th>{h}</th>" for h in TABLE_HEADER) + "</tr>"]
        starts = {first: last - first + 1 for first, last in _runs(data)}
        for i, row in enumerate(data):
            category = f"<td rowspan='{starts[i]}'>{row[1]}</td>" if i in starts else ""
            lines.append(f"<tr><td>{row[0]}</td>{category}" + "".join(f"<td>{v}</td>" for v in row[2:]) + "</tr>")
        lines.append("</table></body></html>")
        path.write_text("\n".join(lines), encoding="utf-8")
        return path
    if kind == "docx":
        import docx

        document = docx.Document()
        document.add_paragraph(title)
        table = document.add_table(rows=len(data) + 1, cols=len(TABLE_HEADER))
        for c, name in enumerate(TABLE_HEADER):
            table.cell(0, c).text = name
        for i, row in enumerate(data, start=1):
            for c, value in enumerate(row):
                if c != 1:
                    table.cell(i, c).text = value
        for first, last in _runs(data):
            table.cell(first + 1, 1).merge(table.cell(last + 1, 1)).text = data[first][1]
        document.core_properties.title = title
        return _save_docx(document, path)
    if kind == "xlsx":
        import openpyxl

        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.title = "清单"
        sheet.append(list(TABLE_HEADER))
        for i, row in enumerate(data):
            sheet.append([row[0], row[1] if i == 0 or data[i - 1][1] != row[1] else None, *row[2:]])
        for first, last in _runs(data):
            sheet.merge_cells(start_row=first + 2, start_column=2, end_row=last + 2, end_column=2)
        return _save_xlsx(workbook, path)
    if kind == "pdf":
        from reportlab.lib import colors
        from reportlab.platypus import Paragraph, Table, TableStyle

        _, cell, _ = _pdf_styles()
        cells = [[Paragraph(v, cell) for v in TABLE_HEADER]] + [[Paragraph(v, cell) for v in row] for row in data]
        table = Table(cells, colWidths=[28, 48, 90, 62, 120, 75, 60], repeatRows=1 if repeat_header else 0)
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.6, colors.black)]))
        return _build_pdf(path, title, "本文件为测试生成的清单表格。", table, "注：测试数据。")
    raise ValueError(f"unknown kind {kind!r}")


# ---------------------------------------------------------------- reproducible packages

def _fixed_zip(data: bytes, path: Path) -> Path:
    """The package rewritten with fixed member timestamps and fixed document dates."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            blob = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                blob = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>2026-01-15T00:00:00Z", blob)
            target.writestr(zipfile.ZipInfo(info.filename, FIXED_DATE), blob, zipfile.ZIP_DEFLATED)
    path.write_bytes(out.getvalue())
    return path


def _save_docx(document, path: Path) -> Path:
    buffer = io.BytesIO()
    document.save(buffer)
    return _fixed_zip(buffer.getvalue(), Path(path))


def _save_xlsx(workbook, path: Path) -> Path:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _fixed_zip(buffer.getvalue(), Path(path))


def write_all(folder: Path = LOCAL) -> list[Path]:
    """The four local test documents, written into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / "zhengzhou_table.html"
    page.write_text(zhengzhou_html(), encoding="utf-8")
    return [page, write_wuhu_docx(folder / "wuhu_list.docx"), write_henan_pdf(folder / "henan_list.pdf"),
            write_guangzhou_xlsx(folder / "guangzhou_list.xlsx")]
