"""Retrieval and cited answers over the shipped checklists."""

from __future__ import annotations

import pytest

from knowledge import compose
from knowledge.answer import item_answer
from knowledge.screen import EXAMPLE_NOTE, GUIDANCE_NOTE

BAOAN, LUOHU = "440306", "440303"


def _answer(kb, text, locality=None):
    result = kb.search(text, locality)
    return result, compose(result, min_confidence=kb.settings.min_confidence,
                           locality_name=kb.locality_name(locality))


def test_primary_school_materials_answer_is_cited(kb):
    result, answer = _answer(kb, "孩子在这边上小学要带什么材料")
    top = result.hits[0].entry
    assert top.item.category == "compulsory_education"
    assert answer.confident
    assert answer.text.split("\n")[-1].startswith("依据：") and top.item.brief in answer.text
    assert answer.sources[0]["item_id"] == top.item.id
    detail = item_answer(top, detail=True).text
    assert "来源：《" in detail and top.checklist.title in detail
    assert top.item.source_url not in detail  # a news page that does not hold the cited text
    if top.checklist.authority.value == "guidance":
        assert GUIDANCE_NOTE in detail


@pytest.mark.parametrize("question, stated, category", [
    ("申请临时救助都要带啥", ("身份证", "家庭经济状况证明"), "temporary_assistance"),
    ("申请康复救助要准备啥", ("残疾人证", "诊断证明"), "disability"),
])
def test_papers_a_local_guide_lists_answer_a_question_for_the_list(kb, question, stated, category):
    """The plan names no papers; a published local guide does, named as one place's example."""
    _, answer = _answer(kb, question)
    first = answer.text.split("\n")
    assert answer.sources[0]["category"] == category
    assert first[0].startswith("要带：") and all(paper in first[0] for paper in stated), answer.text
    assert "示例" in first[-1]  # the source line says it is one place's rule


def test_papers_not_ready_asks_whether_to_apply_first_not_for_the_list(kb):
    _, answer = _answer(kb, "急着用钱 证明材料一下子凑不齐 是不是就申请不了了")
    assert "先行受理" in answer.text.split("依据")[0] or "先受理" in answer.text.split("依据")[0], answer.text
    assert not answer.text.startswith("要带：")


def test_national_plan_answer_cites_clause_number_and_date(kb):
    result, answer = _answer(kb, "外地户口的孩子能在这边考高中吗")
    top = result.hits[0].entry
    assert top.checklist.id == "national-action-plan" and top.item.category == "exams"
    assert "民发〔2024〕35号" in answer.text and "（七）" in answer.text and "2024-09-03" in answer.text


def test_local_item_outranks_national_for_same_service(kb):
    result, answer = _answer(kb, "孩子要打疫苗去哪里", BAOAN)
    top = result.hits[0]
    assert top.entry.checklist.locality.code == BAOAN and top.entry.item.category == "immunization"
    assert answer.text.startswith(EXAMPLE_NOTE)
    assert "示例" in answer.text
    national = [h for h in result.hits if h.entry.locality == "national" and h.entry.item.category == "immunization"]
    assert national and national[0].score < top.score


def test_example_items_never_leave_their_locality(kb):
    result = kb.search("孩子要打疫苗去哪里", None, k=20)
    assert all(h.entry.locality == "national" for h in result.hits)
    result = kb.search("孩子要打疫苗去哪里", LUOHU, k=20)  # a sibling district of 宝安
    assert all(h.entry.locality == "national" for h in result.hits)


def test_locality_without_local_checklist_falls_back_and_says_so(kb):
    result, answer = _answer(kb, "孩子要打疫苗去哪里", LUOHU)
    assert not result.has_local_checklist
    source_line = answer.text.split("\n")[-1]
    assert source_line.startswith("依据：") and source_line.endswith("广东省深圳市罗湖区暂未收录本地服务清单，以上是全国通用的规定")


