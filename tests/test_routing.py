"""Routing a parent can trust: questions outside Tongban's scope get no checklist item but the
right public line; slang and dialect yes/no/bye work."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("message, line", [
    ("老板拖欠我三个月工资了 去哪里告他", "12333"),
    ("我自己的养老保险能从老家转到这边来吗", "12333"),
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
