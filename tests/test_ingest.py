"""Tests for ingestion (knowledge.readers, knowledge.clean_text, knowledge.ingest): notice cleaning,
outline splitting, departments, categories."""

from __future__ import annotations

import re
from pathlib import Path

import opencc
import pytest

from knowledge.categories import CATEGORIES
from knowledge.clean_text import clean_text
from knowledge.errors import IngestError
from knowledge.ingest import CATEGORY_KEYWORDS, ParsedClause, guess_category, parse_notice, split_outline
from knowledge.readers.text import read_document
from tests.conftest import REPO

DATA = Path(__file__).parent / "data"
HTML_NOTICE = DATA / "notice_traditional_pinyin.html"
PLAIN_NOTICE = DATA / "notice_plain.txt"
ACTION_PLAN = REPO.parent / "shared" / "research" / "action_plan.txt"

TONED_LATIN = re.compile("[\u00c0-\u024f\u1e00-\u1eff\u0300-\u036f]")
EDUCATION_CODES = {"preschool", "compulsory_education", "exams", "student_aid"}


@pytest.fixture(scope="module")
def html_raw() -> str:
    text, is_html = read_document(HTML_NOTICE)
    assert is_html
    return text


@pytest.fixture(scope="module")
def html_clauses(html_raw: str) -> dict[str, ParsedClause]:
    return {c.clause: c for c in parse_notice(html_raw)}


@pytest.fixture(scope="module")
def plain_clauses() -> dict[str, ParsedClause]:
    text, is_html = read_document(PLAIN_NOTICE)
    assert not is_html
    return {c.clause: c for c in parse_notice(text, html=False)}


# ---------------------------------------------------------------- the Traditional + pinyin web page

def test_fixture_really_is_traditional_with_pinyin(html_raw: str) -> None:
    for marker in ("關(guān)於", "網（wǎng）", "發(fā)展", "當(dāng)地", "(bǎo zhàng)", "責任編輯", "ICP備"):
        assert marker in html_raw


def test_html_pinyin_stripped_and_converted(html_raw: str) -> None:
    text = clean_text(html_raw)
    assert not TONED_LATIN.search(text)
    assert "关于印发《东岭省加强流动儿童关爱保护实施方案》的通知" in text
    assert "方便网上办理参保登记" in text  # 網（wǎng）上 → 网上
    assert "全面发展" in text and "在当地平等接受义务教育" in text and "予以保障。" in text
    assert "（省教育厅、省卫生健康委" in text  # pinyin inside the department line
    assert opencc.OpenCC("t2s").convert(text) == text  # nothing Traditional left
    for traditional in ("關", "於", "網", "發", "當", "兒", "醫", "廳"):
        assert traditional not in text


def test_html_boilerplate_scripts_and_nav_dropped(html_raw: str) -> None:
    text = clean_text(html_raw)
    for junk in ("责任编辑", "李明", "版权所有", "Copyright", "ICP备", "打印", "关闭窗口", "分享到", "网站地图",
                 "联系我们", "扫一扫", "当前位置", "发布时间", "字号", "首页", "门户网站", "_hmt", "统计",
                 "（八）", "<", ">"):
        assert junk not in text, junk
    assert "“两为主、两纳入，以居住证为主要依据”" in text  # &ldquo; &rdquo; unescaped


def test_html_clause_references_exact(html_clauses: dict[str, ParsedClause]) -> None:
    assert list(html_clauses) == ["前言", "一、（一）", "一、（二）", "一、（三）", "一、（四）",
                                  "二、（五）", "二、（六）", "二、（七）"]


def test_html_departments(html_clauses: dict[str, ParsedClause]) -> None:
    assert {ref: c.departments for ref, c in html_clauses.items()} == {
        "前言": [],
        "一、（一）": ["省教育厅"],
        "一、（二）": ["省医保局", "省税务局"],
        "一、（三）": ["省卫生健康委", "省疾控局"],
        "一、（四）": ["省民政厅"],
        "二、（五）": ["省教育厅", "省卫生健康委", "共青团东岭省委"],
        "二、（六）": ["省住房城乡建设厅", "省财政厅"],  # 牵头 / 配合 stripped
        "二、（七）": ["省人力资源社会保障厅"],  # department line on its own line (<br>)
    }


def test_html_titles_and_content(html_clauses: dict[str, ParsedClause]) -> None:
    first = html_clauses["一、（一）"]
    assert first.title == "落实随迁子女入学政策"
    assert first.content.startswith("各地教育部门要落实")
    assert first.content.endswith("平等接受义务教育。")
    for clause in html_clauses.values():
        assert "负责" not in clause.content and "牵头" not in clause.content
        assert not clause.content.startswith(("（", "("))
    assert html_clauses["二、（七）"].title == "促进父母稳定就业"
    assert "民发〔2024〕35号" in html_clauses["前言"].content


