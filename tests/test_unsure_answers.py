"""An unsure parse that may be a service question gets the checklists' answer when retrieval is sure
of one; the bot asks to rephrase only when it really has nothing."""

from __future__ import annotations

import uuid

import pytest

from nlu.entities import ExtractedEntity
from nlu.interpreter import ParseResult
from nlu.normalize import normalize


@pytest.fixture
def unsure(runtime, monkeypatch):
    """``say(text, ranking) -> replies``: the engine's turn on a parse the classifier is unsure of."""
    real = runtime.engine.interpreter.parse

    def say(text: str, ranking: list[tuple[str, float]], sender: str | None = None, entities=()):
        def parse(message):
            if message != text:
                return real(message)
            return ParseResult(text, ranking[0][0], ranking[0][1], ranking, list(entities), normalized=normalize(text))

        monkeypatch.setattr(runtime.engine.interpreter, "parse", parse)
        return runtime.engine.handle(sender or f"unsure-{uuid.uuid4().hex[:8]}", text)

    return say


def test_answered_when_a_service_question_is_likely_and_retrieval_is_sure(unsure):
    replies = unsure("外地娃在这边上小学要带啥材料",
                     [("out_of_scope", 0.31), ("ask_service", 0.3), ("request_assistance", 0.2)])
    cited = [r for r in replies if r.sources]
    assert cited and cited[0].sources[0]["category"] == "compulsory_education"
    assert not any("没太明白" in r.text for r in replies)


def test_offered_the_assistance_request_beside_the_answer_when_help_is_likely(unsure):
    replies = unsure("孩子不说话快一年了 能不能安排个心理老师来看看",
                     [("request_assistance", 0.4), ("ask_service", 0.35), ("out_of_scope", 0.1)])
    assert any(r.sources for r in replies)
    assert any(b.title == "申请帮扶" for r in replies for b in (r.buttons or []))


def test_a_service_question_third_but_likely_is_answered_only_when_retrieval_is_beyond_doubt(unsure):
    replies = unsure("残疾人两项补贴 我们在外地 在那办",
                     [("request_assistance", 0.36), ("set_locality", 0.29), ("ask_service", 0.2)])
    cited = [r for r in replies if r.sources]
    assert cited and cited[0].sources[0]["category"] == "disability", replies
    replies = unsure("嗯嗯啊那个就是那个", [("request_assistance", 0.36), ("set_locality", 0.29), ("ask_service", 0.2)])
    assert "没太明白" in replies[0].text and not any(r.sources for r in replies)


def test_a_service_question_third_is_asked_again_when_retrieval_is_only_fairly_sure(runtime, unsure, monkeypatch):
    """Retrieval at 0.7 answers a question ask_service leads, but not one it is third in (SURE_SERVICE)."""
    import dataclasses

    real = runtime.engine.knowledge.search
    monkeypatch.setattr(runtime.engine.knowledge, "search",
                        lambda *args, **kwargs: dataclasses.replace(real(*args, **kwargs), confidence=0.7))
    text = "残疾人两项补贴 我们在外地 在那办"
    replies = unsure(text, [("request_assistance", 0.36), ("set_locality", 0.29), ("ask_service", 0.2)])
    assert "没太明白" in replies[0].text and not any(r.sources for r in replies)
    replies = unsure(text, [("request_assistance", 0.36), ("ask_service", 0.29), ("set_locality", 0.2)])
    assert any(r.sources for r in replies)


@pytest.mark.parametrize(("text", "ranking"), [
    ("外地娃在这边上小学要带啥材料", [("out_of_scope", 0.35), ("check_status", 0.3), ("ask_service", 0.05)]),
    ("嗯嗯啊那个就是那个", [("ask_service", 0.3), ("out_of_scope", 0.29), ("greet", 0.2)]),
])
def test_asked_to_rephrase_otherwise(unsure, monkeypatch, runtime, text, ranking):
    """Neither the intents nor retrieval sure (a question the checklists answer beyond doubt is
    answered whatever the intents: the next tests)."""
    import dataclasses

    real = runtime.engine.knowledge.search
    monkeypatch.setattr(runtime.engine.knowledge, "search",
                        lambda *args, **kwargs: dataclasses.replace(real(*args, **kwargs), confidence=0.3))
    replies = unsure(text, ranking)
    assert "没太明白" in replies[0].text and not any(r.sources for r in replies)


def test_status_of_a_service_applied_for_elsewhere_gets_where_to_ask(unsure):
    """Nothing filed through us, and the message names a service beyond doubt: say so, and answer it."""
    replies = unsure("之前在街道申请的临时救助 批下来没有啊",
                     [("check_status", 0.9), ("ask_service", 0.06), ("request_assistance", 0.02)])
    assert "在童伴没有查到您的申请" in replies[0].text
    cited = [r for r in replies if r.sources]
    assert cited and cited[0].sources[0]["category"] == "temporary_assistance"


def test_status_with_nothing_named_says_nothing_was_filed(unsure):
    replies = unsure("我的申请到哪一步了", [("check_status", 0.95), ("ask_service", 0.02), ("cancel", 0.01)])
    assert "您还没有提交过申请" in replies[0].text and not any(r.sources for r in replies)


@pytest.mark.parametrize(("text", "intent"), [
    ("想让网站把娃的信息删了 能删不", "delete_data"),
    ("娃手机上的APP老要填个人信息 会不会被乱收集", "privacy"),
    ("您好，想让抖音把孩子的视频删掉", "delete_data"),
    ("班级群里老师发了孩子的身份证号 能删吗", "delete_data"),
])
def test_a_childs_data_held_by_a_website_or_app_is_answered_and_ours_stays_one_tap_away(unsure, text, intent):
    """The law on a child's data online is the answer; nothing of Tongban's is deleted, and deleting
    (or reading about) what the parent left here is offered as a button."""
    replies = unsure(text, [(intent, 0.8), ("ask_service", 0.15), ("out_of_scope", 0.05)])
    assert not any("确认要删除" in r.text or "个人信息说明" in r.text for r in replies)
    cited = [r for r in replies if r.sources]
    assert cited and cited[0].sources[0]["category"] == "online_safety"
    assert "监护人" in cited[0].text
    payloads = [b.payload for r in replies for b in (r.buttons or [])]
    assert ("/delete_data" if intent == "delete_data" else "/privacy") in payloads


@pytest.mark.parametrize("hits", ["kept", "none"])
def test_a_childs_data_held_elsewhere_is_answered_by_the_data_online_item_when_retrieval_is_unsure(
        unsure, runtime, monkeypatch, hits):
    """What is asked is known (a child's data in a chat group): retrieval unsure which item says it,
    the item on a child's data online answers, from the hits or from the index."""
    import dataclasses

    real = runtime.engine.knowledge.search

    seen = []

    def search(*args, **kwargs):
        result = real(*args, **kwargs)
        kept = [h for h in result.hits if h.entry.item.id != "GUIDE-child-data-online"] if hits == "none" else result.hits
        seen.append({h.entry.item.id for h in kept})
        return dataclasses.replace(result, hits=kept, confidence=0.2)

    monkeypatch.setattr(runtime.engine.knowledge, "search", search)
    replies = unsure("家长群里有人把娃的照片和名字发出去了 能让他删吗",
                     [("delete_data", 0.8), ("privacy", 0.1), ("ask_service", 0.05)])
    cited = _cited(replies)
    assert cited and cited[0].sources[0]["item_id"] == "GUIDE-child-data-online", [r.text for r in replies]
    # "kept": taken from the hits; "none": from the index, the hits never held it
    assert ("GUIDE-child-data-online" in set().union(*seen)) == (hits == "kept")
    assert not any("确认要删除" in r.text or "没太明白" in r.text for r in replies)
    assert "/delete_data" in [b.payload for r in replies for b in (r.buttons or [])]


