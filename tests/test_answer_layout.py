"""An answer as a parent reads it on a phone (issue 13): the direct answer and the next step on
a short first screen, the source on one line, the rest behind 详细, and no link to a page that
does not hold the cited text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge import item_text
from knowledge.answer import DETAIL_TITLE, item_answer
from knowledge.citation import source_record
from knowledge.screen import EXAMPLE_NOTE, FIRST_SCREEN_CHARS, FIRST_SCREEN_LINES, first_screen, render_item, shorten
from knowledge.index import IndexedItem
from knowledge.schema import Authority, load_checklist_text

SHIPPED = sorted(Path(__file__).resolve().parent.parent.joinpath("knowledge", "data", "checklists").glob("*.yaml"))
LONG_NOTICE = "新疆维吾尔自治区伊犁哈萨克自治州伊宁市暂未收录本地服务清单，以上是全国通用的规定"
URL = re.compile(r"https?://\S+")


def shipped_entries() -> list[IndexedItem]:
    entries = []
    for path in SHIPPED:
        checklist = load_checklist_text(path.read_text(encoding="utf-8"), str(path))
        entries += [IndexedItem(checklist.header, item) for item in checklist.items]
    return entries


ENTRIES = shipped_entries()


def national_header(authority: str = "official"):
    """A national checklist header of ``authority`` for synthetic items."""
    from knowledge.schema import ChecklistHeader

    return ChecklistHeader(id=authority, locality={"code": "national", "name": "全国"}, title=f"{authority}清单",
                           issuer="测试", published="2026-01-01", version=1, authority=authority)


def screen_lines(text: str) -> tuple[list[str], str]:
    *lines, source = text.split("\n")
    return lines, source


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.item.id)
def test_every_shipped_items_first_screen_is_short_and_ends_with_its_source(entry):
    for notice in ("", LONG_NOTICE if entry.locality == "national" else ""):
        lines, source = screen_lines(first_screen(entry, notice))
        assert 1 <= len(lines) <= FIRST_SCREEN_LINES and sum(map(len, lines)) <= FIRST_SCREEN_CHARS, lines
        assert source.startswith("依据：") and entry.checklist.published.isoformat() in source
        assert source.endswith(notice)  # no local list: said on the source line, the answer first
        if entry.checklist.doc_number:
            assert entry.checklist.doc_number in source and entry.item.clause in source
        text = "\n".join(lines)
        assert not URL.search(text) and "负责部门" not in text
        if entry.checklist.authority is Authority.EXAMPLE:
            assert lines[0] == EXAMPLE_NOTE  # demo data is never mistaken for a real policy


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.item.id)
def test_every_shipped_item_has_a_written_answer_and_step(entry):
    """The first screen of a shipped item is written for parents, not cut from the notice's text."""
    item = entry.item
    assert item.brief, "no brief"
    assert item.next_step or not item.how_to_apply, "how_to_apply but no next_step"
    if entry.checklist.authority is not Authority.OFFICIAL:  # guidance cites laws and notices of its own
        assert item.basis
    lines, _ = screen_lines(first_screen(entry))
    assert item.brief in lines


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.item.id)
def test_no_answer_links_to_a_page_not_checked_to_hold_its_text(entry):
    """A news summary of a notice does not hold the cited clause; only ``verified_url`` is shown."""
    for text in (first_screen(entry, LONG_NOTICE), render_item(entry)):
        assert set(URL.findall(text)) <= ({entry.item.verified_url} - {""})
    assert source_record(entry)["link"] == entry.item.verified_url


def test_the_detail_holds_what_the_first_screen_leaves_out():
    entry = next(e for e in ENTRIES if e.item.departments and e.item.materials)
    answer = item_answer(entry)
    assert answer.buttons[0].title == DETAIL_TITLE and answer.buttons[0].detail and answer.buttons[0].item == entry.key
    detail = item_answer(entry, detail=True)
    assert not detail.buttons and detail.sources == answer.sources
    for part in (entry.item.service_object, entry.item.content, "负责部门", entry.item.materials[0], "来源：《"):
        assert part in detail.text


def test_an_item_without_a_written_brief_is_shortened_at_a_sentence_or_clause():
    text = "第一句话说明谁可以申请。第二句话说明怎么申请，要带什么材料，找哪个部门，什么时候去办理比较合适。"
    assert shorten(text, 20) == "第一句话说明谁可以申请。"
    assert shorten("一二三四五，六七八九十，甲乙丙丁戊己庚辛壬癸子丑寅卯", 12) == "一二三四五，六七八九十…"
    assert shorten("一" * 30, 10) == "一" * 9 + "…"
    assert shorten("短句。", 10) == "短句。"


@pytest.mark.parametrize("question, aspect", [
    ("报名要准备哪些证件", "materials"), ("上幼儿园收不收钱", "cost"), ("心理热线打几号", "contact"),
    ("医保一般几月份交", "time"), ("临时救助去哪申请", "how"), ("外地户口的孩子能不能在这上学", "who"),
    ("这边对流动儿童有啥照顾", "what"), ("办居住证要多少钱", "cost"),
    ("网络环境这块归哪个部门管", "in_charge"), ("这些活动是谁组织的", "in_charge"),
    ("该去哪个部门办", "how"), ("儿童友好城市建设哪个部门在弄", "in_charge"), ("医保的事打啥电话问", "contact"),
    ("学校这样不合理 能找谁反映", "contact"), ("孩子在学校被欺负 还被要钱", "what"),
    ("孩子被同学要钱 不敢跟老师说", "what"), ("孩子爸爸天天打孩子 谁管", "what"), ("伤残补助多少钱", "cost"),
    # whether an allowance's standard changes is a question of what is paid; a phone line that works
    # back home is no question of data shared with the home county
    ("补助的标准会不会往上调", "cost"), ("生活费标准还会涨吗", "cost"),
    ("12356啥时候开的 老家那边打也通吗", "time"), ("在这边登记的 老家那边能看到吗", "shared"),
    ("听说有个心理热线12356 现在全国都能打通了吗 啥时候开始的", "time"), ("12355是什么热线", "what"),
    ("心理热线打几号", "contact"),
])
def test_what_a_question_is_after(question, aspect):
    from knowledge.aspects import aspect_of

    assert aspect_of(question) == aspect


