"""The safety net reads every clause: a danger sentence buried in a long message is still caught,
whatever surrounds it; what the parent is told depends on the kind of danger."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu import clauses, safety
from nlu.evaluate import read_tsv

INDEPENDENT = Path(__file__).parent / "data" / "independent"


def _long_harmless(interpreter, limit: int = 1000) -> str:
    """About 1,000 characters of long messages from the independent hard negatives, each of which
    the net leaves alone (its false alarms are measured elsewhere: here we test dilution)."""
    text = ""
    for example in read_tsv(INDEPENDENT / "negatives_a.tsv"):
        if "long" in example.tags and interpreter.parse(text + example.text).intent != "emergency":
            text += example.text.rstrip("。") + "。"
        if len(text) >= limit:
            break
    return text[:limit]


@pytest.fixture(scope="module")
def filler(interpreter):
    return _long_harmless(interpreter)


def test_clauses_split_on_punctuation_spaces_and_connectives():
    pieces = [c.text for c in clauses.split("孩子今年八岁，户口在河南 想问问医保怎么交。但是他爸昨晚又喝多了")]
    assert pieces == ["孩子今年八岁", "户口在河南", "想问问医保怎么交", "但是他爸昨晚又喝多了"]
    assert [c.text for c in clauses.split("好")] == ["好"]


def test_a_guard_does_not_silence_a_present_danger():
    assert safety.check("看新闻说有个孩子被拐了 好吓人") is None
    assert safety.check("去年走丢过一次 后来找到了") is None
    hit = safety.check("去年走丢过一次 后来找到了 现在又不见了 一晚上没回")
    assert hit is not None and safety.MISSING in hit.kinds


@pytest.mark.parametrize("clause", ["儿子没被人带走", "不是被车撞了", "我们家没人打孩子", "娃根本没吃药",
                                    "那人不是陌生人", "闺女没有掉下去"])
def test_a_denied_danger_event_is_talk_not_danger(clause):
    assert safety.guarded(clause, clause)


@pytest.mark.parametrize("clause", ["家里没人管他", "叫他没反应", "两天没饭吃了", "人还没回来", "呼吸都没有了"])
def test_a_negated_state_is_still_a_danger(clause):
    """没人管, 没反应, 没饭吃, 没回来 describe the danger; they are not denials."""
    assert not safety.guarded(clause, clause)


def test_a_denial_keeps_the_next_clause_and_a_present_danger():
    assert safety.guarded("说娃被打了是我听错了", "说娃被打了是我听错了")  # a correction
    assert not safety.guarded("是他后爸拿皮带抽的", "不是摔的 是他后爸拿皮带抽的")
    assert not safety.guarded("不是他爸 是他舅舅现在还在打", "不是他爸 是他舅舅现在还在打")


def test_the_long_filler_is_harmless_alone(interpreter, filler):
    assert len(filler) >= 900
    assert interpreter.parse(filler).intent != "emergency"


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_a_danger_clause_is_caught_anywhere_in_a_long_message(interpreter, filler, where):
    """Short emergencies of the independent set A (two of each kind of danger) that the net
    catches alone are caught too at the start, the middle or the end of ~1,000 harmless characters."""
    shorts = [e for e in read_tsv(INDEPENDENT / "emergencies_a.tsv") if "long" not in e.tags and len(e.text) <= 60]
    caught_alone, per_class = [], {}
    for example in shorts:
        if per_class.get(example.category, 0) < 2 and interpreter.parse(example.text).intent == "emergency":
            per_class[example.category] = per_class.get(example.category, 0) + 1
            caught_alone.append(example)
    assert len(per_class) == 7 and len(caught_alone) == 14, per_class
    missed = []
    for example in caught_alone:
        sentence = example.text.rstrip("。") + "。"
        half = len(filler) // 2
        message = {"start": sentence + filler, "middle": filler[:half] + "。" + sentence + filler[half:],
                   "end": filler + sentence}[where]
        if interpreter.parse(message).intent != "emergency":
            missed.append(example.text)
    assert not missed, missed


@pytest.mark.parametrize("message, expected", [
    ("孩子发高烧 刚才突然抽起来了 眼睛往上翻", ["120", "侧躺", "不要往嘴里塞"]),
    ("娃把奶奶的降压药吃了一板", ["120", "不要给孩子催吐"]),
    ("孩子放学四个钟头了还没回来 电话手表也打不通", ["110", "24小时"]),
    ("女儿说叔叔摸她下面 还不让她告诉我", ["110", "不要给孩子洗澡"]),
    ("儿子说活着没意思 刚才站在阳台上不下来", ["12356", "12355"]),
    ("网上有人拿我女儿的照片威胁她 不转钱就发到学校群里", ["110", "保存聊天记录"]),
])
def test_the_reply_says_what_to_do_for_the_kind_of_danger(chat, message, expected):
    reply = chat(message)[0]
    assert reply["custom"]["urgent"] is True
    for words in expected:
        assert words in reply["text"], (words, reply["text"])


def test_the_rest_of_the_message_is_answered_after_the_emergency(chat):
    replies = chat("孩子在这边上小学要带什么材料？还有 他爸刚才喝醉了拿皮带抽他 身上全是血印子")
    assert replies[0]["custom"]["urgent"] is True and "110" in replies[0]["text"]
    assert any(r.get("custom", {}) and r["custom"].get("sources") for r in replies[1:]), replies


def _cited(replies):
    return [r for r in replies if (r.get("custom") or {}).get("sources")]


@pytest.mark.parametrize("message", ["楼下那户的小孩天天被他妈锁在屋里 一锁一整天 我该找谁反映",
                                     "对门那家大人出去好几天了 俩孩子自己在家饿得直哭 我能跟谁说"])
def test_a_bystander_asking_whom_to_tell_gets_the_emergency_reply_then_whom(chat, message):
    """A neighbour's child hurt or left alone, and whom to tell asked: what to do now first, then the
    item saying anyone may report it and to whom (the committee, the police, civil affairs)."""
    replies = chat(message)
    assert replies[0]["custom"]["urgent"] is True and "110" in replies[0]["text"]
    cited = _cited(replies[1:])
    assert cited and cited[0]["custom"]["sources"][0]["category"] == "child_protection", replies
    assert any(word in cited[0]["text"] for word in ("居委会", "报警", "民政")), cited[0]["text"]


@pytest.mark.parametrize("message", ["他爸又在拿皮带抽孩子 我拉不住 我该找谁",
                                     "我爸喝醉了在打我 我躲在厕所里 怎么办",
                                     "爸妈都走了好几天了 我和弟弟在家没吃的 我能跟谁说",
                                     # a place word is no bystander: the family tells it
                                     "我在楼道里 我爸在打我 我该找谁", "孩子他爸在楼下打娃 我能跟谁说",
                                     "我老公在小区里打孩子 我该找谁反映", "我有个小孩被他爸打了 跟谁说",
                                     "我爸天天打我 警察管不管"])
def test_a_child_or_parent_in_danger_gets_the_emergency_reply_alone(chat, message):
    """Danger told by the family itself: the emergency reply is the last message on their screen,
    no checklist answer after it."""
    replies = chat(message)
    assert replies[0]["custom"]["urgent"] is True
    assert not _cited(replies), replies


def test_a_question_the_danger_fills_is_answered_after_the_emergency_reply_when_sure(chat):
    """"爹娘都不在了 没人管他 谁来监护" is all danger words and a question the checklists answer
    beyond doubt (who takes in a child no one looks after): both."""
    replies = chat("孩子爸妈都不在了 没人管他 谁来监护他")
    assert replies[0]["custom"]["urgent"] is True
    cited = _cited(replies[1:])
    assert cited and cited[0]["custom"]["sources"][0]["category"] == "basic_living", replies
    assert "监护" in cited[0]["text"]


@pytest.mark.parametrize("answer", ["妈妈", "我是他爸", "女儿", "女", "孩子的奶奶", "继父", "晚上", "一个人"])
def test_a_bare_answer_naming_a_person_is_no_emergency(interpreter, answer):
    """A form answer that only names a person, a time or a count describes nothing happening."""
    assert interpreter.parse(answer).intent != "emergency"


@pytest.mark.parametrize("message", ["救命", "女儿不见了", "妈妈救我", "他爸又打我"])
def test_a_short_message_with_something_happening_still_is(interpreter, message):
    assert interpreter.parse(message).intent == "emergency"


def test_a_danger_at_the_end_of_a_very_long_message_is_read(interpreter, filler):
    """Nothing of a long message is cut before the safety net reads it (a Telegram message holds
    4,096 characters)."""
    message = (filler + "。") * 4 + "他爸刚才又拿皮带抽孩子，打得满身是血。"
    assert len(message) > 4000
    assert interpreter.parse(message).intent == "emergency"
