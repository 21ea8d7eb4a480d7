"""After an emergency, the parent says it is over: acknowledged, and staff see it on the record.

The urgent record is never closed by the chat: the words could be wrong, or not the parent's.
"""

from __future__ import annotations

import pytest

from nlu.safety import all_clear

MISSING = "孩子放学四个钟头了还没回来 电话手表也打不通"


@pytest.mark.parametrize("text", ["找到了 在同学家写作业呢", "不用报警了 孩子回来了", "虚惊一场 娃在楼下玩",
                                  "原来是跟她奶奶去赶集了", "孩子醒了 医生说没事了", "谢谢 孩子平安到家了"])
def test_all_clear_is_read(text):
    assert all_clear(text)


@pytest.mark.parametrize("text", ["还没找到", "孩子没回来", "找到了 但是满身是伤", "他回来了 可是一句话不说",
                                  "孩子又不见了", "没找到人", "算了", "谢谢你们",
                                  # written for this test: not over after all, or a danger the patterns know
                                  "不是误会 他真的把娃带走了", "上午说找到了 是认错人了 娃还没找到",
                                  "找到了 在水塘边 叫不醒", "回来了 身上都是血"])
def test_not_yet_or_turned_round_is_no_all_clear(text):
    assert not all_clear(text)


def _latest_urgent(runtime):
    from sqlalchemy import select

    from ledger.models import UrgentRecord

    with runtime.db.session() as session:
        return session.scalars(select(UrgentRecord).order_by(UrgentRecord.id.desc()).limit(1)).one()


def _urgent(chat, runtime, text=MISSING):
    replies = chat(text)
    assert replies[0]["custom"]["urgent"] is True
    return _latest_urgent(runtime)


def test_all_clear_after_an_emergency_is_acknowledged_and_kept_for_staff(chat, runtime):
    record = _urgent(chat, runtime)
    replies = chat("找到了 在同学家写作业呢")
    assert replies[0]["custom"]["stand_down"] is True
    assert "平安" in replies[0]["text"] and "110" in replies[0]["text"]
    after = _latest_urgent(runtime)
    assert after.id == record.id
    assert after.status == "new"  # staff confirm with the family before they close it
    assert after.stood_down_at is not None
    text = runtime.cipher.decrypt(after.message_enc)
    assert text.startswith(MISSING) and text.endswith("找到了 在同学家写作业呢") and "家长告知情况已解除" in text


def test_a_new_danger_after_the_all_clear_takes_it_back(chat, runtime):
    record = _urgent(chat, runtime)
    assert chat("原来是跟她奶奶去赶集了")[0]["custom"]["stand_down"] is True
    assert _latest_urgent(runtime).stood_down_at is not None
    _urgent(chat, runtime, "孩子又不见了 到处都找不到")
    after = _latest_urgent(runtime)
    assert after.id == record.id and after.stood_down_at is None and after.repeats == 1


def test_not_yet_found_gets_what_to_do_again_and_reaches_the_record(chat, runtime):
    """After an emergency, a message we cannot place is read as about it: never a menu of intents."""
    _urgent(chat, runtime)
    replies = chat("还没找到 怎么办")
    assert not any((r.get("custom") or {}).get("stand_down") for r in replies)
    assert replies[0]["custom"]["urgent_follow_up"] is True and replies[0]["custom"]["kinds"] == ["missing"]
    assert "110" in replies[0]["text"] and "如果刚才的紧急情况还没有解决" in replies[0]["text"]
    record = _latest_urgent(runtime)
    assert record.stood_down_at is None and record.repeats == 0
    assert runtime.cipher.decrypt(record.message_enc).endswith("家长又说）——\n还没找到 怎么办")


def test_a_confident_question_after_an_emergency_is_answered_as_usual(chat, runtime):
    _urgent(chat, runtime)
    replies = chat("孩子在这边上小学要带什么材料")
    assert replies[0].get("custom", {}).get("sources")
    assert not any((r.get("custom") or {}).get("urgent_follow_up") for r in replies)


def test_never_mind_after_an_emergency_keeps_the_record(chat, runtime):
    _urgent(chat, runtime)
    replies = chat("算了 不用了")
    assert replies[0]["custom"]["stand_down"] is False
    assert "紧急记录仍会保留" in replies[0]["text"] and "110" in replies[0]["text"]
    record = _latest_urgent(runtime)
    assert record.stood_down_at is None and runtime.cipher.decrypt(record.message_enc).endswith("算了 不用了")


def test_all_clear_words_without_an_emergency_are_an_ordinary_message(chat):
    chat("你好")
    for reply in chat("孩子找到了 谢谢"):
        assert not (reply.get("custom") or {}).get("stand_down")


def test_all_clear_inside_the_form_is_acknowledged_and_the_question_asked_again(chat, runtime):
    chat("我要申请帮扶")
    chat("同意")
    asked = chat("张小明")  # the child's name; the form asks the next question
    _urgent(chat, runtime)
    replies = chat("找到了 在同学家写作业呢")
    assert replies[0]["custom"]["stand_down"] is True
    assert replies[-1]["text"] == asked[-1]["text"]  # the form's question again, nothing lost
    assert _latest_urgent(runtime).stood_down_at is not None