def test_our_data_asked_about_is_never_answered_from_a_checklist_however_sure_retrieval_is(unsure, runtime,
                                                                                           monkeypatch):
    """"你们…娃的信息": privacy most likely and the message addressed to us — a checklist item on the
    community's list is someone else's data, even when retrieval is certain of it."""
    import dataclasses

    real = runtime.engine.knowledge.search
    monkeypatch.setattr(runtime.engine.knowledge, "search",
                        lambda *args, **kwargs: dataclasses.replace(real(*args, **kwargs), confidence=0.95))
    replies = unsure("你们会不会把娃的信息给别人", [("privacy", 0.4), ("ask_service", 0.3), ("delete_data", 0.1)])
    assert not _cited(replies) and "没太明白" in replies[0].text, [r.text for r in replies]
    # the same words with a service question most likely are still answered
    replies = unsure("你们这边的公租房外地人能申请吗", [("ask_service", 0.4), ("privacy", 0.3), ("delete_data", 0.1)])
    assert _cited(replies), [r.text for r in replies]


@pytest.mark.parametrize(("text", "intent", "says"), [
    ("删除我的信息", "delete_data", "确认要删除"),
    ("把我在这个软件上的信息全删了", "delete_data", "确认要删除"),
    ("删除我在童伴app里的信息", "delete_data", "确认要删除"),
    ("这个网站上我填的信息能删掉吗", "delete_data", "确认要删除"),
    ("你们会把我填的信息给谁看", "privacy", "个人信息说明"),
    ("您好 删除我留的信息", "delete_data", "确认要删除"),
    ("这个软件安全吗 会不会泄露孩子信息", "privacy", "个人信息说明"),
])
def test_our_own_data_questions_still_get_our_answer(unsure, text, intent, says):
    replies = unsure(text, [(intent, 0.9), ("ask_service", 0.05), ("out_of_scope", 0.05)])
    assert says in replies[0].text


def test_a_confirmation_is_answered_by_the_next_message_or_never(runtime):
    """删除我的信息 → (another question) → 好的: nothing is erased."""
    sender = f"confirm-{uuid.uuid4().hex[:8]}"
    assert "确认要删除" in runtime.engine.handle(sender, "删除我的信息")[0].text
    runtime.engine.handle(sender, "孩子在这边上小学要带什么材料")
    replies = runtime.engine.handle(sender, "/affirm")
    assert not any(r.facts.get("deleted") for r in replies)
    assert "确认要删除" in runtime.engine.handle(sender, "删除我的信息")[0].text
    assert any(r.facts.get("deleted") for r in runtime.engine.handle(sender, "/affirm"))


def test_a_request_for_help_that_names_a_service_and_asks_whom_to_call_is_answered(unsure):
    """"想找慈善帮扶 该找谁联系": the service answer and the assistance request offered, no form yet."""
    replies = unsure("想找慈善帮扶 该找谁联系",
                     [("request_assistance", 0.54), ("ask_service", 0.32), ("human_handoff", 0.11)])
    cited = [r for r in replies if r.sources]
    assert cited and cited[0].sources[0]["category"] == "charity"
    assert any(b.title == "申请帮扶" for r in replies for b in (r.buttons or []))
    assert not any("需要填写" in r.text for r in replies)


def test_who_counts_migrant_children_is_answered_from_the_clause_not_with_a_verdict(unsure):
    """A question about the rule that tells nothing of this child gets the clause (民政 leads the
    count), not "还不能确定，请告诉我孩子几周岁"."""
    replies = unsure("流动儿童是谁在统计啊", [("check_eligibility", 0.8), ("ask_service", 0.15), ("greet", 0.05)])
    assert not any(r.facts.get("eligibility") for r in replies)
    cited = [r for r in replies if r.sources]
    assert cited and cited[0].sources[0]["category"] == "eligibility"
    assert "民政部门牵头" in cited[0].text.split("\n")[0]
    still = unsure("孩子8岁 在这边住了一年多了 算不算流动儿童",
                   [("check_eligibility", 0.9), ("ask_service", 0.05), ("greet", 0.05)])
    assert any(r.facts.get("eligibility") for r in still)
    # a statement about this child with a time word still gets the verdict and its questions
    told = unsure("我们来这边时间不长 算流动儿童吗", [("check_eligibility", 0.9), ("ask_service", 0.05), ("greet", 0.05)])
    assert any(r.facts.get("eligibility") for r in told)


def test_a_rule_question_during_an_open_check_is_answered_and_the_check_stays_open(runtime, unsure):
    sender = f"rule-{uuid.uuid4().hex[:8]}"
    first = runtime.engine.handle(sender, "孩子8岁 算不算流动儿童")
    assert any(r.facts.get("eligibility") == "unsure" for r in first), [r.text for r in first]
    rule = unsure("流动儿童是谁在统计啊", [("check_eligibility", 0.8), ("ask_service", 0.15), ("greet", 0.05)], sender)
    assert not any(r.facts.get("eligibility") for r in rule)
    assert any(r.sources for r in rule)
    done = runtime.engine.handle(sender, "住了两年了 是从外省搬来的")
    assert any(r.facts.get("eligibility") == "yes" for r in done), [r.text for r in done]


@pytest.mark.parametrize("text", ["慈善帮扶优先帮哪些孩子", "我们户口不在这能申请临时救助不", "请问慈善帮扶优先帮哪些孩子",
                                  "我眼神不好看不清表 可以叫村委会代我申请临时救助吗"])
def test_a_question_about_a_service_read_as_a_request_is_answered_with_the_request_offered(unsure, text):
    replies = unsure(text, [("request_assistance", 0.7), ("ask_service", 0.2), ("out_of_scope", 0.05)])
    assert any(r.sources for r in replies), [r.text for r in replies]
    assert any(b.title == "申请帮扶" for r in replies for b in (r.buttons or []))
    assert not any("需要填写" in r.text for r in replies)


@pytest.mark.parametrize(("text", "asks"), [
    ("能不能派个人来看看 孩子老不说话", 0.2), ("我要申请帮扶", 0.2), ("家里困难 有没有人能帮帮我们", 0.2),
    ("孩子没人管 谁能帮一下", 0.2), ("能给我家登记帮扶吗", 0.2), ("家里一下子啥都没了 孩子要上学", 0.2),
    ("我一个人带孩子 实在不知道怎么办了", 0.2),
    # the classifier sees no question about a service: the request, whatever the words
    ("孩子他爸进去了 我一个人带三个娃 收入有多少都不够", 0.01), ("慈善帮扶优先帮哪些孩子", 0.01),
])
def test_asking_someone_to_act_or_telling_a_hardship_starts_the_request(unsure, text, asks):
    replies = unsure(text, [("request_assistance", 0.7), ("ask_service", asks), ("out_of_scope", 0.05)])
    assert any("需要填写" in r.text for r in replies), [r.text for r in replies]


