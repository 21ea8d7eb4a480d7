"""The context reading: a dangerous clause is read with the clauses around it, so the same words
resolved, denied, seen on TV or taught about are not an alarm, and a danger now still is.

The sentences here were written for this test (in no training or evaluation file)."""

from __future__ import annotations

import pytest

from nlu import clauses, danger

# (a danger now, the same danger talked about) — one pair per kind of danger.
PAIRS = [
    ("他爸喝多了拿皮带抽娃 娃背上一道道血印子 现在还在屋里打",
     "电视剧里那个后爸拿皮带抽娃 看得我难受 我们家孩子爸脾气好 从来不动手"),
    ("儿子说他们班主任让他晚上一个人去办公室 还让他别跟家里讲 今天回来一直哭 不肯洗澡",
     "儿子说班主任让他放学去办公室补作业 我打电话问过老师了 是几个同学一起补 挺正常的"),
    ("网上认识的那个人让我女儿发光身子的照片 不发就要把之前的聊天记录发到她学校群里 她现在吓得不敢出门",
     "学校发了个通知 说有人在网上骗学生发照片 让家长多注意 我想问问手机上怎么设置才安全"),
    ("娃他爹说要带着娃一起去死 现在抱着娃出门了 电话也不接",
     "娃他爹总说累得要死 天天加班到半夜 我想问问这边有没有给家长的心理咨询"),
]
# Resolved within the message, in a short message the whole reading also finds alarming: known
# false alarms of the current models (strict: a model that gets them right must say so here).
KNOWN_FALSE_ALARMS = [
    ("一转头娃就不见了 商场里喊了半天也没人应 到现在四十分钟了还是没找到",
     "一转头娃就不见了 吓我一跳 原来他蹲在货架后面看玩具 前后也就两分钟"),
    ("刚才闺女把一瓶消毒水喝了几口 现在嘴巴发白 一直在吐",
     "上个月闺女差点把消毒水当饮料喝了 幸好被她姐姐抢下来了 现在那些瓶子都锁柜子里了"),
]


def test_a_window_is_the_clause_with_its_neighbours():
    pieces = clauses.split("孩子八岁 户口在河南 想问医保 一转头娃就不见了 原来在货架后面 前后两分钟 吓死我了 还好")
    target = next(p for p in pieces if p.text == "一转头娃就不见了")
    assert danger.window(pieces, target) == ("孩子八岁 户口在河南 想问医保", "一转头娃就不见了",
                                             "原来在货架后面 前后两分钟 吓死我了 还好")
    assert danger.window(pieces, target, side=1) == ("想问医保", "一转头娃就不见了", "原来在货架后面")
    alone = clauses.split("救命")
    assert danger.window(alone, alone[0]) == ("^", "救命", "$")


def test_the_context_reading_is_trained_and_reads_windows(interpreter):
    import numpy as np
    from scipy import sparse

    model = interpreter.danger
    assert model.context is not None
    windows = [("^", "他爸拿皮带抽娃", "现在还在打"), ("电视剧里", "他爸拿皮带抽娃", "看得我难受")]
    p = model.in_context(windows)
    assert p.shape == (2,) and all(0.0 <= v <= 1.0 for v in p)
    # the fast transform gives what scikit-learn's would
    context = model.context
    features = sparse.hstack([v.transform([w[i] for w in windows]) for i, v in enumerate(context.vectorizers)])
    assert np.allclose(p, context.model.predict_proba(features.tocsr())[:, 1], atol=1e-5)


@pytest.mark.parametrize("now, talk", PAIRS, ids=["violence", "sexual", "online", "self_harm"])
def test_the_same_words_alarm_now_and_not_as_talk(interpreter, now, talk):
    assert interpreter.parse(now).intent == "emergency"
    assert interpreter.parse(talk).intent != "emergency"


@pytest.mark.parametrize("now, talk", KNOWN_FALSE_ALARMS, ids=["missing", "medical"])
def test_the_danger_of_a_known_false_alarm_pair_is_caught(interpreter, now, talk):
    assert interpreter.parse(now).intent == "emergency"


@pytest.mark.xfail(strict=True, reason="known false alarms: a danger resolved inside a short message "
                   "(docs/nlu.md, closing note 2026-12-04)")
@pytest.mark.parametrize("now, talk", KNOWN_FALSE_ALARMS, ids=["missing", "medical"])
def test_a_danger_resolved_inside_a_short_message(interpreter, now, talk):
    assert interpreter.parse(talk).intent != "emergency"


def test_the_context_reading_rates_a_danger_going_on_above_the_same_danger_resolved(interpreter):
    ongoing = ("^", "一转头娃就不见了", "商场里喊了半天也没人应 到现在四十分钟了还是没找到")
    resolved = ("^", "一转头娃就不见了", "吓我一跳 原来他蹲在货架后面看玩具 前后也就两分钟")
    p_ongoing, p_resolved = interpreter.danger.in_context([ongoing, resolved])
    assert p_ongoing > p_resolved


def test_the_danger_model_pickles_without_its_caches(interpreter):
    import pickle

    import numpy as np

    window = ("电视剧里", "他爸拿皮带抽娃", "看得我难受")
    before = interpreter.danger.in_context([window])  # builds the fast transforms
    assert "_fast" in interpreter.danger.context.__dict__
    copy = pickle.loads(pickle.dumps(interpreter.danger))
    assert "_fast" not in copy.context.__dict__
    assert np.allclose(copy.in_context([window]), before)


def test_without_a_context_reading_a_clause_still_needs_support():
    import numpy as np

    from nlu.danger import NO_CONTEXT, DangerModel
    from nlu.interpreter import CONTEXT_ALONE, CONTEXT_PROBABILITY

    model = DangerModel.__new__(DangerModel)
    model.context = None
    assert np.all(model.in_context([("^", "救命", "$")]) == NO_CONTEXT)
    assert CONTEXT_PROBABILITY <= NO_CONTEXT < CONTEXT_ALONE


@pytest.mark.parametrize("filler_at", ["before", "after"])
def test_a_resolved_danger_in_a_long_message_is_talk(interpreter, filler_at):
    """Inside a long message (where the whole-message reading cannot vouch for a clause), a danger
    the next clauses resolve is not an alarm; the same clause followed by a danger now is."""
    filler = ("我们是从贵州过来的 在佛山顺德住了三年了 孩子今年九岁 在这边读三年级 我想问问他明年升四年级"
              " 要不要重新交材料 居住证快到期了 续签要去哪里办")
    resolved = "昨天放学娃没按时回家 我们到处找 后来是在同学家找到的 他在那写作业忘了时间 手表也没电了"
    ongoing = "今天放学娃没回家 同学说没看见他 电话手表一直关机 到现在天都黑了还没找到"
    join = (lambda s: f"{filler} {s}") if filler_at == "before" else (lambda s: f"{s} {filler}")
    assert interpreter.parse(join(ongoing)).intent == "emergency"
    assert interpreter.parse(join(resolved)).intent != "emergency"