def test_the_first_screen_leads_with_what_was_asked_or_says_the_checklist_does_not_say():
    from knowledge import aspects
    from knowledge.schema import ChecklistHeader, ChecklistItem

    header = ChecklistHeader(id="t", locality={"code": "440306", "name": "宝安区"}, title="测试清单", issuer="测试",
                             published="2026-01-01", version=1, authority="official")
    item = ChecklistItem(id="a", category="compulsory_education", title="插班", service_object="随迁子女",
                         content="每学期开学前两周可以申请插班，不收任何费用。咨询电话0755-12345678。",
                         how_to_apply="到学校教务处申请", materials=["居住证", "学籍证明"], clause="（一）",
                         brief="开学前两周向学校申请插班", next_step="到学校教务处申请")
    entry = IndexedItem(header, item)
    lines = lambda aspect: first_screen(entry, aspect=aspect).split("\n")  # noqa: E731
    assert lines(aspects.MATERIALS)[0] == "要带：居住证、学籍证明"
    assert lines(aspects.COST)[0] == "每学期开学前两周可以申请插班，不收任何费用。"
    assert lines(aspects.CONTACT)[0] == "电话：0755-12345678"
    assert lines(aspects.HOW)[:2] == ["下一步：到学校教务处申请", "开学前两周向学校申请插班"]
    bare = IndexedItem(header, item.model_copy(update={"content": "可以申请插班。", "materials": []}))
    for aspect, says in ((aspects.MATERIALS, "没有列出要带的材料"), (aspects.COST, "没有写费用"),
                         (aspects.TIME, "没有写具体时间"), (aspects.CONTACT, "12345")):
        assert says in first_screen(bare, aspect=aspect).split("\n")[0]


def test_a_difference_question_gets_both_items_side_by_side():
    from knowledge import aspects
    from knowledge.screen import contrast_screen

    assert aspects.aspect_of("公办幼儿园和普惠的民办园有啥区别") == aspects.DIFFERENCE
    first, second = ENTRIES[10], ENTRIES[20]
    *lines, source = contrast_screen(first, second, LONG_NOTICE).split("\n")
    assert len(lines) == 2 and lines[0].startswith("①") and lines[1].startswith("②")
    assert sum(map(len, lines)) <= FIRST_SCREEN_CHARS  # each item cut to its share
    assert first.item.title.strip("【】")[:6] in lines[0] and second.item.title.strip("【】")[:6] in lines[1]
    assert source.startswith("依据：") and first.item.clause.split("；")[0] in source
    assert source.endswith(LONG_NOTICE)
    assert second.checklist.published.isoformat() in source


def test_two_services_side_by_side_say_who_runs_each_when_the_offices_differ():
    """"托育跟幼儿园有啥区别": 卫生健康部门 / 教育部门 is often the very difference asked."""
    from knowledge.screen import contrast_screen
    from knowledge.schema import ChecklistHeader, ChecklistItem

    header = ChecklistHeader(id="t", locality={"code": "national", "name": "全国"}, title="测试清单", issuer="测试",
                             published="2026-01-01", version=1, authority="official")
    care = ChecklistItem(id="a", category="childcare", title="普惠托育", service_object="婴幼儿", content="发展普惠托育。",
                         departments=["国家卫生健康委", "各地卫生健康部门"], how_to_apply="", materials=[], clause="（八）")
    school = ChecklistItem(id="b", category="preschool", title="普惠幼儿园", service_object="学前儿童",
                           content="就近上普惠性幼儿园。", departments=["教育部"], how_to_apply="", materials=[],
                           clause="（七）")
    lines = contrast_screen(IndexedItem(header, care), IndexedItem(header, school)).split("\n")
    assert lines[0].startswith("①普惠托育（卫生健康部门）：") and lines[1].startswith("②普惠幼儿园（教育部门）：")
    alike = school.model_copy(update={"departments": ["各地卫生健康部门"]})
    lines = contrast_screen(IndexedItem(header, care), IndexedItem(header, alike)).split("\n")
    assert lines[0].startswith("①普惠托育：") and "（" not in lines[1].split("：")[0]  # the same office: not said
    shared = school.model_copy(update={"departments": ["教育部", "各地卫生健康部门"]})  # one office in common
    lines = contrast_screen(IndexedItem(header, care), IndexedItem(header, shared)).split("\n")
    assert lines[0].startswith("①普惠托育：") and lines[1].startswith("②普惠幼儿园：")


def test_who_runs_it_is_the_items_own_sentence_or_its_offices_in_plain_words():
    from knowledge import aspects
    from knowledge.schema import ChecklistItem

    item = ChecklistItem(id="a", category="online_safety", title="网络", service_object="儿童",
                         content="各地要净化儿童上网环境。", departments=["中央网信办", "各地网信部门", "最高人民法院"],
                         how_to_apply="", materials=[], clause="（一）")
    assert item_text.aspect_line(item, aspects.IN_CHARGE) == "负责：网信部门"
    led = item.model_copy(update={"content": "每年摸排一次。摸排由民政部门牵头，教育部门参与。"})
    assert item_text.aspect_line(led, aspects.IN_CHARGE) == "摸排由民政部门牵头，教育部门参与。"
    assert item_text.plain_departments(["国家卫生健康委", "各地卫生健康部门", "共青团中央", "示例：某街道办事处（虚构）"]) == [
        "卫生健康部门", "团委", "示例：某街道办事处（虚构）"]
    assert item_text.plain_departments(["乡镇人民政府（街道办事处）", "民政部", "财政部"]) == [
        "乡镇政府（街道办）", "民政部门", "财政部门"]
    nobody = item.model_copy(update={"departments": []})
    assert "12345" in item_text.aspect_line(nobody, aspects.IN_CHARGE)