def test_a_message_about_a_child_being_hit_names_110_beside_any_answer(unsure):
    replies = unsure("孩子爸爸天天打孩子 谁管", [("ask_service", 0.72), ("request_assistance", 0.16), ("emergency", 0.1)])
    assert any("110" in r.text for r in replies)
    assert not replies[0].text.startswith("负责：")  # no list of offices first for a child being hurt


@pytest.mark.parametrize(("answer", "deleted"), [
    ("确认", True), ("对 删吧", True), ("确认删除", True),
    ("等等", False), ("嗯？", False), ("不删了", False), ("先别删", False),
])
def test_a_typed_answer_to_the_deletion_question(runtime, answer, deleted):
    """A refusal or a doubt deletes nothing (and says so); a plain yes deletes."""
    sender = f"erase-{uuid.uuid4().hex[:8]}"
    assert "确认要删除" in runtime.engine.handle(sender, "删除我的信息")[0].text
    replies = runtime.engine.handle(sender, answer)
    assert any(r.facts.get("deleted") for r in replies) is deleted, [r.text for r in replies]
    if not deleted:
        later = runtime.engine.handle(sender, "好的")
        assert not any(r.facts.get("deleted") for r in later)


def test_deleting_is_possible_in_the_middle_of_the_form(runtime):
    """The consent notice promises "删除我的信息" works at any time: it is never taken as the child's name."""
    sender = f"form-erase-{uuid.uuid4().hex[:8]}"
    runtime.engine.handle(sender, "我要申请帮扶")
    runtime.engine.handle(sender, "同意")
    replies = runtime.engine.handle(sender, "删除我的信息")
    assert "确认要删除" in replies[0].text, [r.text for r in replies]
    assert any(r.facts.get("deleted") for r in runtime.engine.handle(sender, "确认"))


def test_the_safety_line_comes_inside_the_form_before_the_question_it_waits_on(runtime, unsure):
    sender = f"form-hint-{uuid.uuid4().hex[:8]}"
    runtime.engine.handle(sender, "我要申请帮扶")
    runtime.engine.handle(sender, "同意")
    replies = unsure("爸爸脾气不好 有时候打孩子", [("ask_service", 0.7), ("inform", 0.2), ("emergency", 0.1)], sender)
    assert any("110" in r.text for r in replies[:-1]), [r.text for r in replies]


def test_a_question_about_the_priority_care_list_is_answered_with_the_request_offered(unsure):
    """"上了重点关爱名单会有人来看不" asks what follows: clause (五) answers (定期走访), the request one tap away."""
    replies = unsure("上了那个重点关爱名单以后 会有人来屋里看看不",
                     [("request_assistance", 0.82), ("ask_service", 0.07), ("out_of_scope", 0.03)])
    cited = [r for r in replies if r.sources]
    assert cited and cited[0].sources[0]["category"] == "priority_care" and "走访" in cited[0].text
    assert any(b.title == "申请帮扶" for r in replies for b in (r.buttons or []))
    asked_to_register = unsure("能不能帮我们家登记进重点关爱名单",
                               [("request_assistance", 0.99), ("ask_service", 0.01), ("help", 0.0)])
    assert any("需要填写" in r.text for r in asked_to_register)


def test_a_child_being_hurt_that_retrieval_cannot_place_gets_110_first_then_the_protection_item(runtime, monkeypatch):
    """"怀疑楼下那家人打娃 能报吗": the safety line first, then the checklists' item on protecting
    children rather than "please rephrase" — even when retrieval is unsure of the service."""
    from knowledge import not_understood

    monkeypatch.setattr(runtime.engine, "_compose", lambda result, locality: not_understood(result))
    replies = runtime.engine.handle(f"harm-{uuid.uuid4().hex[:8]}", "楼上那户人家经常打孩子 我能管吗")
    assert "110" in replies[0].text and not replies[0].sources
    cited = [r for r in replies if r.sources]
    assert cited and cited[0].sources[0]["category"] == "child_protection", [r.text for r in replies]
    assert not any("没能确定" in r.text for r in replies)


def test_an_unsure_message_about_a_child_being_hurt_gets_the_protection_item_too(runtime, unsure, monkeypatch):
    from knowledge import not_understood

    monkeypatch.setattr(runtime.engine, "_compose", lambda result, locality: not_understood(result))
    replies = unsure("楼上那户人家经常打孩子 我能管吗", [("out_of_scope", 0.3), ("ask_service", 0.28), ("inform", 0.2)])
    assert "110" in replies[0].text
    cited = [r for r in replies if r.sources]
    assert cited and cited[0].sources[0]["category"] == "child_protection", [r.text for r in replies]


def test_the_protection_answer_is_the_item_on_reporting_harm_not_a_neighbour(runtime, monkeypatch):
    """Unsure retrieval put legal aid (12348) level with the item on reporting harm for a drunk father
    smashing things: the answer is whom to call (110, and 12338 for violence at home)."""
    from knowledge import not_understood

    monkeypatch.setattr(runtime.engine, "_compose", lambda result, locality: not_understood(result))
    replies = runtime.engine.handle(f"harm-{uuid.uuid4().hex[:8]}", "孩子他爸喝了酒就骂人摔东西 有没有热线能咨询下")
    cited = _cited(replies)
    assert cited and cited[0].sources[0]["item_id"] == "GUIDE-report-harm", [r.text for r in replies]
    assert "12338" in cited[0].text and "12348" not in cited[0].text


@pytest.mark.parametrize("text, category", [
    ("娃读初一 他爸瘫在床上 家里就我一个人挣钱 学校有补助不", "student_aid"),  # 有…不
    ("我们是外地户口 在这边申请公租房行不行", "housing"),  # A不A
])
def test_a_request_put_as_a_question_with_no_question_word_is_answered(unsure, text, category):
    """"有补助不", "行不行": the question form without a question word is a question about a service,
    answered with the request one tap away, not a form started."""
    replies = unsure(text, [("request_assistance", 0.86), ("ask_service", 0.09), ("emergency", 0.03)])
    cited = _cited(replies)
    assert cited and cited[0].sources[0]["category"] == category, [r.text for r in replies]
    assert not any("需要填写" in r.text for r in replies)
    assert any(b.title == "申请帮扶" for r in replies for b in (r.buttons or []))


def test_a_statement_that_looks_like_a_question_is_told_not_asked():
    from bot.reading import _asks_whether

    for told in ("他爸喝了酒动不动就打孩子 我也没办法", "他时不时就打娃", "老师对娃爱理不理的", "管不管都一样",
                 "不知道有没有用 家里揭不开锅了", "不,不,不用了", "孩子一动不动地坐着"):
        assert not _asks_whether(told), told
    for asked in ("学校有补助不", "申请公租房行不行", "我们厂能不能请人来教急救", "有没有热线能咨询下"):
        assert _asks_whether(asked), asked


@pytest.mark.parametrize("text", ["娃动不动就发脾气 老师也爱理不理的", "能不能派个人来看看 孩子天天哭"])
def test_a_statement_or_a_person_asked_for_keeps_the_form(unsure, text):
    """动不动, 爱理不理 are told, not asked; 能不能派个人来 asks someone to come: the form starts."""
    replies = unsure(text, [("request_assistance", 0.8), ("ask_service", 0.12), ("emergency", 0.05)])
    assert any("需要填写" in r.text for r in replies), [r.text for r in replies]
    assert not _cited(replies), [r.text for r in replies]


