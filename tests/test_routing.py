"""Routing a parent can trust: questions outside Tongban's scope get no checklist item but the
right public line; slang and dialect yes/no/bye work."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("message, line", [
    ("老家的宅基地被村里人占了怎么办", "12348"),
    ("我跟孩子他爸要离婚 财产怎么分", "12348"),
    ("驾照快到期了 在外地能换吗", "12345"),
    ("过年回家的火车票怎么抢", "12306"),
])
def test_out_of_scope_gets_no_checklist_item_and_the_right_line(chat, message, line):
    replies = chat(message)
    assert not any((r.get("custom") or {}).get("sources") for r in replies), replies
    assert line in replies[0]["text"], replies[0]["text"]
    assert "帮不上" in replies[0]["text"]


@pytest.mark.parametrize("message", ["老板拖欠我三个月工资了 去哪里告他", "老板欠了俩月工资不给 打啥电话",
                                     "我自己的养老保险能从老家转到这边来吗", "俺的社保养老在老家交的 来这边咋弄 问谁",
                                     "我的社保在这边交的 有问题找谁", "俺在老家交的新农保 出来打工了咋续交"])
def test_wages_and_a_parents_own_insurance_are_answered_by_the_item_on_the_line_they_are_referred_to(chat, message):
    """Out of scope, but the checklists hold the 12333 item itself: it is the answer, cited — also
    when retrieval or the intent model is unsure (the words chose the line)."""
    replies = chat(message)
    cited = [r for r in replies if (r.get("custom") or {}).get("sources")]
    assert cited and cited[0]["custom"]["sources"][0]["item_id"] == "GUIDE-12333", replies
    assert "12333" in cited[0]["text"].split("\n")[0], cited[0]["text"]
    assert "帮不上" not in replies[0]["text"]


def test_an_unsure_message_that_names_a_person_to_talk_to_is_handed_over(chat):
    replies = chat("我真的会谢 问了三遍还是没说清楚 转人工吧")
    assert "转给" in replies[0]["text"] or "工作人员" in replies[0]["text"], replies


@pytest.mark.parametrize("message", ["儿童主任跟儿童督导员有啥区别", "刚来这边找不到活 政府有没有帮忙介绍工作的",
                                     "来家访的有个叫儿童主任的，还有个儿童督导员，这俩有啥不一样"])
def test_a_question_about_people_or_a_service_is_answered_not_handed_over(chat, message):
    replies = chat(message)
    assert any((r.get("custom") or {}).get("sources") for r in replies), replies
    assert not any("哪个市、哪个区" in r["text"] for r in replies), replies


def test_someone_named_is_no_one_asked_for_but_a_person_asked_for_is():
    from bot.reading import _asks_about_people
    from nlu.interpreter import ParseResult

    def parse(text):
        return ParseResult(text, "human_handoff", 0.8, [("human_handoff", 0.8)], [], normalized=text)

    assert _asks_about_people(parse("来家访的有个叫儿童主任的，还有个儿童督导员，这俩有啥不一样"))
    assert not _asks_about_people(parse("你们说的跟社区说的不一样 我要找负责人"))


@pytest.mark.parametrize("text, intent", [("要得", "affirm"), ("中", "affirm"), ("莫得", "deny"),
                                          ("88", "goodbye"), ("拜拜了您", "goodbye"), ("不中", "deny")])
def test_slang_yes_no_bye(interpreter, text, intent):
    assert interpreter.parse(text).intent == intent


@pytest.mark.parametrize("message", ["孩子好几个月不说话了 这边有没有心理咨询 能不能有人上门来看看",
                                     "娃有癫痫 我们不懂怎么照顾 有没有人能来指导一下"])
def test_a_question_that_asks_for_help_is_answered_and_offered_the_request(chat, message):
    replies = chat(message)
    payloads = [b["payload"] for r in replies for b in r.get("buttons", [])]
    assert "/request_assistance" in payloads, replies
    assert any((r.get("custom") or {}).get("sources") for r in replies), replies  # the question is answered
    assert not any((r.get("custom") or {}).get("urgent") for r in replies)


@pytest.mark.parametrize("message", ["我们是从江西吉安来深圳宝安的，来了快十年了，孩子今年上初中，要准备什么材料？",
                                     "俺是河南周口的 在苏州昆山打工五年了 娃想在这边打疫苗 去哪打"])
def test_the_family_s_places_told_on_the_way_to_a_question_get_the_answer(chat, interpreter, message):
    assert interpreter.parse(message).intent not in ("set_locality", "emergency")
    replies = chat(message)
    assert replies[0].get("custom", {}).get("sources"), replies[0]["text"]


@pytest.mark.parametrize("message", ["我住在深圳宝安", "在苏州昆山呢", "我们在杭州 余杭区"])
def test_a_place_alone_is_still_remembered(interpreter, message):
    assert interpreter.parse(message).intent == "set_locality"


@pytest.mark.parametrize("message, says", [("在这边登记的重点关爱信息 老家那边也能看到吗", ("共享", "推送")),
                                           ("社区来摸排登记 问得很细 这些信息谁能看到", ("信息安全",))])
def test_a_privacy_question_about_the_ledger_is_answered_from_the_plan_with_ours_one_tap_away(chat, message, says):
    replies = chat(message)
    cited = [r for r in replies if (r.get("custom") or {}).get("sources")]
    assert cited and cited[0]["custom"]["sources"][0]["category"] in ("priority_care", "eligibility"), replies
    assert any(word in cited[0]["text"] for word in says), cited[0]["text"]
    assert any(b["payload"] == "/privacy" for r in replies for b in r.get("buttons", [])), replies


@pytest.mark.parametrize("message", ["登记表上娃的名字写错了，还有些东西俺不想留，能让他们改或者删掉不",
                                     "重点关爱名单上俺家娃的信息有写错的 俺能要求改或者不让留吗"])
def test_correcting_or_deleting_the_communitys_registration_is_answered_from_the_ledger_not_by_deleting_ours(
        chat, message):
    replies = chat(message)
    cited = [r for r in replies if (r.get("custom") or {}).get("sources")]
    assert cited and cited[0]["custom"]["sources"][0]["category"] == "priority_care", replies
    assert "更正" in cited[0]["text"], cited[0]["text"]  # the law's right, and whom to ask
    assert not any("确认要删除" in r["text"] for r in replies), replies  # nothing of ours is up for deletion


def test_a_privacy_question_about_what_was_given_to_us_gets_our_notice(chat):
    replies = chat("我在你们这登记的信息安全吗")
    assert "个人信息说明" in replies[0]["text"]
    assert not any((r.get("custom") or {}).get("sources") for r in replies)


@pytest.mark.parametrize("message", ["慈善帮扶主要帮谁", "家里困难 有没有公益的能帮帮娃"])
def test_a_request_put_wholly_as_a_question_about_a_service_is_answered_with_the_request_offered(chat, message):
    replies = chat(message)
    assert any((r.get("custom") or {}).get("sources") for r in replies), replies
    assert any(b["payload"] == "/request_assistance" for r in replies for b in r.get("buttons", [])), replies
    assert not any("申请帮扶需要填写" in r["text"] for r in replies), replies


def test_someone_asking_to_be_put_on_the_list_is_told_about_it_with_the_request_offered(chat):
    replies = chat("家里太难了 孩子他爸干活摔了腰躺床上 我一个人带俩娃在外面 听说有个重点关爱的 咋样能进")
    cited = [r for r in replies if (r.get("custom") or {}).get("sources")]
    assert cited and cited[0]["custom"]["sources"][0]["category"] == "priority_care", replies
    assert any(b["payload"] == "/request_assistance" for r in replies for b in r.get("buttons", [])), replies


@pytest.mark.parametrize("message, category", [("家里有流动儿童是不是就能分公租房", "housing")])
def test_a_question_about_a_service_that_names_migrant_children_gets_the_service(chat, message, category):
    replies = chat(message)
    assert "eligibility" not in (replies[0].get("custom") or {}), replies
    assert replies[0]["custom"]["sources"][0]["category"] == category, replies


@pytest.mark.parametrize("message", ["闺女听力不好 这样能进重点关爱名单不", "家里困难 咋样才能列入那个台账",
                                     "儿子查出肾病 家里欠了一屁股债 这样的算重点关爱对象吗"])
def test_whether_a_child_can_get_on_the_priority_care_list_is_answered_from_the_list(chat, message):
    replies = chat(message)
    cited = [r for r in replies if (r.get("custom") or {}).get("sources")]
    assert cited and cited[0]["custom"]["sources"][0]["category"] == "priority_care", replies
    assert not any("申请帮扶需要填写" in r["text"] for r in replies), replies


@pytest.mark.parametrize("message", ["孩子他爸走了 家里揭不开锅 就算进不了重点关爱 也想申请帮扶",
                                     "娃没人照顾 打算申请帮扶 能帮我们登记吗"])
def test_a_request_that_mentions_the_list_in_passing_starts_the_request(chat, message):
    """就算…, 打算… are no question whether a child counts for the list: the family asks for help."""
    replies = chat(message)
    assert any("申请帮扶需要填写" in r["text"] for r in replies), replies


@pytest.mark.parametrize("message", ["有没有工作人员", "能让工作人员给我回个电话吗", "社区的人能来一趟吗", "有没有社工"])
def test_asking_for_a_staff_member_is_always_handed_over(chat, message):
    """A question that asks for a person (工作人员, 社工, 来一趟, 回电话) is never answered from the
    checklists instead (工作 is no employment question)."""
    replies = chat(message)
    assert "哪个市、哪个区" in replies[0]["text"] or "转给" in replies[0]["text"], replies
    assert not any((r.get("custom") or {}).get("sources") for r in replies), replies


@pytest.mark.parametrize("message", ["孩子入学登记的信息会不会泄露", "我登记的信息会给别人看吗"])
def test_a_privacy_question_about_another_offices_form_or_ours_gets_our_notice(chat, message):
    replies = chat(message)
    assert "个人信息说明" in replies[0]["text"], replies
    assert not any((r.get("custom") or {}).get("sources") for r in replies), replies


def test_a_cochlear_implant_is_no_request_for_a_person(chat):
    replies = chat("耳朵听不见 要人工耳蜗 好几万")
    assert not any("哪个市、哪个区" in r["text"] for r in replies), replies


@pytest.mark.parametrize("message", ["我生病住院了 孩子没人照顾 咋办", "我一个人带娃 实在撑不下去了 有没有组织能帮帮我"])
def test_hardship_with_a_plea_for_help_starts_the_request(chat, message):
    replies = chat(message)
    assert any("申请帮扶需要填写" in r["text"] for r in replies), replies


def test_a_worry_about_what_the_community_registered_is_answered_from_the_list(chat):
    replies = chat("社区要我们登记孩子信息 会不会泄露")
    cited = [r for r in replies if (r.get("custom") or {}).get("sources")]
    assert cited and "信息安全" in cited[0]["text"], replies


@pytest.mark.parametrize("message", ["儿童主任是谁", "啥是儿童督导员"])
def test_what_a_role_is_is_answered(chat, message):
    replies = chat(message)
    assert any((r.get("custom") or {}).get("sources") for r in replies), replies


@pytest.mark.parametrize("message", ["儿童主任能不能来我家一趟", "请回电"])
def test_asking_someone_to_come_or_call_back_is_handed_over(chat, message):
    replies = chat(message)
    assert "哪个市、哪个区" in replies[0]["text"] or "转给" in replies[0]["text"], replies


@pytest.mark.parametrize("message", ["孩子得了白血病 有没有什么补助", "孩子生病住院 没钱交住院费 有什么救助"])
def test_hardship_always_has_the_request_one_tap_away(chat, message):
    replies = chat(message)
    payloads = [b["payload"] for r in replies for b in r.get("buttons", [])]
    assert "/request_assistance" in payloads or any("申请帮扶需要填写" in r["text"] for r in replies), replies


@pytest.mark.parametrize("message", ["孩子被人欺负了想告 请不起律师咋办", "想咨询娃的法律问题 法律援助打啥电话"])
def test_legal_help_for_a_child_is_answered_with_legal_aid_and_12348(chat, message):
    replies = chat(message)
    cited = [r for r in replies if (r.get("custom") or {}).get("sources")]
    assert cited and cited[0]["custom"]["sources"][0]["item_id"] == "GUIDE-legal-aid", replies
    assert "12348" in cited[0]["text"]


@pytest.mark.parametrize("message", ["娃在学校被欺负 找谁讨说法", "孩子被老师体罚了 怎么维权"])
def test_bullying_and_harm_are_not_answered_as_legal_aid(chat, message):
    replies = chat(message)
    cited = [r for r in replies if (r.get("custom") or {}).get("sources")]
    assert not cited or cited[0]["custom"]["sources"][0]["item_id"] != "GUIDE-legal-aid", replies


@pytest.mark.parametrize("message", ["娃刷视频刷到黄色的东西 这种去哪举报", "手机上老弹出赌博广告 孩子也能看到 打啥电话反映"])
def test_harmful_content_online_is_answered_with_the_reporting_line(chat, message):
    """Whom to tell about harmful content a child can see online: the cyberspace office's reporting
    line 12377 (Xinhua, 2023) on the first screen, cited, not a danger reply."""
    replies = chat(message)
    cited = [r for r in replies if (r.get("custom") or {}).get("sources")]
    assert cited and cited[0]["custom"]["sources"][0]["category"] == "online_safety", replies
    assert "12377" in cited[0]["text"].split("依据")[0], cited[0]["text"]


def test_the_plan_itself_is_answered_with_its_year_its_list_and_its_targets(chat):
    """What the plan is: 2024, the base list of 19 services in 6 areas, targets for 2026 and 2035."""
    replies = chat("国家那个管流动娃的方案是哪年出的 要搞到哪一年")
    cited = [r for r in replies if (r.get("custom") or {}).get("sources")]
    assert cited and cited[0]["custom"]["sources"][0]["item_id"] == "GUIDE-national-plan-overview", replies
    assert all(fact in cited[0]["text"] for fact in ("2024", "19项", "2026", "2035")), cited[0]["text"]


@pytest.mark.parametrize("message", ["孩子走丢了是不是要过24小时才能报警", "120和110有啥不一样 娃突然发高烧打哪个"])
def test_which_emergency_line_and_no_waiting_for_a_missing_child(chat, message):
    """110 / 120 / 119 and what each is for; a missing child is reported at once, not after 24 hours —
    whether the message is read as a danger (the emergency reply) or as a question (the item)."""
    replies = chat(message)
    text = "\n".join(r["text"] for r in replies)
    assert "110" in text, replies
    if "走丢" in message:
        assert "不用等" in text or "立即" in text or "马上" in text, replies
    else:
        assert "120" in text and "急救" in text, replies