def test_a_yes_or_no_question_reads_the_answer_before_who_it_is_for_and_no_line_twice():
    from knowledge import aspects
    from knowledge.schema import ChecklistHeader, ChecklistItem

    header = ChecklistHeader(id="t", locality={"code": "440306", "name": "宝安区"}, title="测试清单", issuer="测试",
                             published="2026-01-01", version=1, authority="official")
    item = ChecklistItem(id="a", category="compulsory_education", title="插班", service_object="随迁子女",
                         content="每年9月前可以申请插班。", how_to_apply="到学校教务处申请", materials=[],
                         clause="（一）", brief="每年9月前可以申请插班", next_step="到学校教务处申请")
    lines = first_screen(IndexedItem(header, item), aspect=aspects.WHO).split("\n")
    assert lines[:2] == ["每年9月前可以申请插班", "适用：随迁子女"]
    timed = first_screen(IndexedItem(header, item), aspect=aspects.TIME).split("\n")
    assert timed[0] == "每年9月前可以申请插班" and timed.count("每年9月前可以申请插班") == 1


def test_who_sees_registered_data_is_answered_by_the_items_line_on_keeping_or_sharing_it():
    from knowledge import aspects
    from knowledge.schema import ChecklistItem

    assert aspects.aspect_of("在这边登记的信息 老家那边也能看到吗") == aspects.SHARED
    assert aspects.aspect_of("登记进去会不会传出去让学校同学知道") == aspects.DATA
    # the materials, the cost or the time asked beside "谁知道…" / "那边通知…" stay what is asked
    assert aspects.aspect_of("有谁知道打疫苗要带什么") == aspects.MATERIALS
    assert aspects.aspect_of("谁知道医保一年多少钱") == aspects.COST
    assert aspects.aspect_of("老家那边通知我们回去办手续 要带什么") == aspects.MATERIALS
    assert aspects.aspect_of("请问谁知道积分入学怎么算") != aspects.DATA
    assert aspects.aspect_of("学校会知道孩子上了重点关爱名单吗") == aspects.DATA
    item = ChecklistItem(id="a", category="priority_care", title="台账", service_object="流动儿童",
                         content="要建立台账，定期走访。要加强档案管理，确保信息安全。居住地和户籍地之间推送、比对信息。",
                         how_to_apply="", materials=[], clause="（五）")
    assert item_text.aspect_line(item, aspects.DATA) == "要加强档案管理，确保信息安全。"
    assert item_text.aspect_line(item, aspects.SHARED) == "居住地和户籍地之间推送、比对信息。"
    assert item_text.holds(item, aspects.DATA) and not item_text.holds(item, aspects.COST)
    silent = item.model_copy(update={"content": "要建立台账，定期走访。"})
    assert item_text.aspect_line(silent, aspects.DATA) == "" and not item_text.holds(silent, aspects.DATA)


def test_of_several_lines_the_one_closest_to_the_question_is_shown():
    from knowledge import aspects
    from knowledge.schema import ChecklistItem

    item = ChecklistItem(id="a", category="eligibility", title="摸排", service_object="流动儿童",
                         content="在外地住满6个月的孩子要摸排登记。流动儿童信息至少每半年更新一次。",
                         how_to_apply="", materials=[], clause="（四）")
    assert item_text.aspect_line(item, aspects.TIME) == "在外地住满6个月的孩子要摸排登记。"  # no question: the first
    assert item_text.aspect_line(item, aspects.TIME, "信息多久更新一回") == "流动儿童信息至少每半年更新一次。"
    # the line's number, named in the question and in every sentence about it, chooses nothing
    line = item.model_copy(update={"content": "国家设立12356心理援助热线（2024年12月报道）。截至2025年5月1日，全国31个省份均已开通。"})
    assert item_text.aspect_line(line, aspects.TIME, "12356是啥时候开通的") == "截至2025年5月1日，全国31个省份均已开通。"


def test_no_telephone_names_the_office_to_ask_and_money_for_a_kindergarten_is_no_fee():
    from knowledge import aspects
    from knowledge.schema import ChecklistItem

    item = ChecklistItem(id="a", category="medical_insurance", title="医保", service_object="流动儿童",
                         content="持居住证在居住地参加居民医保。", departments=["国家医保局"], how_to_apply="",
                         materials=[], clause="（八）")
    line = item_text.aspect_line(item, aspects.CONTACT)
    assert "当地医保部门" in line and "12345" in line
    home = item.model_copy(update={"departments": ["户籍地民政部门"]})
    assert "户籍地民政部门" in item_text.aspect_line(home, aspects.CONTACT)
    preschool = item.model_copy(update={"content": "落实公办园生均公用经费标准和普惠性民办园补助标准。"})
    assert not item_text.holds(preschool, aspects.COST)
    assert "没有写费用" in item_text.aspect_line(preschool, aspects.COST)
    rent = item.model_copy(update={"content": "符合条件的家庭可以领租赁补贴。"})
    assert item_text.holds(rent, aspects.COST)


def test_a_question_about_ages_leads_with_the_ages_and_prefers_the_item_that_says_them():
    from knowledge import aspects
    from knowledge.answer import compose
    from knowledge.retrieval import Hit, SearchResult
    from knowledge.schema import ChecklistItem

    for question in ("康复救助多大的娃能申请", "几岁能上", "是不是只管6岁以下的"):
        assert aspects.aspect_of(question) == aspects.AGE, question
    # an age told is no question about ages: the yes or no stays the answer
    assert aspects.aspect_of("孩子12岁 残疾康复还能申请吗") == aspects.WHO
    assert aspects.aspect_of("康复救助跟两项补贴是一回事吗") == aspects.DIFFERENCE
    header = national_header("official")
    plan = ChecklistItem(id="p", category="disability", title="康复救助", service_object="流动残疾儿童",
                         content="残疾孩子可以在居住地申请康复救助。", how_to_apply="", materials=[], clause="（八）",
                         brief="残疾孩子可以在居住地申请康复救助。", next_step="向残联申请")
    guide = plan.model_copy(update={"id": "g", "service_object": "0—6岁残疾儿童", "brief": "康复训练、辅具有救助。"})
    other = guide.model_copy(update={"id": "o", "category": "preschool"})
    hits = lambda *items: [Hit(IndexedItem(header, item), 0.9 - 0.01 * n, 0.9, 0.5, 0)  # noqa: E731
                           for n, item in enumerate(items)]
    answer = compose(SearchResult("康复救助多大的娃能申请", ("national",), hits(plan, guide), 0.9, False),
                     min_confidence=0.4)
    assert answer.text.split("\n")[0] == "适用：0—6岁残疾儿童" and answer.sources[0]["item_id"] == "g"
    # another service, or a question not about ages: the best item stays first
    answer = compose(SearchResult("康复救助多大的娃能申请", ("national",), hits(plan, other), 0.9, False),
                     min_confidence=0.4)
    assert answer.sources[0]["item_id"] == "p"
    answer = compose(SearchResult("康复救助怎么申请", ("national",), hits(plan, guide), 0.9, False),
                     min_confidence=0.4)
    assert answer.sources[0]["item_id"] == "p"