JINJIANG = "350582"  # its shipped guidance holds one item: who approves temporary assistance, how fast


def test_facts_gathered_for_a_place_answer_their_question_there_and_no_other(kb):
    result, answer = _answer(kb, "临时救助街道能直接批多少钱", JINJIANG)
    assert result.hits[0].entry.locality == JINJIANG
    assert "5000元" in answer.text.split("\n")[0] and "全国通用" not in answer.text
    # facts gathered for a place are no local list: the national rule on where to apply, without a
    # permit, still answers that question there
    result, answer = _answer(kb, "没有居住证 临时救助去哪里申请", JINJIANG)
    assert result.hits[0].entry.locality == "national" and "乡镇" in answer.text.split("\n")[0]
    result, answer = _answer(kb, "孩子要打疫苗去哪里", JINJIANG)
    assert not result.has_local_checklist and result.hits[0].entry.locality == "national"  # no list of its own
    assert answer.text.split("\n")[-1].endswith("福建省泉州市晋江市暂未收录本地服务清单，以上是全国通用的规定")
    # a place whose list lacks the item asked about says so
    result, answer = _answer(kb, "残疾孩子康复救助在哪申请", BAOAN)
    assert result.has_local_checklist and result.hits[0].entry.locality == "national"
    assert answer.text.split("\n")[-1].endswith("宝安区暂未收录这一项的本地规定，以上是全国通用的规定")


def test_community_code_reaches_district_checklist(kb):
    result = kb.search("孩子要打疫苗去哪里", "440306001002")
    assert result.chain[:3] == ("440306001002", "440306001", "440306")
    assert result.hits[0].entry.locality == BAOAN


@pytest.mark.parametrize("text", ["", "   ", "😂😂😂", "asdfgh", "今天天气怎么样", "啊"])
def test_off_topic_gets_polite_rephrase_with_categories_and_a_person(kb, text):
    _, answer = _answer(kb, text)
    assert not answer.confident
    assert "换个说法" in answer.text
    titles = [b.title for b in answer.buttons]
    assert "找工作人员" in titles and len(titles) >= 5 and any(b.person for b in answer.buttons)


@pytest.mark.parametrize("text, category", [
    ("孩子讀書要帶什麼材料，小學報名", "compulsory_education"),  # Traditional
    ("医报怎么交", "medical_insurance"),  # homophone typo
    ("娃打疫描", "immunization"),
    ("公租房咋申请🏠🏠", "housing"),
    ("孩子上小學 要带户口本吗", "compulsory_education"),  # mixed
])
def test_colloquial_and_mixed_script_questions(kb, text, category):
    assert kb.search(text).categories[0] == category


def test_a_very_long_question_gets_a_reply_not_an_error(kb):
    text = "我们是从河南来深圳打工的，" * 400 + "孩子想在这边上小学要准备什么"
    _, answer = _answer(kb, text)
    assert len(text) > 5000 and answer.text.strip()


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "not answered yet: retrieval reads the whole message, and past about 1,300 characters the "
    "repeated context outweighs the question (not confident from 100 repeats; at 400 the top hits are "
    "parent_employment). Before issue 14 this test accepted any non-empty text."))
def test_very_long_question_is_answered_not_rejected(kb):
    text = "我们是从河南来深圳打工的，" * 400 + "孩子想在这边上小学要准备什么"
    result, answer = _answer(kb, text)
    assert len(text) > 5000
    assert answer.confident and answer.sources[0]["category"] == "compulsory_education", answer.text


@pytest.mark.parametrize("text, category", [
    ("How can my kid get vaccinated here?", "immunization"),
    ("haizi shang xue yao shenme cailiao", "compulsory_education"),
    ("What is the weather like tomorrow?", None),
    ("wo xiang mai yi liang che", None),  # 我想买一辆车
])
def test_english_and_pinyin_get_an_answer_or_a_polite_rephrase(kb, text, category):
    """A question the checklists answer is answered from its service; one they do not gets the
    request to say it again, with no source — never a citation of something else."""
    _, answer = _answer(kb, text)
    if category:
        assert answer.confident and answer.sources[0]["category"] == category, answer.text
    else:
        assert not answer.confident and not answer.sources and "换个说法" in answer.text, answer.text


