"""Cantonese and Hokkien words reach the safety net as Mandarin."""

from __future__ import annotations

import pytest

from nlu import dialect


def test_replacements_keep_the_length_and_plain_mandarin_is_untouched():
    for text in ["我个仔喺屋企瞓咗", "囡仔伫厝内", "伊甲我讲无法度", "孩子今天没去上学"]:
        assert len(dialect.to_mandarin(text)) == len(text)
    assert dialect.to_mandarin("我个仔喺屋企瞓咗") == "我儿子在家里睡了"
    assert dialect.to_mandarin("伊甲我说无法办理") == "伊甲我说无法办理"  # no southern marker word


@pytest.mark.parametrize("message", [
    "我个女食咗成樽安眠药，而家冇反应",          # Cantonese: swallowed a bottle of pills, no response now
    "佢老豆饮醉酒又打紧个细路，打到流血",          # Cantonese: the drunk father is hitting the child now
    "阮囡仔伫溪边跋落水，捞起来无气矣",            # Hokkien: fell into the stream, no breath
])
def test_southern_dialect_emergencies_are_caught(interpreter, message):
    assert interpreter.parse(message).intent == "emergency"


@pytest.mark.parametrize("message", ["唔该晒，我明白喇", "请问喺深圳点样办居住证"])
def test_harmless_dialect_raises_no_alarm(interpreter, message):
    assert interpreter.parse(message).intent != "emergency"


@pytest.mark.xfail(strict=True, reason="known false alarm, in Mandarin too: a happy story of the child's day in the "
                   "words emergencies open with (我儿子今天在学校拿了奖状: P(emergency) 0.85). 300 such stories as "
                   "training fixed it but silenced a buried missing child at the thresholds chosen (closing note "
                   "2026-12-04), so they were not added")
def test_a_happy_story_of_the_childs_day_raises_no_alarm(interpreter):
    assert interpreter.parse("我个仔今日去咗公园玩，好开心").intent != "emergency"