def test_a_request_that_asks_whether_with_a_verb_twice_gets_the_answer_before_its_form(unsure):
    """"我们厂能不能请人来教急救" asks someone to act (the form starts) and whether the service exists
    (answered first): A-not-A is a question."""
    replies = unsure("我在昆山电子厂 我们厂能不能请人来教急救",
                     [("request_assistance", 0.67), ("set_locality", 0.17), ("ask_service", 0.07)])
    cited = _cited(replies)
    assert cited and cited[0].sources[0]["category"] == "health_literacy", [r.text for r in replies]
    assert any("需要填写" in r.text for r in replies)


def _cited(replies):
    return [r for r in replies if r.sources]


def test_a_service_question_asked_with_the_place_is_answered_beside_the_place_remembered(unsure):
    text = "娃户口在贵州毕节 我们一家都在杭州 娃的医保是在毕节交还是在杭州交"
    places = [ExtractedEntity("locality", "520500", 4, 8, "贵州毕节", {"role": "hukou"}),
              ExtractedEntity("locality", "330100", 15, 17, "杭州", {"role": "residence"})]
    replies = unsure(text, [("set_locality", 0.62), ("ask_service", 0.17)], entities=places)
    assert "已记住您住在浙江省杭州市" in replies[0].text
    cited = _cited(replies)
    assert cited and cited[0].sources[0]["category"] == "medical_insurance", replies
    assert "暂未收录" in cited[0].text  # the national fallback named on the answer's source line


def test_a_place_told_alone_is_only_remembered(unsure):
    places = [ExtractedEntity("locality", "330102", 4, 9, "杭州上城区", {"role": "residence"})]
    replies = unsure("我们住在杭州上城区", [("set_locality", 0.99)], entities=places)
    assert len(replies) == 1 and "已记住" in replies[0].text and not _cited(replies)


def test_whether_the_committee_may_apply_for_us_is_answered_not_a_form(unsure):
    replies = unsure("我不识字 不会填表 居委会能帮我申请临时救助不",
                     [("request_assistance", 0.81), ("ask_service", 0.054), ("check_status", 0.03)])
    cited = _cited(replies)
    assert cited and cited[0].sources[0]["category"] == "temporary_assistance", replies
    assert "代" in cited[0].text  # someone may apply on the family's behalf
    assert not any("同意" in r.text and "监护人" in r.text for r in replies)  # no consent question: no form
    assert "/request_assistance" in [b.payload for r in replies for b in r.buttons or []]


def test_data_the_community_registered_is_answered_from_the_ledger_clauses_ours_by_our_notice(unsure):
    replies = unsure("他们登记了俺娃身份证号还有家里的情况 会不会泄露出去被人拿去卖",
                     [("privacy", 0.93), ("ask_service", 0.02)])
    cited = _cited(replies)
    assert cited and "信息安全" in cited[0].text, replies
    ours = unsure("你们登记了俺娃的信息会不会泄露", [("privacy", 0.99), ("delete_data", 0.01)])
    assert not _cited(ours) and "个人信息说明" in ours[0].text
    # a registration told as done, by whomever ("登记的时候问了…"): the ledger's data, our notice one tap away
    for told in ("登记家里情况的时候问得可细了 会不会把俺家的事泄露出去", "登记的时候问了娃的病、家里收入 会不会泄露出去"):
        replies = unsure(told, [("privacy", 0.93), ("delete_data", 0.04)])
        cited = _cited(replies)
        assert cited and "信息安全" in cited[0].text, [r.text for r in replies]
        assert "/privacy" in [b.payload for r in replies for b in r.buttons or []]
    ours = unsure("我在这登记了 信息安全吗", [("privacy", 0.96), ("delete_data", 0.02)])
    assert not _cited(ours) and "个人信息说明" in ours[0].text


def test_what_the_community_had_a_parent_fill_in_is_answered_with_the_law_on_a_childs_data(unsure):
    """"社区让填了一大堆孩子的信息 会不会泄露": the community's registration, not Tongban's — kept safe
    (clause 五) and, under 14, sensitive information that needs the guardian's consent."""
    replies = unsure("居委会让我们填了好多娃的信息 家里情况都写了 会不会泄露",
                     [("privacy", 0.9), ("ask_service", 0.05)])
    cited = _cited(replies)
    assert cited and cited[0].sources[0]["category"] == "priority_care", [r.text for r in replies]
    assert "信息安全" in cited[0].text and "敏感个人信息" in cited[0].text
    # another office's form is not the ledger's data ("社区医院让填疫苗信息", "街道让填学籍信息")
    for other in ("社区医院让填娃的疫苗信息 会不会泄露", "社区让填学籍信息 会不会泄露出去"):
        replies = unsure(other, [("privacy", 0.9), ("ask_service", 0.05)])
        assert not any("信息安全" in r.text for r in _cited(replies)), [r.text for r in replies]


def test_an_age_is_no_time():
    """"不满14周岁" is who the law protects, not a period of time: an item saying it does not answer
    "多久" (it took the update question from the item that says every half year)."""
    from knowledge import item_text
    assert not item_text._TIME_WORDS.search("不满14周岁孩子的信息")
    assert item_text._TIME_WORDS.search("每2周来一次") and item_text._TIME_WORDS.search("30天内")


@pytest.mark.parametrize("text, ranking, said", [
    ("台账多久更新一次", [("out_of_scope", 0.48), ("check_status", 0.22), ("ask_service", 0.2)], "半年"),
    ("登记进台账要带什么材料", [("privacy", 0.27), ("check_status", 0.26), ("request_assistance", 0.19)], "台账"),
    ("孩子信息多久更新一回啊 我们换了个城市住 信息能跟过去不",
     [("set_locality", 0.37), ("privacy", 0.25), ("ask_service", 0.18)], "半年"),
])
def test_a_question_that_names_the_list_is_answered_whatever_the_model_made_of_it(unsure, text, ranking, said):
    replies = unsure(text, ranking)
    cited = _cited(replies)
    assert cited and cited[0].sources[0]["category"] in ("priority_care", "eligibility"), replies
    assert said in cited[0].text
    assert not any("帮不上" in r.text or "没太明白" in r.text for r in replies)


def test_a_request_for_help_that_asks_how_is_answered_and_still_filed(unsure):
    replies = unsure("我们家刚从隔壁街道搬过来 家里确实揭不开锅了 能不能自己主动去要帮扶 还是只能干等人家来排查",
                     [("request_assistance", 0.98), ("ask_service", 0.01)])
    cited = _cited(replies)
    assert cited and cited[0].sources[0]["category"] == "priority_care", replies
    assert replies[0] is cited[0]  # the answer first
    assert any("同意" in r.text and "监护人" in r.text for r in replies[1:])  # then the request's consent question


@pytest.mark.parametrize("text, ranking", [
    # hardship told: the answer on asking for oneself, then the request's consent question
    ("娃户口在隔壁乡 俺们搬到街道上住 家里实在困难 能不能自己提出来要帮扶 还是只能等人来查",
     [("request_assistance", 0.95), ("ask_service", 0.014), ("out_of_scope", 0.007)]),
    # no hardship word: the answer, and the request one tap away
    ("我们家日子紧巴巴的 可以主动去申请让人帮一把吗 还是得等人家上门来查",
     [("request_assistance", 0.82), ("ask_service", 0.085), ("emergency", 0.018)]),
])
def test_whether_a_family_may_ask_for_help_themselves_is_answered_before_anything_is_filed(unsure, text, ranking):
    """"能不能自己提出来要帮扶 还是只能等人来查" asks the rule (the plan lets a family that moved across
    townships ask for help itself): answered from the checklists like any question, even where the
    search is less sure than for a request's side question."""
    replies = unsure(text, ranking)
    cited = _cited(replies)
    assert cited and cited[0].sources[0]["category"] == "priority_care", [r.text for r in replies]
    assert replies[0] is cited[0] and "主动" in cited[0].text
    filed_or_offered = [r for r in replies[1:] if "同意" in r.text and "监护人" in r.text
                        or "/request_assistance" in [b.payload for b in r.buttons or []]]
    assert filed_or_offered, [r.text for r in replies]