def test_scores_are_ranked_and_confidence_is_a_probability(kb):
    result = kb.search("孩子四岁想上普惠幼儿园", None, k=5)
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    assert 0.0 <= result.confidence <= 1.0
    assert result.hits[0].entry.item.category == "preschool"


def test_the_next_items_are_offered_whatever_their_category(kb):
    """Behind the plan's clause on temporary assistance, the guidance items say where to apply and
    who can apply for the family: the same service, offered as buttons under the answer."""
    result, answer = _answer(kb, "遇到急事想申请临时救助")
    assert result.hits[0].entry.item.category == "temporary_assistance"
    offered = [b.item for b in answer.buttons[1:]]
    # the next two items not on the screen (the answer may pair a clause with a guidance item)
    on_screen = {source["item_id"] for source in answer.sources}
    following = [h for h in result.hits if h.entry.item.id not in on_screen][:2]
    assert offered == [h.entry.key for h in following] and not any(b.detail for b in answer.buttons[1:])
    assert len(offered) == 2 and any(h.entry.item.category == "temporary_assistance" for h in following)


def test_service_words_typed_in_pinyin_are_read_as_the_checklists_words(kb, monkeypatch):
    from knowledge.pinyin_terms import PinyinTerms

    terms = PinyinTerms(["医保", "居民医保", "入学", "临时救助", "安保"])
    assert terms.rewrite("娃的yibao今年还没交") == "娃的医保今年还没交"
    assert terms.rewrite("linshi jiuzhu zenme shenqing") == "临时救助 zenme shenqing"
    assert terms.rewrite("juminyibao") == "居民医保"  # the longest word
    for untouched in ("my child needs insurance", "wo jiao zhang wei", "bao", "ok"):
        assert terms.rewrite(untouched) == untouched  # English, a name, short syllables
    result, answer = _answer(kb, "娃的yibao今年还没交")
    assert result.hits[0].entry.item.category == "medical_insurance" and answer.confident
    monkeypatch.setattr(PinyinTerms, "rewrite", lambda self, text: text)
    before, _ = _answer(kb, "娃的yibao今年还没交")
    assert before.confidence < result.confidence


def test_homophone_typos_of_service_words_are_read_as_the_words(kb, monkeypatch):
    """The input method's first guess ("居主证" for 居住证): three or four characters, whole tokens of
    the sentence, one character off, the same sound, and no word of its own. Never a name or part of
    a word around it, never into or out of a word of harm, an age or what is done to a child."""
    from knowledge.pinyin_terms import PinyinTerms

    terms = PinyinTerms([], ["居住证", "临时救助", "幼儿园", "托育", "心理", "看孩子", "管孩子", "噎住", "十六岁",
                             "要钱吗", "家里出事", "没人管"])
    assert terms.mend("听人说得先有居主证") == "听人说得先有居住证"
    assert terms.mend("临时就助找谁申请啊") == "临时救助找谁申请啊"
    assert terms.mend("幼儿圆入园") == "幼儿园入园"
    for untouched in ("拓育谁管啊",  # two characters: as often a name (心莉, 康福)
                      "我心里很不踏实", "娃上幼儿园了", "居住在这边",
                      "老公拿刀说要砍孩子", "爷爷奶奶太惯孩子", "我们也住在深圳", "孩子是六岁",
                      "入学申请表要签吗", "家里出示证明", "门没人关"):
        assert terms.mend(untouched) == untouched, untouched
    assert terms.rewrite("临时就助找谁申请啊") == "临时救助找谁申请啊"
    result, answer = _answer(kb, "临时就助找谁申请啊")
    assert result.hits[0].entry.item.category == "temporary_assistance" and answer.confident
    monkeypatch.setattr(PinyinTerms, "mend", lambda self, text: text)
    before, _ = _answer(kb, "临时就助找谁申请啊")
    assert before.confidence < result.confidence


