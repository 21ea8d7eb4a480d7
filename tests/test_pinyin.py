"""Messages typed in pinyin reach the safety net: a child in danger is not missed because the
parent had no Chinese keyboard, and a harmless pinyin message raises no alarm."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu import pinyin
from nlu.evaluate import read_tsv

INDEPENDENT = Path(__file__).parent / "data" / "independent"


@pytest.mark.parametrize("text", ["haizi bu hu xi le", "wo er zi zou diu le, zai huo che zhan",
                                  "ni hao wo xiang wen yi xia", "XIE XIE NI MEN"])
def test_pinyin_messages_are_recognised(text):
    assert pinyin.is_pinyin(text)


@pytest.mark.parametrize("text", ["孩子不呼吸了", "my child is not breathing, please help", "ok", "hi",
                                  "12345678", "孩子 bu hu xi le", ""])
def test_other_messages_are_not_pinyin(text):
    assert not pinyin.is_pinyin(text)


def test_spacing_does_not_matter_and_characters_read_the_same():
    assert pinyin.letters("bu hu xi le") == pinyin.letters("buhuxi le") == pinyin.letters("不呼吸了") == "buhuxile"
    assert pinyin.clauses("娃不动了，快来") == pinyin.clauses("wa bu dong le, kuai lai") == ["wabudongle", "kuailai"]


def test_independent_pinyin_emergencies_are_caught(interpreter):
    lines = [e for e in read_tsv(INDEPENDENT / "emergencies_a.tsv") if "pinyin" in e.tags]
    assert len(lines) >= 5
    missed = [e.text for e in lines if interpreter.parse(e.text).intent != "emergency"]
    assert missed == []
    first = interpreter.parse(next(e.text for e in lines if e.category == "missing"))
    assert first.danger_kinds[0] == "missing" and "pinyin" in first.emergency_by


@pytest.mark.parametrize("text", ["ni hao", "wo xiang wen yi xia hai zi shang xue yao shen me cai liao",
                                  "xie xie ni men", "hai zi da yi miao zai na li da"])
def test_harmless_pinyin_raises_no_alarm(interpreter, text):
    assert interpreter.parse(text).intent != "emergency"