@pytest.mark.parametrize("text", ["能不能主动联系我们一下 家里实在困难", "可不可以主动给我们打个电话",
                                  "你们能不能主动上我们家看一眼", "孩子能自己在家吗 我们想申请帮扶"])
def test_asking_someone_to_act_of_their_own_accord_is_not_asking_whether_we_may(text):
    """主动 or 自己 followed by what someone else would do (联系我们, 给我们打电话, 上我们家) asks them to
    act; only the family's own act (自己去申请, 主动提, 主动跟社区说) asks whether it may."""
    from bot.reading import SELF_ASK
    assert not SELF_ASK.search(text)
    for own in ("能不能自己去申请", "可以主动提吗", "能主动跟社区申请帮扶不", "自己能不能去申请", "是不是只能等人来查"):
        assert SELF_ASK.search(own), own


def test_a_request_for_us_to_act_is_not_a_question_about_asking_oneself(unsure):
    """"能不能派个人来" asks us to act: the request's form, no answer from a guessed service first."""
    replies = unsure("能不能派个人来看看 家里实在困难 娃没人管",
                     [("request_assistance", 0.95), ("ask_service", 0.03)])
    assert not _cited(replies), [r.text for r in replies]
    assert any("同意" in r.text and "监护人" in r.text for r in replies)


def test_a_request_that_asks_for_materials_goes_straight_to_the_form(unsure):
    replies = unsure("家里困难 孩子爸爸住院了 想申请补助 要什么材料",
                     [("request_assistance", 0.97), ("ask_service", 0.02)])
    assert not _cited(replies), replies
    assert any("同意" in r.text and "监护人" in r.text for r in replies)


def test_a_place_given_for_a_waiting_handoff_files_it_even_with_a_question_beside(unsure):
    """"转人工" asks for the area first; the place that answers it files the handoff, whatever else the
    message asks."""
    sender = f"unsure-{uuid.uuid4().hex[:8]}"
    first = unsure("转人工", [("human_handoff", 0.99)], sender=sender)
    assert any("哪个市" in r.text for r in first), first
    text = "娃户口在贵州毕节 我们一家都在杭州 娃的医保是在毕节交还是在杭州交"
    places = [ExtractedEntity("locality", "520500", 4, 8, "贵州毕节", {"role": "hukou"}),
              ExtractedEntity("locality", "330100", 15, 17, "杭州", {"role": "residence"})]
    replies = unsure(text, [("set_locality", 0.62), ("ask_service", 0.17)], sender=sender, entities=places)
    assert any("编号" in r.text or "工作人员" in r.text for r in replies[1:]), replies


def test_hardship_beside_a_question_about_the_list_keeps_the_request_one_tap_away(unsure):
    replies = unsure("家里揭不开锅了 娃能进重点关爱名单不",
                     [("request_assistance", 0.40), ("ask_service", 0.30), ("out_of_scope", 0.1)])
    assert _cited(replies), replies
    assert "/request_assistance" in [b.payload for r in replies for b in r.buttons or []]


def test_a_family_in_hardship_asking_whether_the_committee_may_hand_in_the_application_is_answered_then_filed(unsure):
    """Whether someone may apply on the family's behalf is a rule of the service: answered first; the
    hardship told beside it (a partner in hospital) still files the request."""
    replies = unsure("俺老伴住院了俺走不开 能不能让居委会帮着递临时救助的申请",
                     [("request_assistance", 0.75), ("ask_service", 0.18), ("check_status", 0.02)])
    cited = _cited(replies)
    assert cited and cited[0].sources[0]["category"] == "temporary_assistance", replies
    assert replies[0] is cited[0] and "代" in cited[0].text
    assert any("同意" in r.text and "监护人" in r.text for r in replies[1:])


@pytest.mark.parametrize("text", ["娃老是跟人打架，脾气怪得很，学校说他行为有问题，这种社区会重点照看不",
                                  "社区给外地娃登记造册这事 是从啥时候开始弄的"])
def test_parents_words_for_the_list_are_answered_from_the_ledger_clauses(unsure, text):
    replies = unsure(text, [("ask_service", 0.89), ("out_of_scope", 0.03), ("request_assistance", 0.02)])
    cited = _cited(replies)
    assert cited and cited[0].sources[0]["category"] in ("priority_care", "eligibility"), replies


@pytest.mark.parametrize("text, names", [
    ("娃老是跟人打架，学校说他行为有问题，这种社区会重点照看不", True),
    ("社区把娃家里的情况都登记在册了 会不会泄露出去啊", True),
    ("那个台账多久更新", True),
    # whether the child gets that care, whoever gives it; whether the community will come to see the child
    ("娃爸妈都去外地干活了，娃跟着他表舅在城里住，其实没人正经管他，这种能被重点关照吗", True),
    ("俺家娃有自闭症 家里也紧巴巴的 社区会上门来看看不", True),
    ("社区能不能上门来看看我家娃", False),  # someone asked to come: the request
    ("孩子被打了 会不会被重点关照", False),
    # a request for care told with hardship or harm, a teacher's care, a school's register: not the list
    ("孩子他妈住院了，孩子没人照看，能不能让社区重点照看一下", False),
    ("孩子被打了 社区会重点关照不", False),
    ("老师会重点关照一下吗", False),
    ("学校说要把外地娃登记造册 信息会不会泄露", False),
    # a request for care (一下), hardship the general rule does not know, a clinic's or a kindergarten's
    # register, a teacher's list, the elderly
    ("社区能不能重点照看一下我家孩子", False),
    ("孩子他爸去世了 社区会重点照顾不", False),
    ("社区卫生服务中心把娃登记在册了 信息安全吗", False),
    ("社区幼儿园把外地娃登记造册 会不会泄露", False),
    ("老师说会把他列为重点照顾的名单", False),
    ("社区会重点照顾独居老人吗", False),
])
def test_parents_words_name_the_list_only_beside_the_community_and_without_hardship(text, names):
    from bot.reading import names_the_list

    assert names_the_list(text) is names


@pytest.mark.parametrize("text, proxy", [
    ("俺老伴住院了俺走不开 能不能让居委会帮着递临时救助的申请", True),
    ("我不识字 不会填表 居委会能帮我申请临时救助不", True),
    ("叫村委会代我申请低保吗", True),
    ("找朋友帮忙看孩子我去申请居住证", False),  # two actions, not an application handed in by a friend
])
def test_an_application_handed_in_by_someone_else(text, proxy):
    from bot.reading import BY_PROXY

    assert bool(BY_PROXY.search(text)) is proxy