def test_html_categories_are_known_ones(html_clauses: dict[str, ParsedClause]) -> None:
    assert all(c.category in CATEGORIES for c in html_clauses.values())


# ---------------------------------------------------------------- the Simplified plain-text notice

def test_plain_clause_references_exact(plain_clauses: dict[str, ParsedClause]) -> None:
    # 一、 and 三、 have no sub-clauses; (一) sits inline after the 二、 heading
    assert list(plain_clauses) == ["前言", "一、", "二、（一）", "二、（二）", "二、（三）", "二、（四）", "三、"]


def test_plain_real_parentheticals_preserved(plain_clauses: dict[str, ParsedClause]) -> None:
    preschool = plain_clauses["二、（一）"]
    assert "《某市普惠性民办幼儿园认定和扶持办法(试行)》(2025年修订)" in preschool.content
    assert "(本市市辖区之间流动的除外)" in plain_clauses["一、"].content
    bus = plain_clauses["二、（三）"]
    assert bus.content.endswith("享受乘车优惠(Student Card),具体办法另行制定(详见附件2)。")
    assert bus.departments == []  # (详见附件2) is not a department line
    assert "儿童友好城市(Child Friendly City)建设" in plain_clauses["二、（四）"].content
    assert plain_clauses["前言"].title == "某市流动儿童关爱服务清单实施细则(试行)"


def test_plain_departments_titles_and_epilogue(plain_clauses: dict[str, ParsedClause]) -> None:
    assert plain_clauses["一、"].title == "服务对象"
    assert plain_clauses["一、"].departments == ["市民政局"]
    assert plain_clauses["二、（一）"].departments == ["市教育局", "市财政局"]
    assert plain_clauses["二、（二）"].departments == ["市医保局"]  # department line on its own line
    assert plain_clauses["二、（四）"].departments == ["市发展改革委", "团市委", "市妇联"]
    last = plain_clauses["三、"]
    assert (last.title, last.departments) == ("工作要求", ["各区人民政府"])
    assert last.content == "各区民政局要建立重点关爱服务对象信息台账,定期走访探视,确保信息安全。"


# ---------------------------------------------------------------- clean_text units

@pytest.mark.parametrize(("raw", "expected"), [
    ("關(guān)於", "关于"),
    ("網（wǎng）絡", "网络"),
    ("發(fā)展", "发展"),
    ("當(dāng)地", "当地"),
    ("流動(liú dòng)兒童", "流动儿童"),
    ("關（guān yú）於", "关于"),
    ("保(bao3)障", "保障"),
    ("女(nǚ)童", "女童"),
    ("綠(lǜ)色", "绿色"),
])
def test_pinyin_annotations_stripped(raw: str, expected: str) -> None:
    assert clean_text(raw, html=False) == expected


@pytest.mark.parametrize("kept", [
    "(一)加强保障", "（一）加强保障", "工作(民政部负责)", "（教育部负责）", "到(2024年)底", "办法(试行)",
    "城市(English words)", "友好(Child Friendly City)", "号码(ICP)", "网络(5G)", "疫情(COVID-19)",
    "见附件(A)",
])
def test_real_parentheticals_kept(kept: str) -> None:
    assert clean_text(kept, html=False) == kept


def test_pinyin_check_is_linear_on_hostile_input() -> None:
    hostile = "字(ā" + "an" * 19 + "q)"  # regex backtracking over syllable splits would take minutes
    assert clean_text(hostile, html=False) == hostile


def test_fullwidth_forms_and_whitespace() -> None:
    raw = "　２０２５年ＡＢＣ　班，（一）  各地  要\t加强。\r\n\r\n\u200b第二行  "
    assert clean_text(raw, html=False) == "2025年ABC 班，（一）各地要加强。\n第二行"


def test_html_sniffing() -> None:
    assert clean_text("<div><p>一、总体要求</p><p>（一）内容&amp;说明</p></div>") == "一、总体要求\n（一）内容&说明"
    assert clean_text("年龄<16岁,且居住>6个月") == "年龄<16岁,且居住>6个月"  # no tags: left alone
    assert clean_text("<p>a</p>", html=False) == "<p>a</p>"


def test_boilerplate_lines_dropped_from_plain_text() -> None:
    raw = "正文第一段。\n来源：民政部网站\n编辑: 张三\n字号：大 中 小\n【打印】【关闭】\n京ICP备05065145号\n正文第二段。"
    assert clean_text(raw, html=False) == "正文第一段。\n正文第二段。"