def test_a_question_holding_an_items_own_keyword_word_for_word_finds_it_surely(kb):
    """两为主、两纳入 is the school clause's own name for its policy: no rephrasing needed."""
    from knowledge.retrieval import KEYWORD_BONUS

    result = kb.search("两为主两纳入是啥意思", None, k=3)
    assert result.hits[0].entry.item.category == "compulsory_education" and result.confidence >= 0.4
    top, weight = result.hits[0], kb.snapshot.retriever.dense_weight
    assert top.score >= weight * top.dense + (1 - weight) * top.lexical + KEYWORD_BONUS - 1e-6


@pytest.mark.parametrize(("question", "part"), [
    ("国家那个流动儿童方案里 医保这块到底说了啥", "医保这块到底说了啥"),
    ("方案里交通这块对流动娃有啥照顾", "交通这块对流动娃有啥照顾"),
    ("国家那个流动儿童的政策，医保方面到底说了些啥", "，医保方面到底说了些啥"),
])
def test_the_plan_named_beside_the_part_asked_about_is_left_out_of_the_search(question, part):
    """The plan's name outweighs the part asked about ("方案里医保这块说了啥" found the plan's overview)."""
    from knowledge.aspects import part_of_the_plan

    assert part_of_the_plan(question) == part
    assert part_of_the_plan("流动儿童政策中考这块咋规定") == "中考这块咋规定"  # 中考 kept whole
    for whole in ("听说方案后面附了个服务清单 一共多少项", "方案这块说了啥", "托育这块归哪个部门管"):
        assert part_of_the_plan(whole) == whole  # no part, the part is the plan, no plan named


def test_the_part_of_the_plan_asked_about_is_answered_from_its_service(kb):
    result = kb.search("方案里交通这块对流动娃有啥照顾")
    assert result.hits[0].entry.item.category == "transport", [h.entry.item.id for h in result.hits]


@pytest.mark.parametrize(("question", "item"), [
    ("这边是积分入学 俺们积分不够 娃是不是就上不了学了", "GUIDE-points-enrolment"),
    ("娃要回老家参加中考 老家那边报名有人帮着办不", "GUIDE-exams-back-home"),
])
def test_the_enrolment_notices_rules_answer_their_questions(kb, question, item):
    result, answer = _answer(kb, question)
    assert answer.confident and answer.sources[0]["item_id"] == item, [h.entry.item.id for h in result.hits]
    assert "读自转载页" in answer.text.split("依据")[-1] or "教基厅" in answer.text


def test_a_vector_computed_before_is_reused_only_for_the_same_text_by_the_same_model(kb, embedder, embeddings):
    """The parse's embedding goes along with the question (nlu.embedding.QueryVector): retrieval uses it
    when it is of the very text searched, made by a model of the same id, and embeds the text itself
    otherwise (another model, or the question as the pinyin reading rewrote it)."""
    from nlu.embedding import QueryVector

    question, pinyin = "孩子在这边上小学要带什么材料", "娃的yibao今年还没交"
    vector, pinyin_vector = (embedder.embed_queries([text])[0] for text in (question, pinyin))  # not counted
    reused = kb.search(question, query_vector=QueryVector(question, embedder.model_id, vector))
    assert embeddings == []
    own = kb.search(question, query_vector=QueryVector(question, "another-model", vector))
    assert embeddings == [question] and [h.entry.key for h in own.hits] == [h.entry.key for h in reused.hits]
    kb.search(pinyin, query_vector=QueryVector(pinyin, embedder.model_id, pinyin_vector))
    assert embeddings == [question, "娃的医保今年还没交"]  # the rewritten question's own vector
