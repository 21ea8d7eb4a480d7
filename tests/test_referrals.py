"""What lies outside Tongban's scope is told by its words, never a child's need told beside them."""

from __future__ import annotations

import pytest

from bot import referrals


@pytest.mark.parametrize("text, topic", [
    ("租房押金房东不退 能告他吗", "legal"),
    ("房子的押金到现在还不给", "legal"),
    ("押金被扣了一半 找谁说理", "legal"),
    ("老板欠了俩月工资不给", "labour"),
    ("交的押金一直不还 咋办", "legal"),
    ("我仔仔细细算了 老板欠我三个月工资 打啥电话", "labour"),  # 仔仔细细 is no child
])
def test_an_adults_affair_is_outside(text, topic):
    assert referrals.outside_scope(text)[0] == topic


@pytest.mark.parametrize("text", [
    "孩子突发重病 住院押金都交不起 有救助吗",
    "仔仔突然住院了 押金交唔起 我哋系外地嚟嘅 去边度申请临时救助啊",  # 仔仔: a child, in Cantonese
    "伢住院了 老板又欠着工资 临时救助能申请不",
    "崽读书的钱凑不齐 老板拖欠工资好几个月",
])
def test_a_childs_need_is_never_outside(text):
    assert referrals.outside_scope(text) is None


@pytest.mark.parametrize("text", ["住院押金交不起 能申请临时救助吗", "住院押金医院不退 到底咋回事"])
def test_a_hospitals_deposit_is_no_legal_dispute(text):
    assert referrals.outside_scope(text) is None