# ---------------------------------------------------------------- split_outline units

def test_inline_clause_after_part_heading_and_numbers_to_twenty() -> None:
    body = "\n".join(f"（{n}）第{i}项内容。具体要求如下，各地要落实。" for i, n in enumerate(
        "一 二 三 四 五 六 七 八 九 十 十一 十二 十三 十四 十五 十六 十七 十八 十九 二十".split(), 1))
    clauses = split_outline("一、总体要求" + body)  # （一） follows the part heading on the same line
    assert [c.clause for c in clauses][:2] == ["一、（一）", "一、（二）"]
    assert clauses[-1].clause == "一、（二十）"
    assert len(clauses) == 20
    assert clauses[-1].title == "第20项内容"


def test_clauses_without_parts_and_trivial_preamble() -> None:
    clauses = split_outline("通知\n(一)做好入学工作。各地要保障。(教育局负责)\n(二)做好参保工作。各地要参保。")
    assert [c.clause for c in clauses] == ["（一）", "（二）"]  # preamble "通知" is trivial
    long_intro = "为加强流动儿童关爱保护，根据有关规定，结合本地实际，制定本方案。"
    assert split_outline(long_intro + "\n一、总体要求\n（一）各地要加强。")[0].clause == "前言"


def test_full_stop_after_department_line_kept() -> None:
    [clause] = split_outline("二、其他事项\n各地要做好医保参保工作（省医保局负责）。\n东岭省民政厅\n2024年10月8日")
    assert (clause.clause, clause.title) == ("二、", "其他事项")
    assert (clause.content, clause.departments) == ("各地要做好医保参保工作。", ["省医保局"])


def test_heading_on_its_own_line() -> None:
    [clause] = split_outline("（一）指导思想。\n以加强关爱保护为主题。\n坚持儿童优先。")
    assert (clause.title, clause.content) == ("指导思想", "以加强关爱保护为主题。\n坚持儿童优先。")


def test_title_without_short_heading() -> None:
    text = "（一）各地要为符合条件的流动儿童家庭提供公共租赁住房保障，并为其他家庭发放租赁补贴，具体标准由各地确定。"
    [clause] = split_outline(text)
    assert clause.title == text[3:33]
    assert clause.content == text[3:]


@pytest.mark.parametrize(("tail", "departments"), [
    ("(民政部、教育部按照职责分工负责)", ["民政部", "教育部"]),
    ("(教育部负责)", ["教育部"]),
    ("（民政厅牵头，教育厅、卫生健康委配合）", ["民政厅", "教育厅", "卫生健康委"]),
    ("（民政厅、教育厅等部门按照职责分工负责）", ["民政厅", "教育厅"]),
    ("(中央政法委、国务院妇儿工委办公室)", ["中央政法委", "国务院妇儿工委办公室"]),
    ("(2025年)", []),
    ("(试行)", []),
    ("(市、区、旗)", []),
    ("(详见附件2)", []),
    ("(城市中心城区的市辖区之间异地居住或生活的除外)", []),
])
def test_department_line_parsing(tail: str, departments: list[str]) -> None:
    [clause] = split_outline(f"（一）加强保障。各地要落实保障措施{tail}")
    assert clause.departments == departments
    assert clause.content.endswith("落实保障措施" if departments else tail)


# ---------------------------------------------------------------- categories

@pytest.mark.parametrize(("notice", "expected"), [
    ("html", {
        "一、（一）": "compulsory_education",
        "一、（二）": "medical_insurance",
        "一、（三）": "immunization",
        "一、（四）": "temporary_assistance",
        "二、（五）": "mental_health",
        "二、（六）": "housing",
        "二、（七）": "parent_employment",
    }),
    ("plain", {
        "一、": "eligibility",
        "二、（一）": "preschool",
        "二、（二）": "medical_settlement",
        "二、（三）": "transport",
        "二、（四）": "urban_integration",
        "三、": "priority_care",
    }),
])
def test_notice_categories(request: pytest.FixtureRequest, notice: str, expected: dict[str, str]) -> None:
    """Each clause of the two sample notices (the preface aside) gets its category."""
    clauses = request.getfixturevalue(f"{notice}_clauses")
    assert {ref: c.category for ref, c in clauses.items() if ref != "前言"} == expected


def test_keyword_table_covers_every_category() -> None:
    assert set(CATEGORY_KEYWORDS) == set(CATEGORIES)
    assert all(CATEGORY_KEYWORDS[code] for code in CATEGORIES)


