"""The eligibility check (clause (四)) reaches a verdict however the parent gives the facts."""

from __future__ import annotations

import uuid

import pytest


def _talk(runtime, *messages):
    sender = f"elig-{uuid.uuid4().hex[:8]}"
    replies = []
    for text in messages:
        replies = runtime.engine.handle(sender, text)
    return sender, replies


def _verdict(replies) -> str | None:
    return next((r.facts.get("eligibility") for r in replies if r.facts.get("eligibility")), None)


def test_everything_in_the_first_message(runtime):
    sender, replies = _talk(runtime, "孩子9岁 户口在河南 跟我们在深圳宝安住了两年了 算流动儿童吗")
    assert _verdict(replies) == "yes", replies[0].text
    assert "（四）" in replies[0].text
    assert runtime.engine.store.peek(sender)["locality"] == "440306"  # where they live, not Henan


@pytest.mark.parametrize("answer, verdict", [("是的", "yes"), ("中", "yes"), ("是从外省搬过来的", "yes"),
                                             ("不是", "no"), ("户口就在本地", "no")])
def test_the_missing_fact_answered_in_the_next_turn(runtime, answer, verdict):
    sender, replies = _talk(runtime, "孩子8岁 在这边住了一年多了 算不算流动儿童")
    assert _verdict(replies) == "unsure" and "县（区）以外" in replies[0].text
    replies = runtime.engine.handle(sender, answer)
    assert _verdict(replies) == verdict, replies[0].text


def test_facts_over_several_turns_keep_the_residence(runtime):
    sender, replies = _talk(runtime, "我家娃算不算流动儿童", "娃7岁", "来杭州三年了", "户口在安徽")
    assert _verdict(replies) == "yes", replies[0].text
    assert runtime.engine.store.peek(sender)["locality"] == "330100"  # still Hangzhou, not Anhui


def test_over_16_and_moves_inside_one_city(runtime):
    assert _verdict(_talk(runtime, "孩子十六岁了 从老家过来三年 还算流动儿童吗")[1]) == "no"
    assert _verdict(_talk(runtime, "娃都17了 从外省过来好几年了 还能算流动儿童吗")[1]) == "no"  # an age without 岁
    assert _verdict(_talk(runtime, "从乡下搬到本县城里住了一年 没出县 孩子8岁 算不算")[1]) == "no"
    assert _verdict(_talk(runtime, "孩子8岁 从河南搬到本县三年了 算流动儿童吗")[1]) == "yes"  # 本县: where they live now
    assert _verdict(_talk(runtime, "我们从广州天河区搬到越秀区两年了 孩子6岁 算流动儿童吗")[1]) == "no"


def test_a_new_question_ends_the_open_check(runtime):
    sender, replies = _talk(runtime, "我家孩子算不算流动儿童")
    assert _verdict(replies) == "unsure"
    reply = runtime.engine.handle(sender, "孩子在这边上小学要带什么材料")[0]
    assert reply.sources[0]["category"] == "compulsory_education"
    assert "eligibility" not in runtime.engine.store.peek(sender)


def test_the_place_the_family_lives_wins_over_the_household_registration_named_first(runtime):
    """户口在河南周口郸城 comes first and is the most specific place named: answers must still come
    from where the family lives (宝安's list), and the fallback notice must name that place."""
    sender, replies = _talk(runtime, "户口在河南周口郸城 现在在深圳宝安住 孩子打疫苗去哪")
    assert replies[0].sources[0]["locality"] == "440306", replies[0].text
    assert runtime.engine.store.peek(sender)["locality"] == "440306"
    sender, replies = _talk(runtime, "老家河南周口的 在武汉洪山区打工 娃要打疫苗")
    assert runtime.engine.store.peek(sender)["locality"] == "420111"
    assert "湖北省武汉市洪山区暂未收录" in replies[0].text and "周口" not in replies[0].text


def test_a_household_registration_alone_is_never_remembered_as_home(runtime):
    sender, _ = _talk(runtime, "深圳宝安")
    replies = runtime.engine.handle(sender, "户口在安徽")
    assert runtime.engine.store.peek(sender)["locality"] == "440306"
    assert "已记住您住在安徽" not in " ".join(r.text for r in replies)


@pytest.mark.parametrize("messages", [
    ("孩子9岁 户口在河南 跟我们在深圳宝安住了两年了 算流动儿童吗",),
    ("孩子8岁 在这边住了一年多了 算不算流动儿童",),
    ("我们从广州天河区搬到越秀区两年了 孩子6岁 算流动儿童吗",),
    ("孩子12岁10个月 户口在四川 在东莞住了九年半了 算流动儿童吗",),
])
def test_the_verdict_fits_a_phone_screen_and_the_clause_is_behind_detail(runtime, messages):
    """Like any answer: the verdict, why and what next in ≤ 3 lines / 120 characters, then the source
    line; the clause's whole text behind 详细."""
    from knowledge.screen import FIRST_SCREEN_CHARS, FIRST_SCREEN_LINES

    sender, replies = _talk(runtime, *messages)
    (reply,) = [r for r in replies if r.facts.get("eligibility")]
    *lines, source = reply.text.split("\n")
    assert 1 <= len(lines) <= FIRST_SCREEN_LINES and sum(map(len, lines)) <= FIRST_SCREEN_CHARS, lines
    assert source.startswith("依据：") and "二、（四）" in source and "民发〔2024〕35号" in source
    (detail,) = [b for b in reply.buttons if b.title == "详细"]
    full = runtime.engine.handle(sender, detail.payload)[0].text
    assert "6个月" in full and "跨县域" in full and "来源：" in full


@pytest.mark.parametrize("text", ["我们在广州 从天河搬到海珠住了 孩子这样算流动儿童么", "从番禺搬到了天河区 孩子算流动儿童吗",
                                  "孩子8岁 从重庆万州搬到渝中区住了一年 算流动儿童吗"])
def test_a_move_between_two_districts_of_one_city_is_asked_about_never_assumed(runtime, text):
    """天河 and 海珠 are both districts of 广州, 万州 and 渝中 of 重庆: whether the move crossed a county
    (or only central districts) is asked — no "从户籍县以外搬来" made up, no "no" from names alone."""
    _, replies = _talk(runtime, text)
    assert _verdict(replies) == "unsure"
    assert not any("户籍县以外" in r.text for r in replies)


def test_a_place_name_inside_a_common_word_is_no_place(runtime):
    """和康县 (2024) is no place in "残疾补贴和康复救助有啥不一样"."""
    from nlu.geo import Gazetteer

    assert Gazetteer.load().resolve("残疾补贴和康复救助有啥不一样") is None
