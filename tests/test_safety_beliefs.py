"""What a message says was only believed, or is not so, is no danger now; what it says instead
is read as usual (nlu/safety.py believed_spans, used by the interpreter)."""

from __future__ import annotations

import pytest

from nlu import safety


@pytest.mark.parametrize("text, blanked", [
    ("还以为娃被人抱走了 原来是他姥姥接回去了", "娃被人抱走了"),
    ("我以为他淹着了 结果是在河边捡石头", "他淹着了"),
    ("以为闺女发烧抽了 其实是冷得发抖", "闺女发烧抽了"),
    ("不是让人打的 是自己爬树摔的", "让人打的"),
    ("娃不是吞了硬币 是塞在口袋里了", "吞了硬币"),
    ("不是被拐 而是跟着同学去网吧了", "被拐"),
])
def test_the_believed_part_is_blanked(text, blanked):
    framed = safety.without_beliefs(text)
    assert len(framed) == len(text)  # offsets still point into the message
    assert blanked not in framed and "以为" not in framed and "不是" not in framed
    assert set(framed) - set(text) <= {" "}


@pytest.mark.parametrize("text", [
    "孩子不是第一次被打了 是天天挨打",  # it happened before: no correction
    "娃不是亲生的 后妈一不顺心就拿衣架抽",
    "别以为我不知道 他天天晚上进娃屋里",
    "孩子被他爸打了 头上在流血",
    "我不是不管 是管不了 他爸喝了酒就打孩子",
])
def test_what_is_not_a_belief_or_correction_is_read_whole(text):
    assert safety.without_beliefs(text) == text


@pytest.mark.parametrize("text", [
    "以为他在屋里睡午觉 进去一看嘴唇发紫 叫不应",
    "不是摔的 是被他继父用皮带抽的 背上全是血印子",
    "以为她去同学家了 打了一圈电话都说没见着 到现在还没回来",
    "不是普通的拉肚子 是吞了我的降压药 现在吐个不停",
])
def test_the_danger_said_instead_is_caught(interpreter, text):
    assert interpreter.parse(text).intent == "emergency"


@pytest.mark.parametrize("text", [
    "我以为他淹着了 结果是在河边捡石头 衣服湿了点",
    "不是让人打的 是自己爬树摔的 擦破点皮",
    pytest.param("还以为娃被人抱走了 原来是他姥姥接回去了 忘了跟我说", marks=pytest.mark.xfail(
        strict=True, reason="known false alarm: the whole-message classifier, which the frame does "
        "not steer, reads a missing child in it (docs/nlu.md)")),
])
def test_a_danger_only_believed_is_not_an_emergency(interpreter, text):
    assert interpreter.parse(text).intent != "emergency"


def test_a_correction_reaches_only_the_next_clause():
    text = "不是上个月的事 我们两口子都在厂里 白天没人 晚上回来孩子睡了 他说班上有人天天打他 是真的吗"
    assert safety.without_beliefs(text) == text
    assert safety.believed_spans("不是烫的 是蚊子咬的") == [(0, 6)]