def test_how_often_a_registered_record_is_updated_is_answered_from_the_monitoring_even_asked_of_us(unsure):
    """Parents take Tongban for the office that registered them: Tongban updates nothing, the
    monitoring updates a child's record every half year; how Tongban keeps its data is one tap away."""
    replies = unsure("你们登记的那些娃的信息 多久更新一回啊", [("privacy", 0.9), ("ask_service", 0.05)])
    cited = _cited(replies)
    assert cited and "半年" in cited[0].text, replies
    ours = unsure("我在你们这登记的信息保存多久", [("privacy", 0.95), ("delete_data", 0.02)])
    assert not _cited(ours) and "个人信息说明" in ours[0].text
    # another record, or a correction of what was given to us: not the monitoring's
    from bot.privacy import UPDATED

    for text in ("孩子的学籍信息什么时候更新", "娃的医保信息多久更新一次", "我孩子的信息填错了 什么时候能更新"):
        assert not UPDATED.search(text), text


def test_a_plain_request_that_someone_else_apply_starts_the_form_without_an_answer(unsure):
    replies = unsure("麻烦让社区帮我们家申请一下临时救助", [("request_assistance", 0.95), ("ask_service", 0.02)])
    assert not _cited(replies), replies
    assert any("同意" in r.text and "监护人" in r.text for r in replies)


def test_an_unsure_parse_put_as_a_question_the_checklists_answer_gets_the_answer_not_a_menu(unsure):
    """The intents undecided (request, privacy, status…), but a question retrieval is sure of: the
    answer, the request offered beside it — not "您是想做下面哪一件事"."""
    replies = unsure("急着用钱 证明材料一下子凑不齐 是不是就申请不了了",
                     [("check_status", 0.37), ("request_assistance", 0.33), ("ask_service", 0.15)])
    cited = _cited(replies)
    assert cited and cited[0].sources[0]["category"] == "temporary_assistance", [r.text for r in replies]
    assert "先受理" in cited[0].text or "先行受理" in cited[0].text
    assert "/request_assistance" in [b.payload for r in replies for b in r.buttons or []]
    # told, not asked, and no service question seen by the model: the menu as before
    told = unsure("证明材料一下子凑不齐", [("check_status", 0.37), ("request_assistance", 0.33), ("privacy", 0.15)])
    assert not _cited(told) and "没太明白" in told[0].text
    # something filed and waited on: the status reply, whatever the checklists say of the service
    filed = unsure("饿死了刚下班，顺便问问你们那个困难补助我上礼拜交的，咋还没消息",
                   [("check_status", 0.45), ("ask_service", 0.3), ("out_of_scope", 0.1)])
    assert "没有查到您的申请" in filed[0].text or "还没有提交过申请" in filed[0].text, [r.text for r in filed]


@pytest.mark.parametrize("text, ranking, reply", [
    # our own data asked about: our notice one tap away, not a checklist item on someone else's
    ("你们会不会把娃的信息给别人", [("privacy", 0.4), ("ask_service", 0.3), ("delete_data", 0.1)], "没太明白"),
    # our own application: the status reply
    ("我申请的帮扶怎么还没人联系", [("check_status", 0.4), ("ask_service", 0.3), ("request_assistance", 0.2)],
     "申请"),
    ("申请了三天了咋还没动静呀", [("check_status", 0.45), ("ask_service", 0.3), ("out_of_scope", 0.1)], "申请"),
])
def test_an_unsure_question_about_our_data_or_our_application_is_not_answered_from_a_checklist(unsure, text,
                                                                                                ranking, reply):
    replies = unsure(text, ranking)
    assert not _cited(replies) or "没有查到您的申请" in replies[0].text, [r.text for r in replies]
    assert reply in replies[0].text, [r.text for r in replies]


def test_an_unsure_request_to_apply_for_us_is_no_question_about_a_service(unsure):
    """Asked to act ("能不能帮我们家申请"): the request is started, as when the model is sure."""
    replies = unsure("能不能帮我们家申请一下临时救助", [("request_assistance", 0.45), ("ask_service", 0.3), ("privacy", 0.1)])
    assert any("同意" in r.text and "监护人" in r.text for r in replies), [r.text for r in replies]


def test_a_relative_out_of_touch_or_how_long_a_service_takes_tells_of_no_filing():
    from bot.questions import TELLS_OF_A_FILING

    assert TELLS_OF_A_FILING.search("困难补助我上礼拜交的，咋还没消息")
    assert TELLS_OF_A_FILING.search("公租房排上了没有，我三月份报的")
    assert not TELLS_OF_A_FILING.search("孩子他爸出去三个月一直没消息")
    assert not TELLS_OF_A_FILING.search("临时救助一般多久能批下来")
    assert not TELLS_OF_A_FILING.search("对自己没信心")


@pytest.mark.parametrize("text, ledger", [
    ("登记家里情况的时候问得可细了 会不会泄露", True),
    ("不用登记了吧 会不会泄露", False),
    ("登记过程会不会泄露信息", False),
    ("上户口登记的时候填的信息会不会泄露", False),
])
def test_a_registration_told_as_done_is_the_ledgers_not_a_negation_or_another_offices(text, ledger):
    from bot.reading import REGISTERED, REGISTERED_ELSEWHERE

    assert (bool(REGISTERED.search(text)) and not REGISTERED_ELSEWHERE.search(text)) is ledger


def test_a_child_alone_at_home_is_hardship_so_the_request_comes_first():
    from bot.reading import names_the_list

    assert names_the_list("社区会上门来看看不")
    assert not names_the_list("社区会来家里看看吗 娃一个人在家")


def test_a_question_that_names_places_by_what_they_are_is_a_service_question(unsure):
    """"按户口所在地还是按现在住的地方" names no place: read as telling one, it is answered as the
    service question it is, not "没能识别这个地方"; a place that cannot be read is still said so."""
    replies = unsure("打疫苗是按户口所在地还是按现在住的地方", [("set_locality", 0.48), ("ask_service", 0.42)])
    cited = _cited(replies)
    assert cited and cited[0].sources[0]["category"] == "immunization", [r.text for r in replies]
    assert not any("没能识别" in r.text for r in replies)
    replies = unsure("我们住在那个新开发的片区", [("set_locality", 0.9), ("ask_service", 0.05)])
    assert any("没能识别" in r.text for r in replies), [r.text for r in replies]


def test_a_mini_program_asking_for_a_childs_data_is_someone_elses(unsure):
    """A mini program (小程序) that asks for a child's ID number holds the data, not Tongban: the law
    on children's data online answers; "这个小程序" is Tongban's own."""
    from bot.reading import _held_elsewhere
    text = "娃才12岁 有的小程序要填娃身份证号 这些信息算不算要特别保护的"
    assert _held_elsewhere(ParseResult(text, "privacy", 0.9, [("privacy", 0.9)], [], normalized=text))
    own = "你们这个小程序问娃的名字年龄 会不会乱用"
    assert not _held_elsewhere(ParseResult(own, "privacy", 0.9, [("privacy", 0.9)], [], normalized=own))
    replies = unsure(text, [("privacy", 0.7), ("ask_service", 0.2)])
    cited = _cited(replies)
    assert cited and cited[0].sources[0]["category"] == "online_safety", [r.text for r in replies]


@pytest.mark.parametrize("text, ranking, category", [
    ("人社局都能给俺们外地打工的提供些啥", [("help", 0.62), ("ask_service", 0.21)], "parent_employment"),
    ("俺两口子想换个活 找工作能找谁帮忙", [("human_handoff", 0.36), ("out_of_scope", 0.23), ("ask_service", 0.22)],
     "parent_employment"),
])
def test_a_question_naming_a_service_beyond_doubt_is_answered_whatever_act_it_was_read_as(unsure, text, ranking, category):
    replies = unsure(text, ranking)
    cited = _cited(replies)
    assert cited and cited[0].sources[0]["category"] == category, [r.text for r in replies]


