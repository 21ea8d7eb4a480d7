"""The assistance-request form's validation, the rasa-sdk way: a Tracker, a CollectingDispatcher."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import validators as v
from actions.forms import ValidateAssistanceRequestForm
from actions.slots import FORM_NAME, REQUIRED_SLOTS

DOMAIN = {"forms": {FORM_NAME: {"required_slots": list(REQUIRED_SLOTS)}},
          "slots": {s: {"type": "any", "mappings": [{"type": "custom"}]} for s in REQUIRED_SLOTS}}


def _run(slot: str, value, slots: dict | None = None):
    tracker = Tracker("parent", {**(slots or {}), slot: value}, {"text": str(value), "intent": {}},
                      [{"event": "user", "text": str(value)}, {"event": "slot", "name": slot, "value": value}],
                      False, None, {"name": FORM_NAME}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateAssistanceRequestForm().run(dispatcher, tracker, DOMAIN))
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}, dispatcher.messages


def test_name_of_the_action():
    assert ValidateAssistanceRequestForm().name() == "validate_assistance_request_form"


@pytest.mark.parametrize("slot, raw, expected", [
    ("consent", "同意", True), ("child_name", "王小明", "王小明"), ("child_age", "九岁", 9),
    ("months_at_residence", "两年", 24), ("guardian_relation", "我是孩子妈妈", "妈妈"),
    ("guardian_phone", "+86 138-0013-8000", "13800138000"), ("situations", "1 3", ["family_hardship", "guardianship_gap"]),
    ("description", "跳过", ""),
])
def test_good_answers_are_kept(slot, raw, expected):
    slots, messages = _run(slot, raw)
    assert slots[slot] == expected and not messages


def test_places_resolve_to_codes():
    slots, _ = _run("residence", "深圳宝安西乡街道")
    assert slots["residence"]["code"] == "440306" and slots["residence"]["text"] == "深圳宝安西乡街道"


@pytest.mark.parametrize("slot, raw", [
    ("child_age", "abc"), ("child_age", "200岁"), ("child_name", "王" * 200),
    ("child_name", "<script>alert(1)</script>"), ("guardian_name", "'; DROP TABLE requests; --"),
    ("guardian_phone", "12345"), ("situations", "😂"), ("residence", "火星"),
])
def test_bad_answers_are_refused_with_a_message(slot, raw):
    slots, messages = _run(slot, raw)
    assert slots[slot] is None
    assert messages and ("例如" in messages[0]["text"] or "按钮" in messages[0]["text"])


def test_third_bad_answer_in_a_row_offers_a_way_out():
    slots, messages = _run("guardian_phone", "abc")
    assert "取消" not in messages[0]["text"]
    slots, messages = _run("guardian_phone", "abc", {"form_attempts": slots["form_attempts"]})
    assert "取消" in messages[0]["text"]


def test_over_age_is_told_kindly_and_the_form_stops():
    slots, messages = _run("child_age", "十六岁")
    assert slots["over_age"] is True and slots["requested_slot"] is None
    assert "不满16周岁" in messages[0]["text"]


def test_consent_refused_stops_the_form():
    slots, _ = _run("consent", "不同意")
    assert slots["consent"] is False and slots["requested_slot"] is None


def test_situation_words_and_buttons():
    assert v.check_situations("家里没钱 孩子自闭症").value == ["family_hardship", "disability"]
    assert v.check_situations(["vagrancy", "bogus"]).value == ["vagrancy"]


def test_the_form_and_nlu_use_the_ledgers_situation_codes():
    """One vocabulary, the ledger's (ledger/requests.py): the form offers its codes in its order, and nlu
    reads the same codes in a parent's words, all but the form's own choice "none of these, help all the
    same" (self_request), which no story tells. nlu may not import the ledger, so it is checked here."""
    from ledger.requests import SITUATION_LABELS
    from nlu.situations import SITUATION_WORDS

    from actions.slots import SITUATIONS

    assert list(SITUATIONS) == list(SITUATION_LABELS)
    assert list(SITUATION_WORDS) == [code for code in SITUATION_LABELS if code != "self_request"]


def test_the_lists_situations_are_read_in_a_parents_story():
    from nlu.situations import situations_told

    assert situations_told("娃以前跑出去在外面流浪过两回 后来找回来了") == ["vagrancy"]
    assert situations_told("娃他爸进去了 他妈也跑了 平时也没人正经管他") == ["guardianship_gap"]
    assert situations_told("娃他爸跑了 俺一个人打零工 房租都快交不起了") == ["family_hardship", "guardianship_gap"]
    assert situations_told("孩子来了以后老是一个人闷着不说话 脾气也变怪了") == ["psych_behavior"]
    assert situations_told("想问问娃上小学要带啥材料") == []
    # a parent gone to work or on the road is no child who ran off, nor a parent who left
    assert situations_told("孩子爸爸跑出去打工了") == [] and situations_told("他爸出去跑了几天车") == []
    assert situations_told("妈妈带娃跑了好几家医院") == [] and situations_told("他爸动手打他") == []
    # the form's answer reads the same words, and its own "none of these"
    assert v.check_situations("孩子跑出去睡过桥洞").value == ["vagrancy"]
    assert v.check_situations("都不是 但想申请").value == ["self_request"]
