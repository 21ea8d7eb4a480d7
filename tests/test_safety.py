"""The safety net: never miss a child in danger, in any state; don't cry wolf on everyday words."""

from __future__ import annotations

import pytest

from nlu import safety
from nlu.normalize import normalize

EMERGENCIES = [
    ("孩子被他继父打得很厉害", safety.ABUSE), ("孩子割腕了", safety.SELF_HARM),
    ("女儿说不想活了", safety.SELF_HARM), ("有人猥亵我女儿", safety.SEXUAL),
    ("孩子不见了 找了一下午", safety.MISSING), ("儿子被人带走了", safety.MISSING),
    ("孩子一个人在家三天没吃饭了", safety.NEGLECT), ("有人拿刀在追孩子", safety.ABUSE),
    ("着火了 孩子还在屋里", safety.MEDICAL), ("孩子掉河里了", safety.MEDICAL),
    ("孩子高烧 刚才抽了 翻白眼", safety.MEDICAL), ("游戏里认识的人要她发裸照 不发就发到她学校群里", safety.ONLINE),
]
HARD_NEGATIVES = ["孩子发烧了", "打疫苗", "打针疼不疼", "被同学起外号", "作业多得要死", "我快被孩子气死了",
                  "杀毒软件怎么装", "在这边打工", "接种证丢了怎么补", "家里着火了东西都没了，能申请救助吗",
                  "防溺水安全教育有没有课", "孩子没人监护，需要帮助", "怎么预防孩子被性侵", "跳绳比赛"]


@pytest.mark.parametrize("text, kind", EMERGENCIES)
def test_patterns_fire_with_their_kind(text, kind):
    hit = safety.check(normalize(text))
    assert hit is not None and kind in hit.kinds


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_patterns_stay_silent_on_hard_negatives(text):
    assert safety.check(normalize(text)) is None


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_interpreter_does_not_call_hard_negatives_emergencies(interpreter, text):
    assert interpreter.parse(text).intent != "emergency"


@pytest.mark.parametrize("text", [t for t, _ in EMERGENCIES] + ["救救我", "my son wants to kill himself"])
def test_interpreter_routes_emergencies(interpreter, text):
    result = interpreter.parse(text)
    assert result.intent == "emergency" and result.emergency_by


def _urgent_rows(runtime):
    from sqlalchemy import select

    from ledger.models import UrgentRecord

    with runtime.db.session() as session:
        return list(session.scalars(select(UrgentRecord)))


def test_emergency_reply_and_urgent_record(chat, runtime):
    before = len(_urgent_rows(runtime))
    replies = chat("孩子被他继父打得很厉害")
    text = replies[0]["text"]
    assert "110" in text and "120" in text and "12355" in text
    assert replies[0]["custom"]["urgent"] is True
    rows = _urgent_rows(runtime)
    assert len(rows) == before + 1
    record = rows[-1]
    assert record.kinds.split(",")[0] == "abuse" and record.status == "new"
    assert "继父" not in record.message_enc  # encrypted at rest
    assert runtime.cipher.decrypt(record.message_enc) == "孩子被他继父打得很厉害"


def test_safety_net_fires_in_the_middle_of_another_conversation(chat):
    chat("我现在住在深圳宝安")
    chat("请帮我联系社区的工作人员")  # a handoff conversation is going on
    chat("注销我的信息")  # and a deletion waits for its confirmation
    replies = chat("孩子吃了一整瓶安眠药")
    assert "120" in replies[0]["text"] and replies[0]["custom"]["urgent"]
    # a confirmation is answered by the next message or never: "对的" after the emergency answers the
    # emergency reply and erases nothing; the deletion can be asked for again
    after = chat("对的")
    assert not any((r.get("custom") or {}).get("deleted") for r in after)
    assert "确认要删除" in chat("注销我的信息")[0]["text"]


@pytest.mark.slow
def test_emergency_mentions_local_contact_when_known(tmp_path, embedder, interpreter, kb):
    from tests.conftest import make_settings, seed_caches
    from tests.helpers import checklist_dict, item, write_checklist
    from tongban.runtime import Runtime, knowledge_base

    settings = make_settings(tmp_path, knowledge={"watch_interval": 0})
    seed_caches(settings, kb)
    write_checklist(settings.checklist_dir / "x", "v1.yaml", checklist_dict("x-list", "440306", "宝安区", [
        item("P1", "child_protection", "宝安区未成年人保护工作站（示例）", "示例内容。",
             how_to_apply="示例电话 0755-0000000")], authority="example"))
    kb = knowledge_base(settings, embedder).start(watch=False)
    runtime = Runtime.build(settings, knowledge=kb, interpreter=interpreter)
    try:
        runtime.engine.handle("p", "我住在深圳宝安")
        reply = runtime.engine.handle("p", "孩子不见了")[0]
        assert "当地联系人：宝安区未成年人保护工作站（示例）：示例电话 0755-0000000" in reply.text
    finally:
        runtime.close()


@pytest.mark.parametrize("text", ["娃他爸进去了(坐牢) 娃妈早跑了 我一个老头子带着孙子 这娃能算重点关爱的不",
                                  "孩子他爸早就跑了 俺一个人带俩娃 能申请啥补助"])
def test_a_parent_who_left_long_ago_is_no_missing_child_even_across_two_fragments(text):
    assert safety.check(normalize(text)) is None


@pytest.mark.parametrize("text, kind", [
    ("娃他妈早跑了 把娃抱走了 找不到人", "missing"),  # left with the child: the guard stands aside
    ("孩子他妈早跑了 孩子三天没吃饭了", "neglect"),
    # a danger told after it is read as ever: the guard is the missing rule's, on its own clause
    ("娃妈早跑了 娃走丢了", "missing"), ("娃他妈早跑了 娃喝了农药", "medical"),
    ("孩子他爸都跑了 娃在河边玩掉水里了", "medical"), ("孩子他爸早就不要我们了 娃被同学打得住院了", "abuse"),
    ("娃一个人在家三天了 连猫都没人喂", "neglect"),
])
def test_a_parent_who_left_does_not_silence_a_danger_to_the_child(text, kind):
    hit = safety.check(normalize(text))
    assert hit is not None and kind in hit.kinds, hit


def test_the_ledger_names_every_kind_of_danger_the_safety_net_tells():
    """Urgent records store the safety net's kinds; the staff pages name them from the ledger's list."""
    from ledger.cases import DANGER_KIND_LABELS
    from nlu.safety import KINDS

    assert set(DANGER_KIND_LABELS) == {*KINDS, "unspecified"}