@pytest.mark.parametrize("text, ranking, expected", [
    ("我是孩子奶奶 不太会用 你教教我怎么弄", [("help", 0.7), ("ask_service", 0.1)], "可以帮您"),
    ("你能帮我干啥", [("help", 0.9)], "可以帮您"),
    ("转人工 人社局都能给俺们提供些啥", [("help", 0.8), ("ask_service", 0.1)], "可以帮您"),  # a person asked for
])
def test_how_to_use_us_and_a_person_asked_for_stay_what_they_are(unsure, text, ranking, expected):
    replies = unsure(text, ranking)
    assert not _cited(replies) and any(expected in r.text for r in replies), [r.text for r in replies]


@pytest.mark.parametrize("text", ["怀疑楼下那家人打娃 好几次听见哭 能报吗", "隔壁老打孩子 我报警的话警察管不管"])
def test_a_question_about_a_child_hurt_that_retrieval_cannot_place_is_answered_with_whom_to_report_to(unsure, text):
    """A child hurt, asked about, retrieval unsure: the item on reporting it (anyone may; 110, the
    committee, civil affairs), never another child-protection item that happens to rank (a missing
    child's)."""
    replies = unsure(text, [("ask_service", 0.56), ("out_of_scope", 0.27), ("emergency", 0.16)])
    cited = _cited(replies)
    assert cited and cited[0].sources[0]["item_id"] == "GUIDE-report-harm", [r.text for r in replies]


@pytest.mark.parametrize(("text", "ranking"), [
    ("我们从昆山搬去太仓了 之前登记过娃的信息 多久会更新一回啊",
     [("set_locality", 0.4), ("delete_data", 0.16), ("check_eligibility", 0.15)]),
    ("社区上个月来登记过孩子信息了 以后还来不 多久更新一回",
     [("check_status", 0.38), ("privacy", 0.21), ("ask_service", 0.19)]),
])
def test_how_often_the_communitys_registration_is_updated_is_answered_from_the_survey(unsure, runtime, monkeypatch,
                                                                                     text, ranking):
    """A question about the community's registration (the plan's survey, 二（四）), read as a place, a
    status or a deletion: how often it is updated, from the survey's item — not a menu, and not the
    ledger's even when retrieval ranks the ledger's higher."""
    _favour(runtime, monkeypatch, "priority_care")
    replies = unsure(text, ranking)
    cited = _cited(replies)
    assert cited, [r.text for r in replies]
    source = cited[0].sources[0]
    assert source["category"] == "eligibility" and source["clause"].startswith("二、（四）"), source
    assert cited[0].text.splitlines()[0].startswith("流动儿童信息至少每半年更新一次")


def _favour(runtime, monkeypatch, category):
    """Retrieval ranks ``category``'s items first (each hit's score + 1)."""
    import dataclasses

    real = runtime.engine.knowledge.search

    def search(*args, **kwargs):
        result = real(*args, **kwargs)
        hits = [dataclasses.replace(h, score=h.score + (1.0 if h.entry.item.category == category else 0.0))
                for h in result.hits]
        return dataclasses.replace(result, hits=sorted(hits, key=lambda h: -h.score))

    monkeypatch.setattr(runtime.engine.knowledge, "search", search)


@pytest.mark.parametrize("text", ["社区登记过娃的信息 临时救助多久能批下来", "网格员登记过娃 他爸天天打娃 多久有人管"])
def test_a_time_asked_of_something_else_beside_a_registration_is_not_the_registrations_update(unsure, text):
    replies = unsure(text, [("check_status", 0.4), ("ask_service", 0.3), ("privacy", 0.1)])
    assert not any(r.text.startswith("流动儿童信息至少每半年更新一次") for r in replies), [r.text for r in replies]


def test_the_ledger_named_is_answered_from_the_ledger(unsure, runtime, monkeypatch):
    """台账 named: the ledger's item (二（五）) says how often, before the survey's, even when retrieval
    ranks the survey's higher."""
    _favour(runtime, monkeypatch, "eligibility")
    replies = unsure("重点关爱台账上的信息多久更新一回", [("privacy", 0.4), ("ask_service", 0.3), ("check_status", 0.1)])
    cited = _cited(replies)
    assert cited and cited[0].sources[0]["category"] == "priority_care", [r.text for r in replies]
    assert "每半年" in cited[0].text


def test_read_as_out_of_scope_not_beyond_doubt_a_question_about_the_plans_services_is_answered(unsure):
    """"新闻里说的1+N托育是个啥" read as out of scope at 0.67: retrieval is sure of the childcare item."""
    replies = unsure("新闻里说的1+N托育是个啥", [("out_of_scope", 0.67), ("ask_service", 0.2), ("help", 0.03)])
    cited = _cited(replies)
    assert cited and cited[0].sources[0]["category"] == "childcare", replies
    assert not any("帮不上忙" in r.text for r in replies)
    replies = unsure("娃老是撒谎 明明打碎了碗非说是猫打的 咋办", [("out_of_scope", 0.64), ("ask_service", 0.27)])
    assert _cited(replies), replies  # a child's upbringing: the family-education item


def test_out_of_scope_beyond_doubt_is_never_answered_from_a_checklist(unsure):
    replies = unsure("新闻里说的1+N托育是个啥", [("out_of_scope", 0.85), ("ask_service", 0.1), ("help", 0.03)])
    assert not _cited(replies) and "帮不上忙" in replies[0].text


@pytest.mark.parametrize("text", [
    "我自己的医保断缴了半年，怎么补",  # the adult's own insurance
    "想问下大人得了带状疱疹疼得要死，去哪个科，我自己的医保在老家",
    "杀鸡要先放血还是先烫毛，我老婆说我杀的鸡不好吃",  # no child, no service of the plan
    "老家的村干部贪污怎么举报",
    "娃在老家读书 我自己的医保断缴了半年 怎么补",  # a child named, the question the adult's own
    "医生给我定的治疗方案 医保能报多少",  # a doctor's plan is not the plan
])
def test_read_as_out_of_scope_the_adults_own_or_a_childless_question_stays_out_of_scope(unsure, text):
    replies = unsure(text, [("out_of_scope", 0.67), ("ask_service", 0.25), ("emergency", 0.01)])
    assert not _cited(replies), replies


@pytest.mark.parametrize("text", [
    "娃上个月跟我们吵架跑出去，在外头晃了好几天晚上睡桥洞，现在已经接回家了，这种情况政府会重点照顾不",
    "娃以前跑出去在外面流浪过两回，后来找回来了，现在会有人跟进不",
    "娃他爸跑了，俺一个人带俩娃，房租都快交不起了，俺们算不算要重点关照的",
])
@pytest.mark.parametrize("intent", ["ask_service", "request_assistance", "unsure"])
def test_special_care_asked_after_a_story_of_the_lists_situations_is_answered_by_the_list(unsure, text, intent):
    """A story of one of the list's situations (a child who ran away, a parent gone, hardship) and the
    question whether the child will be specially looked after: the priority-care list (its situations,
    its visits) answers, with the assistance request beside it — not a menu, not another service."""
    ranking = {"ask_service": [("ask_service", 0.7), ("request_assistance", 0.2), ("out_of_scope", 0.1)],
               "request_assistance": [("request_assistance", 0.7), ("ask_service", 0.2), ("out_of_scope", 0.1)],
               "unsure": [("ask_service", 0.3), ("request_assistance", 0.28), ("out_of_scope", 0.2)]}[intent]
    replies = unsure(text, ranking)
    cited = [r for r in replies if r.sources]
    assert cited and cited[0].sources[0]["category"] == "priority_care", replies
    assert "走访" in cited[0].text and not any("没太明白" in r.text or "没能确定" in r.text for r in replies)
    assert any(b.title == "申请帮扶" for r in replies for b in (r.buttons or []))