@pytest.mark.parametrize(("text", "code"), [
    ("为适龄儿童提供国家免疫规划疫苗接种服务", "immunization"),
    ("发展普惠托育服务，增加托位供给", "childcare"),
    ("帮助家庭掌握急救等卫生常识", "health_literacy"),
    ("保障流动残疾儿童在居住地申请康复救助", "disability"),
    ("孤儿、事实无人抚养儿童纳入基本生活保障", "basic_living"),
    ("鼓励社会力量捐赠财产，开展慈善帮扶", "charity"),
    ("净化儿童网络空间，营造安全的网络环境", "online_safety"),
    ("完善随迁子女在当地参加中考高考政策", "exams"),
    ("对家庭经济困难学生给予资助", "student_aid"),
    ("发现儿童遭受虐待、遗弃的，依法强制报告", "child_protection"),
    ("建立重点关爱服务对象信息台账，定期走访探视", "priority_care"),
    ("开展流动儿童监测摸排工作", "eligibility"),
    ("各地要加强组织领导，压实责任。", "child_protection"),  # nothing scores → fallback
])
def test_guess_category_samples(text: str, code: str) -> None:
    assert guess_category(text) == code


def test_title_words_weigh_more() -> None:
    text = "学校提供心理辅导，并开展阅读指导和文娱活动。"
    assert guess_category(text, title="提供心理健康服务") == "mental_health"
    assert guess_category(text, title="丰富精神文化生活") == "culture_activities"


def test_stock_phrases_do_not_score() -> None:
    assert guess_category("深入学习贯彻党的二十大精神") == "child_protection"  # 深入学习 ≠ 入学


@pytest.mark.skipif(not ACTION_PLAN.exists(), reason="shared research copy of the action plan not present")
def test_action_plan_outline_and_categories() -> None:
    clauses = {c.clause: c for c in parse_notice(ACTION_PLAN.read_text(encoding="utf-8"))}
    numbered = [ref for ref in clauses if ref != "前言"]
    assert len(numbered) == 17
    assert numbered[0] == "一、（一）" and numbered[-1] == "五、（十七）"
    assert clauses["二、（四）"].departments == ["民政部", "教育部", "公安部", "国家卫生健康委", "国家医保局",
                                             "国家疾控局", "中国残联"]
    assert clauses["一、（一）"].title == "指导思想"
    service = {ref: c.category for ref, c in clauses.items()
               if ref.partition("、")[2] in {"（七）", "（八）", "（九）", "（十）", "（十一）", "（十二）", "（十三）"}}
    print("\n" + "\n".join(f"{ref} {clauses[ref].title} → {code}" for ref, code in service.items()))
    assert service["三、（七）"] in EDUCATION_CODES
    assert service["四、（十一）"] == "mental_health"
    assert service["四、（十）"] == "family_education"
    assert service["四、（十三）"] == "urban_integration"
    assert clauses["二、（四）"].category == "eligibility"
    assert clauses["二、（五）"].category == "priority_care"


# ---------------------------------------------------------------- errors and files

@pytest.mark.parametrize("raw", ["", "这是一段没有编号的普通文字，说明流动儿童可以就近入学。", "<p>只有网页外壳</p>"])
def test_no_outline_raises(raw: str) -> None:
    with pytest.raises(IngestError) as info:
        parse_notice(raw)
    assert isinstance(info.value, ValueError)
    assert "编号" in info.value.message


def test_read_document_gb18030(tmp_path: Path) -> None:
    original = PLAIN_NOTICE.read_text(encoding="utf-8")
    target = tmp_path / "notice_gbk.txt"
    target.write_bytes(original.encode("gb18030"))
    text, is_html = read_document(target)
    assert (text, is_html) == (original, False)
    assert [c.clause for c in parse_notice(text)][-1] == "三、"


def test_read_document_bom_and_sniffing(tmp_path: Path) -> None:
    bom = tmp_path / "bom.txt"
    bom.write_bytes("\ufeff一、总体要求".encode("utf-8"))
    assert read_document(bom) == ("一、总体要求", False)
    page = tmp_path / "page.txt"
    page.write_text("<html><body><p>一、总体要求</p></body></html>", encoding="utf-8")
    assert read_document(page)[1] is True
    htm = tmp_path / "page.htm"
    htm.write_text("一、总体要求", encoding="utf-8")
    assert read_document(htm)[1] is True


def test_read_document_undecodable(tmp_path: Path) -> None:
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"\xff\xfe\xff\x80")
    with pytest.raises(IngestError):
        read_document(broken)


def test_parsed_clause_is_frozen(html_clauses: dict[str, ParsedClause]) -> None:
    with pytest.raises(AttributeError):
        html_clauses["一、（一）"].title = "x"  # type: ignore[misc]