def test_a_materials_list_or_a_number_asked_is_answered_by_the_item_of_the_service_that_states_it():
    from knowledge import aspects
    from knowledge.answer import compose
    from knowledge.retrieval import Hit, SearchResult
    from knowledge.schema import ChecklistItem

    header = national_header("official")
    plan = ChecklistItem(id="p", category="temporary_assistance", title="临时救助", service_object="遇到急难的家庭",
                         content="在急难发生地可获临时救助。", how_to_apply="", materials=[], clause="（九）",
                         brief="遇到急难，可以在急难发生地获得临时救助。", next_step="向乡镇街道申请")
    guide = plan.model_copy(update={"id": "g", "materials": ["身份证", "困难情况说明"]})
    hits = lambda *items: [Hit(IndexedItem(header, item), 0.9 - 0.01 * n, 0.9, 0.5, 0)  # noqa: E731
                           for n, item in enumerate(items)]

    def answered(question, *items):
        return compose(SearchResult(question, ("national",), hits(*items), 0.9, False), min_confidence=0.4)

    reply = answered("申请临时救助要带啥材料", plan, guide)
    assert reply.sources[0]["item_id"] == "g" and reply.text.startswith("要带：身份证、困难情况说明")
    # whether one paper named in the question is needed: the item about it answers, not another's list
    assert not aspects.asks_for_the_list("学校让开老家没人照顾的证明 这个证明必须开吗")
    assert answered("学校让开老家没人照顾的证明 这个证明必须开吗", plan, guide).sources[0]["item_id"] == "p"
    # a number: the item's own numbers, then the national lines of its service (DOMAIN.md) that another
    # hit names — that hit is cited beside it; a line no hit names is not given
    mental = plan.model_copy(update={"id": "m", "category": "mental_health", "content": "老师给孩子心理辅导，可打12355。",
                                     "brief": "老师、社工给孩子心理辅导。"})
    line = mental.model_copy(update={"id": "l", "content": "12356是全国统一心理援助热线。", "basis": "卫健委12356热线"})
    reply = answered("孩子心情不好 有啥电话能打", mental, line)
    first, source = reply.text.split("\n")[0], reply.text.split("\n")[-1]
    assert first == "电话：12355、12356" and "卫健委12356热线" in source, reply.text
    assert [s["item_id"] for s in reply.sources][:1] == ["m"] and "l" in [s["item_id"] for s in reply.sources]
    alone = answered("孩子心情不好 有啥电话能打", mental, plan)
    assert alone.text.split("\n")[0] == "电话：12355" and len(alone.sources) == 1
    assert item_text.aspect_line(mental, aspects.CONTACT, more_numbers=("12356",)) == "电话：12355、12356"
    assert item_text.holds(mental, aspects.CONTACT) and not item_text.holds(plan, aspects.CONTACT)
    # a line of another service named by a hit is not borrowed: a child-harm item's 12338 for domestic
    # violence never answers a question of the family-education clause
    harm = plan.model_copy(update={"id": "h", "category": "child_protection", "content": "家暴也可以打12338。"})
    parenting = plan.model_copy(update={"id": "f", "category": "family_education", "content": "妇联做家庭教育指导。",
                                        "brief": "妇联、教育部门做家庭教育指导。"})
    assert "12338" not in answered("孩子叛逆不听话 有什么热线能打", parenting, harm).text.split("\n")[0]
    # a line named in the question is known, unless another is asked for
    assert aspects.aspect_of("打了110派出所不管 还能打什么电话") == aspects.CONTACT
    assert aspects.aspect_of("12355是什么电话") != aspects.CONTACT


def test_whom_to_ask_gets_the_next_step_then_the_local_line_when_the_item_names_no_number():
    from knowledge import aspects
    from knowledge.schema import ChecklistItem

    # a complaint is about where to complain, even when it names a paper
    assert aspects.aspect_of("学校让回老家开个证明才给报名 这事找谁反映") == aspects.CONTACT
    item = ChecklistItem(id="e", category="exams", title="中考", service_object="随迁子女",
                         content="完善随迁子女在流入地参加中考的政策。", how_to_apply="", materials=[], clause="（七）",
                         brief="各地完善随迁子女在当地参加中考的政策。", next_step="向居住地教育部门咨询报考条件")
    entry = IndexedItem(national_header("official"), item)
    question = "想问这边中考报名条件 找谁"
    assert aspects.aspect_of(question) == aspects.HOW
    lines = first_screen(entry, aspect=aspects.HOW, question=question).split("\n")
    assert lines[0] == "下一步：向居住地教育部门咨询报考条件" and lines[1] == item_text.ASK_12345
    # an item with a number of its own says it; "how" without "whom" is the step and the answer
    numbered = IndexedItem(entry.checklist, item.model_copy(update={"content": "咨询电话12355。"}))
    assert item_text.ASK_12345 not in first_screen(numbered, aspect=aspects.HOW, question=question)
    assert item_text.ASK_12345 not in first_screen(entry, aspect=aspects.HOW, question="中考怎么报名")
    # where to ask is whom to ask ("报名条件去哪问清楚", "上哪儿问")
    for where in ("中考报名条件去哪问清楚", "这事上哪儿问"):
        assert first_screen(entry, aspect=aspects.HOW, question=where).split("\n")[1] == item_text.ASK_12345, where


