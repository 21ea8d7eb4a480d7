"""Something happening to the child now that is no emergency: what to do first, with its source,
before any entitlement — and never "this is not something I can answer"."""

from __future__ import annotations

import pytest

from bot.danger_guidance import health_now


@pytest.mark.parametrize(("text", "says"), [
    ("孩子被狗抓了一下 要打狂犬疫苗吗", "狂犬病暴露预防处置门诊"),
    ("娃让邻居家的猫挠破了皮", "肥皂水和流动清水"),
    ("娃流鼻血了 咋办", "不要仰头"),
    ("早上起来鼻子出血了", "捏住鼻子"),
    ("孩子手被烫红了一块", "流动的凉水"),
    ("娃吃东西噎着了怎么办", "拍背5次"),
])
def test_first_aid_for_what_is_happening(text, says):
    aid = health_now(text)
    assert aid is not None and says in aid and "依据：" in aid


@pytest.mark.parametrize("text", ["烫头发要多少钱", "家里养了只狗 孩子很喜欢", "抓紧办居住证", "孩子上学要带啥材料",
                                  "哥哥抓伤了弟弟的脸", "孩子流鼻涕能上学吗", "孩子发烧伤脑子吗", "孩子上学手续卡住了怎么办",
                                  "狗证怎么办 要抓紧", "孩子烫了个头发"])
def test_nothing_for_other_messages(text):
    assert health_now(text) is None


def test_heavy_bleeding_after_a_bite_leads_with_120_and_pressure():
    aid = health_now("孩子被猫咬了 流了好多血 止不住")
    assert aid.index("120") < aid.index("按住") < aid.index("冲洗")


def test_no_heimlich_for_a_fish_bone():
    from bot.danger_guidance import guidance_lines

    assert not any("海姆立克" in line for line in guidance_lines(("medical",), "孩子被鱼刺卡住了怎么办"))
    assert any("海姆立克" in line for line in guidance_lines(("medical",), "孩子噎住了喘不上气"))


def test_choking_help_follows_the_2025_guidelines():
    """Back blows alternating with thrusts (AHA 2025), coughing first, 120 and CPR when the child stops
    responding — in the emergency reply and in the first-aid answer alike."""
    from bot.danger_guidance import guidance_lines, health_now

    for text in ("\n".join(guidance_lines(("medical",), "孩子噎住了喘不上气")), health_now("娃吃东西噎着了怎么办")):
        assert "用力咳" in text and "拍背5次" in text and "交替" in text
        assert "1岁以下" in text and "按压胸口" in text and "120" in text and "心肺复苏" in text


def test_bite_first_then_the_entitlement(chat):
    replies = chat("孩子刚被小区里的狗抓了一下 破了点皮 外地的娃能打狂犬疫苗吗")
    assert "肥皂水" in replies[0]["text"] and "狂犬病暴露预防处置门诊" in replies[0]["text"]
    assert "【紧急】" not in replies[0]["text"]
    assert any((r.get("custom") or {}).get("sources") for r in replies[1:])  # then the cited answer


def test_first_aid_instead_of_i_cannot_help(chat):
    (reply,) = chat("娃被猫咬了 出了点血")
    assert "肥皂水" in reply["text"] and "帮不上" not in reply["text"] and "没太明白" not in reply["text"]
    assert reply.get("buttons")


def test_no_first_aid_again_on_a_button_press(chat):
    """A button re-sends the parent's words (the clarify menu's 咨询服务): first aid was said on the turn they were typed."""
    replies = chat('/ask_service{"text":"孩子被狗抓了 外地的能打狂犬疫苗吗"}')
    assert replies and all("肥皂水" not in r["text"] for r in replies)


def test_first_aid_fits_a_phone_screen_with_its_source_on_its_own_line():
    from bot.danger_guidance import HEALTH_NOW
    from knowledge.screen import FIRST_SCREEN_CHARS

    for _, situation, step, source in HEALTH_NOW:
        assert len(situation + step) <= FIRST_SCREEN_CHARS, situation
        assert source
    aid = health_now("娃让邻居家的猫挠破了皮")
    body, source = aid.split("\n")
    assert source.startswith("依据：") and "狂犬病暴露预防处置工作规范" in source and "120" in body


def test_a_scald_is_first_aid_and_120_not_a_beating_but_a_scald_someone_did_is_both():
    from nlu import safety

    kinds = safety.check("娃被开水烫了一大片").kinds
    assert safety.MEDICAL in kinds and safety.ABUSE not in kinds
    assert safety.ABUSE in safety.check("孩子被他爸用开水烫了").kinds
    assert {safety.ABUSE, safety.MEDICAL} <= set(safety.check("孩子被开水烫了又被他妈掐了").kinds)
    assert safety.ABUSE in safety.check("孩子被锅烫了 是他后妈推的").kinds  # no rule of accidents names 锅


def test_violence_at_home_names_the_womens_federation_line_beside_110():
    from bot.danger_guidance import guidance_lines
    from nlu import safety

    assert any("12338" in line for line in guidance_lines((safety.ABUSE,), "老公喝醉了打我和孩子"))
    for text in ("孩子在学校被几个大孩子围着打", "小姑娘在学校被同学打了", "路上一个陌生男人打我家娃", "孩子被老师打出血了 我是他妈"):
        assert not any("12338" in line for line in guidance_lines((safety.ABUSE,), text)), text
    lines = guidance_lines((safety.ABUSE,), "孩子他爸喝了酒就打娃")
    assert lines.index(next(line for line in lines if "依据" in line)) < lines.index(next(line for line in lines if "12338" in line))