@pytest.mark.parametrize("text", [
    "学校里有没有人管娃心理问题",  # someone who handles a child's trouble, asked for by the service
    "孩子偷东西打架 我们管不住 想找人帮忙管管",  # a request, not a question
    "娃天天刷短视频刷到半夜 网上乱七八糟的东西太多了 有人管没",  # no situation of the list told
])
def test_care_asked_otherwise_is_not_read_as_the_list(text):
    from bot.reading import _asks_for_special_care

    assert not _asks_for_special_care(ParseResult(text, "ask_service", 0.9, [("ask_service", 0.9)], [],
                                                  normalized=normalize(text)))


@pytest.mark.parametrize(("text", "intent"), [
    ("我们老板想搞个项目帮工人的娃 行不行", "ask_service"),  # a factory's workers: no question about a job
    ("我们老板说想给厂里工人家的娃捐点书包文具 能这么搞不", "out_of_scope"),
    ("我周末有空 想去给流动儿童当志愿者 咋参加", "ask_service"),  # a volunteer: not urban integration
    ("我自己想给流动娃送点衣服书本 该咋弄", "request_assistance"),
])
def test_someone_who_offers_to_give_is_answered_from_charity(unsure, text, intent):
    """A donation, a project or volunteering offered for children: the plan's charity clause answers
    (people and companies may donate, set up projects, volunteer), whatever else the message names."""
    replies = unsure(text, [(intent, 0.5), ("parent_employment" if intent != "ask_service" else "out_of_scope", 0.3),
                            ("greet", 0.2)])
    cited = [r for r in replies if r.sources]
    assert cited and cited[0].sources[0]["category"] == "charity", replies
    assert "帮不上忙" not in replies[0].text and "没能确定" not in replies[0].text


@pytest.mark.parametrize("text", [
    "我想给娃送点衣服回老家 快递咋寄",  # the giver's own child
    "想申请慈善帮扶 该找谁",  # asking to receive: charity by the search, not by this rule
    "娃想当班长 老师不让",
    "捐款箱在哪",
    "我是在社区做志愿者的，听说有给流动娃做阅读指导的服务，是谁在搞",  # a volunteer saying who they are
])
def test_no_offer_to_give_in_other_words(text):
    from nlu.giving import offers_to_give

    assert not offers_to_give(text)
    assert offers_to_give("俺想给流动娃捐点书 咋捐") and offers_to_give("我是大学生 想当志愿者陪流动娃 咋参加")


@pytest.mark.parametrize(("text", "intent"), [
    ("俺得住院做手术好几个月，娃没人带，政府有地方能临时帮着照看不", "request_assistance"),
    ("俺病了要住院 娃在城里没人照看 能临时送到哪", "ask_service"),
    ("万一以后我们两口子都出了事，娃没人带，国家有没有地方能先帮着照看", "request_assistance"),
    ("孩子以后要是真没人管了 谁来监护他", "ask_service"),
])
def test_someone_to_look_after_the_child_for_a_while_is_the_plans_guardianship(unsure, text, intent):
    """A parent who cannot look after the child asks who can for a while: the plan's temporary and
    long-term guardianship (救助保护机构, 儿童福利机构) answers, alone — no allowance's step beside it — and
    the assistance request is offered; not the form started, not a hospital bill's filing."""
    replies = unsure(text, [(intent, 0.6), ("ask_service" if intent != "ask_service" else "request_assistance", 0.3),
                            ("out_of_scope", 0.1)])
    cited = [r for r in replies if r.sources]
    assert cited and cited[0].sources[0]["category"] == "basic_living", replies
    assert "救助保护机构" in cited[0].text and "临时" in cited[0].text and "认定" not in cited[0].text
    assert any(b.title == "申请帮扶" for r in replies for b in (r.buttons or []))
    assert not any("需要填写" in r.text for r in replies)


@pytest.mark.parametrize("text", ["申请临时救助都要带啥", "去街道申请临时救助要带居住证吗 没有咋整",
                                  "临时监护跟长期监护有啥不一样", "奶奶临时帮着带孩子 我们在外地打工"])
def test_temporary_assistance_or_the_guardianship_named_is_no_care_asked(text):
    from bot.reading import _asks_for_temporary_care

    parse = ParseResult(text, "ask_service", 0.9, [("ask_service", 0.9)], [], normalized=normalize(text))
    assert not _asks_for_temporary_care(parse)


@pytest.mark.parametrize("text", [
    "他爸喝了酒就动手打娃 社区会不会管管",  # a child hurt: the report answer and the safety line come first
    "孩子在学校被同学打架欺负 老师会不会管管",
    "孩子有残疾 上学能不能重点照顾",  # another service named
    "孩子残疾 医保报销进度会有人跟进吗",
    "家里困难 申请的补助有人管没",
])
def test_care_asked_of_another_service_or_beside_harm_is_not_the_list(text):
    from bot.reading import _asks_for_special_care

    parse = ParseResult(text, "ask_service", 0.9, [("ask_service", 0.9)], [], normalized=normalize(text))
    assert not _asks_for_special_care(parse)


def test_a_request_that_someone_be_sent_starts_the_form_even_with_care_asked(unsure):
    replies = unsure("娃他爸坐牢了 我一个人实在管不了 社区能不能派人来管管",
                     [("request_assistance", 0.8), ("ask_service", 0.15), ("out_of_scope", 0.05)])
    assert any("需要填写" in r.text for r in replies), replies


@pytest.mark.parametrize("text", [
    "两口子都上班，谁来带娃啊，附近有没有托育",  # childcare a family arranges
    "放暑假了 谁来照看孩子 有没有暑托班",
    "请了个保姆临时照顾孩子 托育补贴能领吗",
    "老家的娃临时送去亲戚家 学籍咋办",
])
def test_childcare_or_a_school_place_is_no_temporary_guardianship(text):
    from bot.reading import _asks_for_temporary_care

    parse = ParseResult(text, "ask_service", 0.9, [("ask_service", 0.9)], [], normalized=normalize(text))
    assert not _asks_for_temporary_care(parse)


def test_first_aid_comes_before_the_guardianship_answer(unsure):
    replies = unsure("娃被狗咬了 得陪他去打针 俺病了要住院 小的没人带 政府能临时帮着照看不",
                     [("ask_service", 0.6), ("request_assistance", 0.3), ("out_of_scope", 0.1)])
    cited = [i for i, r in enumerate(replies) if r.sources]
    assert cited and "冲洗" in replies[0].text and cited[0] > 0, [r.text[:30] for r in replies]


@pytest.mark.parametrize("text", ["我想问问娃上幼儿园要出钱不", "我想问下学校要求家长捐钱 这合法吗",
                                  "公司要我们出钱买社保吗", "学校要孩子当志愿者 不去行不行"])
def test_a_question_of_paying_or_being_told_to_volunteer_is_no_offer_to_give(text):
    from nlu.giving import offers_to_give

    assert not offers_to_give(text)