def test_a_clause_just_behind_a_guidance_item_answers_whether_and_what_first_with_the_guidance_step():
    from knowledge import aspects
    from knowledge.answer import compose
    from knowledge.retrieval import Hit, SearchResult
    from knowledge.schema import ChecklistItem

    plan = ChecklistItem(id="p", category="temporary_assistance", title="临时救助", service_object="遇到急难的流动儿童",
                         content="在急难发生地可获临时救助。", how_to_apply="", materials=[], clause="三、（九）",
                         brief="遇到急难，可以在急难发生地获得临时救助。", next_step="向民政部门求助")
    where = plan.model_copy(update={"id": "w", "brief": "向所在乡镇政府或街道办申请。", "basis": "临时救助通知",
                                    "next_step": "向所在乡镇政府或街道办提出申请"})

    def answer(question: str, gap: float = 0.01):
        hits = [Hit(IndexedItem(national_header("guidance"), where), 0.95, 0.9, 0.5, 0),
                Hit(IndexedItem(national_header("official"), plan), 0.95 - gap, 0.9, 0.5, 0)]
        return compose(SearchResult(question, ("national",), hits, 0.99, False), min_confidence=0.4)

    question = "临时救助能在打工这边申请不"
    assert aspects.aspect_of(question) == aspects.WHO
    reply = answer(question)
    lines = reply.text.split("\n")
    assert lines[:3] == [plan.brief, where.brief, "下一步：向所在乡镇政府或街道办提出申请"], lines
    assert [s["item_id"] for s in reply.sources] == ["p", "w"] and "三、（九）" in lines[-1]
    # a "how" question keeps the guidance item first; a clause far behind is not pulled up
    assert answer("临时救助咋申请").sources[0]["item_id"] == "w"
    assert answer(question, gap=0.2).sources[0]["item_id"] == "w"


def test_the_guidance_items_step_is_shown_only_with_its_answer_and_source():
    from knowledge import aspects
    from knowledge.answer import compose
    from knowledge.retrieval import Hit, SearchResult
    from knowledge.schema import ChecklistItem

    plan = ChecklistItem(id="p", category="temporary_assistance", title="临时救助", service_object="遇到急难的流动儿童",
                         content="在急难发生地可获临时救助。", how_to_apply="", materials=[], clause="三、（九）",
                         brief="遇到急难，符合条件的孩子可以在急难发生地获得临时救助。", next_step="向急难发生地的民政部门求助")
    proxy = plan.model_copy(update={"id": "g", "brief": "村（居）委会或他人可以代为申请；情况紧急的可以先受理、后补材料。",
                                    "basis": "临时救助规定", "next_step": "委托村（居）委会或他人代为向乡镇（街道）申请"})
    hits = [Hit(IndexedItem(national_header("official"), plan), 0.95, 0.9, 0.5, 0),
            Hit(IndexedItem(national_header("guidance"), proxy), 0.94, 0.9, 0.5, 0)]
    reply = compose(SearchResult("临时救助找谁申请", ("national",), hits, 0.99, False), min_confidence=0.4)
    lines = reply.text.split("\n")
    # "how": the step, whom else to ask, the answer — no room for the guidance item's answer, so not
    # its step either, and the clause alone is cited
    assert aspects.aspect_of("临时救助找谁申请") == aspects.HOW
    assert proxy.brief not in lines and lines[0] == "下一步：向急难发生地的民政部门求助", lines
    assert "临时救助规定" not in lines[-1] and [s["item_id"] for s in reply.sources] == ["p"]
    # a "what" question has room for it: its answer, its step and its source together
    reply = compose(SearchResult("临时救助是啥", ("national",), hits, 0.99, False), min_confidence=0.4)
    lines = reply.text.split("\n")
    assert proxy.brief in lines and lines[2].startswith("下一步：委托") and "临时救助规定" in lines[-1], lines


def test_a_time_told_is_no_time_asked_and_smashing_things_at_home_is_harm():
    from knowledge import aspects

    assert aspects.aspect_of("孩子在网上被人骂了 心情很差好几天 我该找谁") != aspects.TIME
    assert aspects.aspect_of("临时救助审批要几天") == aspects.TIME
    assert aspects.mentions_harm("老公喝了酒就砸东西 孩子吓得不行")


def test_a_guidance_item_close_behind_the_plans_clause_adds_where_to_apply_and_is_cited():
    from knowledge.answer import compose
    from knowledge.retrieval import Hit, SearchResult
    from knowledge.schema import ChecklistItem

    plan = ChecklistItem(id="p", category="temporary_assistance", title="临时救助", service_object="遇到急难的流动儿童",
                         content="在急难发生地可获临时救助。", how_to_apply="", materials=[], clause="三、（九）",
                         brief="遇到急难，可以在急难发生地获得临时救助。", next_step="向民政部门求助")
    where = plan.model_copy(update={"id": "w", "brief": "向所在乡镇政府或街道办申请。", "basis": "临时救助通知"})
    other = where.model_copy(update={"id": "o", "category": "housing"})

    def answer(question: str, first, second, gap: float):
        hits = [Hit(IndexedItem(national_header("official"), first), 0.95, 0.9, 0.5, 0),
                Hit(IndexedItem(national_header("guidance"), second), 0.95 - gap, 0.9, 0.5, 0)]
        return compose(SearchResult(question, ("national",), hits, 0.99, False), min_confidence=0.4)

    reply = answer("没本地户口能申请临时救助不", plan, where, 0.01)
    lines = reply.text.split("\n")
    assert lines[0] == plan.brief and lines[1] == where.brief
    assert lines[-1].startswith("依据：") and "三、（九）" in lines[-1] and "临时救助通知" in lines[-1]
    assert [s["item_id"] for s in reply.sources] == ["p", "w"]
    assert not any(b.item and b.item.endswith("/w") for b in reply.buttons)  # on the screen: no button for it
    # another service, a guidance item far behind, or a question about materials: the clause alone
    for question, second, gap in (("没本地户口能申请临时救助不", other, 0.01), ("没本地户口能申请临时救助不", where, 0.2),
                                  ("申请临时救助要带啥材料", where, 0.01)):
        reply = answer(question, plan, second, gap)
        assert where.brief not in reply.text and [s["item_id"] for s in reply.sources] == ["p"], question


def test_a_question_naming_a_public_line_is_answered_by_the_item_named_after_it():
    from knowledge.answer import compose
    from knowledge.retrieval import Hit, SearchResult
    from knowledge.schema import ChecklistItem

    header = national_header("guidance")
    youth = ChecklistItem(id="y", category="mental_health", title="12355青少年服务台", service_object="青少年",
                          content="12355是青少年服务热线。", how_to_apply="", materials=[], clause="—",
                          brief="12355是青少年服务热线。", next_step="拨打12355")
    help_line = youth.model_copy(update={"id": "h", "title": "12356心理援助热线", "brief": "12356是心理援助热线。"})

    def answer(question: str):
        hits = [Hit(IndexedItem(header, item), 0.9 - 0.01 * n, 0.9, 0.5, 0) for n, item in enumerate((youth, help_line))]
        return compose(SearchResult(question, ("national",), hits, 0.99, False), min_confidence=0.4)

    assert answer("12356现在全国都能打吗").sources[0]["item_id"] == "h"
    assert answer("12355能打吗").sources[0]["item_id"] == "y"
    assert answer("心理热线能打吗").sources[0]["item_id"] == "y"  # no number named: the best hit
    # an amount is no line: "花了1235元" or "12356块" never picks the line's item
    assert answer("看心理医生花了12356块 能报吗").sources[0]["item_id"] == "y"
    assert answer("1235元能报多少").sources[0]["item_id"] == "y"


def test_who_is_in_charge_is_answered_by_the_published_clause_that_names_the_leading_departments():
    from knowledge import aspects
    from knowledge.answer import compose
    from knowledge.retrieval import Hit, SearchResult
    from knowledge.schema import ChecklistItem

    line = ChecklistItem(id="line", category="mental_health", title="12355青少年服务台", service_object="青少年",
                         content="12355是热线。", how_to_apply="", materials=[], clause="—", brief="12355是热线。",
                         next_step="拨打12355", departments=["共青团中央"], basis="团中央通知")
    clause = line.model_copy(update={"id": "clause", "title": "心理健康关爱", "clause": "四、（十一）", "basis": "",
                                     "departments": ["教育部", "民政部", "国家卫生健康委", "共青团中央"]})

    def answer(question: str):
        hits = [Hit(IndexedItem(national_header("guidance"), line), 0.9, 0.9, 0.5, 0),
                Hit(IndexedItem(national_header("official"), clause), 0.88, 0.9, 0.5, 0)]
        return compose(SearchResult(question, ("national",), hits, 0.99, False), min_confidence=0.4)

    assert aspects.aspect_of("孩子心理这块归哪个部门管") == aspects.IN_CHARGE
    reply = answer("孩子心理这块归哪个部门管")
    assert reply.sources[0]["item_id"] == "clause" and "教育部门" in reply.text.split("\n")[0]
    assert answer("12355能打吗").sources[0]["item_id"] == "line"  # not asked who leads: the best hit


def test_whether_this_office_or_that_one_runs_it_is_a_question_about_who_is_in_charge():
    from knowledge import aspects

    for question in ("统计外地孩子这事 是街道管还是学校管", "外地娃是谁来摸底的", "孩子的信息谁来统计"):
        assert aspects.aspect_of(question) == aspects.IN_CHARGE, question
    assert aspects.aspect_of("公办园和民办园哪个好") == aspects.DIFFERENCE


def test_the_sentence_that_says_what_the_question_names_joins_a_plain_answer_that_does_not():
    from knowledge import aspects
    from knowledge.schema import ChecklistItem

    item = ChecklistItem(id="rehab", category="disability", title="康复救助", service_object="0—6岁残疾儿童",
                         content="救助对象是0—6岁残疾儿童。优先救助低保家庭、经济困难家庭的残疾儿童和残疾孤儿。"
                                 "救助内容包括手术、辅助器具和康复训练。",
                         how_to_apply="向县级残联申请。", materials=[], clause="（八）",
                         brief="0—6岁残疾孩子可获手术、辅具、康复训练救助。", next_step="向县级残联申请")
    entry = IndexedItem(national_header("guidance"), item)
    question = "俺们是低保户 娃残疾 康复救助能优先不"
    assert item_text.closest_line([item], question, item.brief).startswith("优先救助低保家庭")
    lines, _ = screen_lines(first_screen(entry, aspect=aspects.WHO, question=question))
    assert lines[0] == item.brief and lines[1].startswith("优先救助低保家庭")  # yes or no first, then the sentence
    # common words alone ("孩子", "能不能") name nothing; what the plain answer says is not said twice
    assert item_text.closest_line([item], "孩子能不能申请", item.brief) == ""
    assert item_text.closest_line([item], "康复训练和手术都管吗", item.content) == ""
    # a long sentence: the clauses around the words asked, within an aspect line's length
    long = item.model_copy(update={"content": "按国务院的意见，各地要建立残疾儿童康复救助制度，逐步实现0—6岁视力、听力、言语、"
                                              "肢体、智力等残疾儿童和孤独症儿童应救尽救，对低保家庭的孩子优先救助，"
                                              "并做好与其他保障制度的衔接。"})
    line = item_text.closest_line([long], question, item.brief)
    assert "低保家庭的孩子优先救助" in line and len(line) <= item_text.LINE_MAX
    # a clause that leads into the next ("所以…：") is no answer on its own; a tying word is cut
    lead_in = item.model_copy(update={"content": "低保家庭的孩子也在其中，所以不用等残联上门排查：可以主动向所在社区的儿童主任、"
                                                 "乡镇（街道）或县级残联说明困难、提出康复救助的申请。"})
    assert item_text.closest_line([lead_in], "低保户能不能自己去残联申请 还是等上门排查", "") == ""
    tied = item.model_copy(update={"content": "救助对象是0—6岁残疾儿童，同时低保家庭的孩子优先救助，还要做好与其他保障制度、"
                                              "医疗救助、临时救助的衔接和转介工作。"})
    assert item_text.closest_line([tied], question, item.brief).startswith("低保家庭的孩子优先救助")


def test_an_amount_in_yuan_answers_how_much():
    from knowledge import aspects
    from knowledge.schema import ChecklistItem

    item = ChecklistItem(id="jj", category="temporary_assistance", title="审批", service_object="申请临时救助的家庭",
                         content="临时救助不超过5000元的由街道直接审批。", how_to_apply="", materials=[], clause="—")
    assert item_text.holds(item, aspects.COST)
    assert item_text.aspect_line(item, aspects.COST, "街道能直接批多少钱") == "临时救助不超过5000元的由街道直接审批。"


def test_a_family_without_a_residence_permit_is_told_what_it_takes_beside_a_service_that_rests_on_it():
    """"没有居住证 娃能在这参保不": insurance is had with the permit (the plan), so the answer says so and,
    from the item on the permit among the hits, what it takes to get one — the insurance's step kept,
    both cited. A service that does not rest on the permit, or a family that has one, is answered alone."""
    from knowledge import aspects
    from knowledge.answer import compose
    from knowledge.retrieval import Hit, SearchResult
    from knowledge.schema import ChecklistItem

    for question in ("俺们莫得居住证 娃能在这边参保不", "才来两个月 居住证来得及办不", "居住证要住多久才给办",
                     "租的房子房东不给登记居住证 娃能上学不"):
        assert aspects.lacks_the_permit(question), question
    for question in ("居住证办好了 医保在哪交", "临时救助怎么申请", "孩子刚来三个月 能上幼儿园不",
                     "我有居住证还没满半年能入学吗", "居住证有效期多久"):
        assert not aspects.lacks_the_permit(question), question
    plan, guide = national_header("official"), national_header("guidance")
    insurance = ChecklistItem(id="ins", category="medical_insurance", title="居民医保", service_object="流动儿童",
                              content="流动儿童持居住证在居住地参加居民医保。", how_to_apply="", materials=[],
                              clause="（八）", brief="凭居住证在居住地参加居民医保。", next_step="向医保部门咨询参保")
    permit = ChecklistItem(id="permit", category="compulsory_education", title="居住证：怎么办",
                           service_object="外地居住的人", content="在城市住半年以上，有稳定就业、住所或连续就读之一的可以申领。",
                           how_to_apply="", materials=[], clause="第二条", brief="住半年以上，有稳定就业、住所或就读之一可申领。",
                           next_step="向派出所咨询")
    relief = insurance.model_copy(update={"id": "relief", "category": "temporary_assistance", "title": "临时救助",
                                          "content": "遇到急难可以在急难发生地申请临时救助。",
                                          "brief": "急难发生地可以申请临时救助。", "next_step": "向街道申请"})
    assert item_text.needs_the_permit(insurance) and not item_text.needs_the_permit(relief)
    assert item_text.needs_the_permit(relief.model_copy(update={"materials": ["居住证"]}))

    def answered(question, first, headers=(plan, guide)):
        hits = [Hit(IndexedItem(headers[0], first), 0.95, 0.9, 0.5, 0), Hit(IndexedItem(headers[1], permit), 0.7, 0.7, 0.3, 0)]
        return compose(SearchResult(question, ("national",), hits, 0.9, False), min_confidence=0.4)

    reply = answered("俺们莫得居住证 娃能在这边参保不", insurance)
    lines, source = screen_lines(reply.text)
    assert lines[0] == insurance.brief and permit.brief in lines and "下一步：向医保部门咨询参保" in lines
    assert [s["item_id"] for s in reply.sources] == ["ins", "permit"] and "第二条" in source
    # how soon: the permit's half year answers it, not "清单里没有写具体时间"
    reply = answered("刚来两个月 想上医保 居住证要等多久才能办", insurance)
    assert "半年" in reply.text and "没有写具体时间" not in reply.text
    # how soon something else happens is not the permit's half year
    reply = answered("居住证还没下来 医保多久能报销", insurance)
    assert permit.brief in reply.text and "清单里没有写具体时间" in reply.text.split("\n")[0]
    # a permit held, or a service that does not rest on it: no permit line
    assert permit.brief not in answered("居住证办好了 医保在哪交", insurance).text
    assert permit.brief not in answered("没办居住证 临时救助还有戏吗", relief).text


def test_what_a_list_does_not_say_points_to_12345_and_a_free_thing_asked_is_answered_by_the_item_that_says_it():
    from knowledge import aspects
    from knowledge.answer import compose
    from knowledge.retrieval import Hit, SearchResult
    from knowledge.schema import ChecklistItem

    bare = ChecklistItem(id="bare", category="transport", title="学生公交卡", service_object="流动儿童",
                         content="各地优化公交线路，方便孩子上学。", how_to_apply="", materials=[], clause="（九）")
    for aspect, question in ((aspects.MATERIALS, "办学生公交卡要带啥材料"), (aspects.COST, "学生公交卡多少钱"),
                             (aspects.TIME, "学生公交卡啥时候能办")):
        line = item_text.aspect_line(bare, aspect, question)
        assert line.startswith("清单里没有") and "12345" in line and len(line) <= item_text.LINE_MAX, line
    # "有没有不要钱的兴趣班": of the service's best items, the one saying its courses are 公益性 answers;
    # what a thing costs ("兴趣班多少钱") stays with the best item
    header = national_header("official")
    school = ChecklistItem(id="school", category="culture_activities", title="学校社团", service_object="流动儿童",
                           content="学校开展社团和兴趣小组，引导流动儿童参与。", how_to_apply="", materials=[],
                           clause="（十二）", brief="学校开展社团和兴趣小组，引导流动儿童参与。")
    free = school.model_copy(update={"id": "free", "content": "团委、妇联依托儿童之家开展普惠性、公益性课外兴趣课程。",
                                     "brief": "团委、妇联在儿童之家开公益性兴趣课。"})
    hits = [Hit(IndexedItem(header, item), 0.9 - 0.01 * n, 0.9, 0.5, 0) for n, item in enumerate((school, free))]

    def answered(question):
        return compose(SearchResult(question, ("national",), hits, 0.9, False), min_confidence=0.4)

    assert aspects.asks_if_free("周末有没有不要钱的兴趣班") and not aspects.asks_if_free("兴趣班多少钱")
    assert answered("周末有没有不要钱的兴趣班").sources[0]["item_id"] == "free"
    assert answered("兴趣班一节课多少钱").sources[0]["item_id"] == "school"


def test_the_sentence_closest_to_the_question_may_come_from_another_item_of_the_service_and_is_then_cited():
    from knowledge.answer import compose
    from knowledge.retrieval import Hit, SearchResult
    from knowledge.schema import ChecklistItem

    header = national_header("official")
    plan = ChecklistItem(id="plan", category="disability", title="康复救助", service_object="残疾儿童",
                         content="流动的残疾孩子可以在居住地申请康复救助。", how_to_apply="", materials=[], clause="（八）",
                         brief="流动的残疾孩子可以在居住地申请康复救助。", basis="方案（八）")
    guide = plan.model_copy(update={"id": "guide", "content": "救助对象是0—6岁残疾儿童。优先救助低保家庭的残疾儿童和残疾孤儿。",
                                    "brief": "0—6岁残疾孩子可获康复救助。", "basis": "国务院康复救助意见"})
    other = plan.model_copy(update={"id": "other", "category": "basic_living",
                                    "content": "低保家庭的孤儿优先领取生活补贴。", "basis": "别的服务"})
    hits = [Hit(IndexedItem(header, item), 0.9 - 0.05 * n, 0.9, 0.5, 0) for n, item in enumerate((plan, other, guide))]
    reply = compose(SearchResult("俺家是低保户 娃残疾 康复能优先不", ("national",), hits, 0.9, False), min_confidence=0.4)
    lines = reply.text.split("\n")
    assert lines[0] == plan.brief and lines[1].startswith("优先救助低保家庭"), reply.text
    assert "国务院康复救助意见" in lines[-1] and "别的服务" not in reply.text  # cited; another service never speaks
    assert [s["item_id"] for s in reply.sources][:2] == ["plan", "guide"]


def test_papers_not_ready_yet_ask_whether_it_can_be_done_first_not_for_the_list():
    from knowledge import aspects

    for question in ("急着用钱 证明材料还没开好 能先申请吗", "临时救助证明材料不全能先受理吗", "手续没办齐 能不能先申请"):
        assert aspects.aspect_of(question) == aspects.WHO, question
    assert aspects.aspect_of("申请临时救助要带啥证明") == aspects.MATERIALS
    assert aspects.aspect_of("要开什么证明") == aspects.MATERIALS


def test_applying_before_the_papers_are_gathered_is_answered_by_the_item_that_takes_it_first():
    """"事情急 证明材料还没弄齐 能先申请不" names papers, not a service: the item that says an application
    is taken first (临时救助's 先行受理), among the best three, answers — not the school's item on papers
    ranked first; a question that asks nothing of applying first keeps the first item."""
    from knowledge import aspects
    from knowledge.answer import compose
    from knowledge.retrieval import Hit, SearchResult
    from knowledge.schema import ChecklistItem

    school = ChecklistItem(id="s", category="compulsory_education", title="入学不能要求开老家证明", service_object="随迁子女",
                           content="学校不得要求提供户籍地无人监护证明材料。", how_to_apply="", materials=[], clause="—",
                           brief="学校不得要求随迁子女提供户籍地无人监护证明。")
    first = school.model_copy(update={"id": "t", "category": "temporary_assistance", "title": "临时救助可先受理",
                                      "content": "情况紧急、拿不出证明材料的，乡镇（街道）可以先行受理。",
                                      "brief": "情况紧急拿不出证明材料的，乡镇（街道）可先受理。"})
    hits = [Hit(IndexedItem(national_header("guidance"), school), 0.83, 0.9, 0.1, 0),
            Hit(IndexedItem(national_header("guidance"), school.model_copy(update={"id": "s2"})), 0.8, 0.9, 0.1, 0),
            Hit(IndexedItem(national_header("guidance"), first), 0.76, 0.9, 0.2, 0)]
    for question in ("事情急得很，证明材料还没弄齐，能先申请不", "事儿急，证明材料还没凑齐，能不能先把申请交上"):
        assert aspects.asks_to_apply_first(question), question
        reply = compose(SearchResult(question, ("national",), hits, 0.99, False), min_confidence=0.4)
        assert reply.sources[0]["item_id"] == "t" and "先受理" in reply.text.split("\n")[0], reply.text
    for question in ("学校让开证明材料 能不开吗", "能先申请吗",  # papers named, or nothing missing: not asked
                     "居住证的材料还没弄齐 能先申请吗", "医保材料不全 能先交钱吗"):  # another service's papers
        assert not aspects.asks_to_apply_first(question), question
        reply = compose(SearchResult(question, ("national",), hits, 0.99, False), min_confidence=0.4)
        assert reply.sources[0]["item_id"] == "s"
    # beyond the best three, the first item stays
    far = hits[:2] + [Hit(IndexedItem(national_header("guidance"), school.model_copy(update={"id": "s3"})), 0.78, 0.9, 0.1, 0),
                      hits[2]]
    reply = compose(SearchResult("证明材料还没弄齐 能先申请不", ("national",), far, 0.99, False), min_confidence=0.4)
    assert reply.sources[0]["item_id"] == "s"


@pytest.mark.parametrize("question, aspect", [
    ("没爹妈管的娃 每个月能领多少生活费", "cost"),
    ("在外地考高考 得在这边上几年高中才行啊", "time"),
    ("居住证要住几个月才能办", "time"),
    ("娃上几年级了还能转学吗", "who"),  # a school year is no time asked
    ("来了好几年了 娃能在这上学吗", "who"),  # told, not asked
    ("孩子好几个月不说话了 这边有没有心理咨询", "what"),
    ("临时救助是哪个部门的事", "in_charge"),
    ("外地娃和本地户口的娃上学待遇一样吗？会不会被区别对待", "what"),  # treated as local children are
    ("托育跟幼儿园有啥区别", "difference"),
    ("当地孩子上公办跟民办有啥不一样", "difference"),  # two services compared for local children
    ("本地户口跟居住证入学有啥区别", "difference"),
])
def test_the_aspect_asked_by_everyday_words(question, aspect):
    from knowledge import aspects

    assert aspects.aspect_of(question) == aspect
