"""The form's state graph (bot/form_graph.py) walked with real conversations through the engine.

One walk per declared edge: the messages that bring a new parent there, the last one taking the
edge. Every message of every walk is checked against the graph: each step the form takes is a
declared edge, the steps chain from the state before the message to the state after it, and a state
never changes without a step. An edge without a walk, or a walk without its edge, fails.
"""

from __future__ import annotations

import pytest

from bot.form_graph import EDGES, Event, Phase, phase_of, target
from bot.rest import conversation_key

P, E = Phase, Event
START = ["我要申请帮扶", "同意"]
ANSWERS = ["王小明", "八岁", "河南周口郸城", "深圳宝安西乡街道", "两年", "李芳", "妈妈", "138 0013 8000", "1 3",
           "孩子爸爸受伤干不了活，下学期学费交不上"]

WALKS = {
    (P.START, E.REQUEST): ["我要申请帮扶"],
    (P.CONSENT, E.DECLINE): ["我要申请帮扶", "不同意"],
    (P.CONSENT, E.CONSENT): START,
    (P.CONSENT, E.QUESTION): ["我要申请帮扶", "医保怎么交"],
    (P.PREFILL, E.PREFILLED): ["我家孩子8岁，在深圳宝安，想申请帮扶", "同意"],
    (P.ASKING, E.ANSWER): [*START, "王小明"],
    (P.ASKING, E.QUESTION): [*START, "王小明", "八岁", "医保怎么交"],
    (P.ASKING, E.CORRECTION): [*START, "王小明", "八岁", "孩子其实是九岁"],
    (P.ASKING, E.OVER_AGE): [*START, "王大明", "十七岁"],
    (P.ASKING, E.FILLED): [*START, *ANSWERS],
    (P.SUMMARY, E.QUESTION): [*START, *ANSWERS, "医保怎么交"],
    (P.SUMMARY, E.FIX): [*START, *ANSWERS, "修改"],
    (P.CHOOSE_FIX, E.FIX_CHOSEN): [*START, *ANSWERS, "修改", '/inform{"fix": "child_age"}'],
    (P.SUMMARY, E.CONFIRM): [*START, *ANSWERS, "确认提交"],
    (P.SUBMITTED, E.FILED): [*START, *ANSWERS, "确认提交"],
    (P.ANY, E.UNCLEAR): [*START, "王小明", "abc"],
    (P.ANY, E.SAFETY_NET): [*START, "孩子刚才说不想活了"],
    (P.ANY, E.CANCEL): [*START, "王小明", "不填了"],
    (P.STOPPED, E.DONE): [*START, "王小明", "不填了"],
}


def test_every_edge_has_a_walk_and_every_walk_an_edge():
    declared = {(step.source, step.event) for step in EDGES}
    assert not declared - set(WALKS), f"edges without a walk: {sorted(map(str, declared - set(WALKS)))}"
    assert not set(WALKS) - declared, f"walks without an edge: {sorted(map(str, set(WALKS) - declared))}"


@pytest.fixture
def form_trail(runtime):
    form = runtime.engine.form
    form.trail = []
    yield form.trail
    form.trail = None


def _rest(phase: Phase) -> Phase:
    return P.START if phase is P.END else phase


def _check_steps(message: str, before: Phase, after: Phase, steps: list) -> None:
    """The steps a message made chain from the state before it to the state after it."""
    undeclared = [(source.value, event.value) for source, event, step in steps if step is None]
    assert not undeclared, f"{message!r}: steps the graph does not declare: {undeclared}"
    here = before
    for source, _, step in steps:
        assert source is here, f"{message!r}: a step from {source.value} while the form was in {here.value}"
        here = target(step, source)
    assert _rest(here) is after, f"{message!r}: the form went to {after.value}, its steps to {here.value}"


@pytest.mark.parametrize("walked", list(WALKS), ids=lambda key: f"{key[0].name}-{key[1].name}")
def test_the_walk_takes_its_edge(walked, chat, runtime, form_trail):
    store = runtime.engine.store
    key = conversation_key(store.cipher, chat.sender, trusted=False)

    def phase() -> Phase:
        return phase_of(store.peek(key) or {})

    messages = WALKS[walked]
    for message in messages:
        before = phase()
        form_trail.clear()
        chat(message)
        _check_steps(message, before, phase(), list(form_trail))
    taken = [(step.source, step.event) for _, _, step in form_trail]
    assert walked in taken, f"{messages[-1]!r} did not take {walked[0].value} on {walked[1].value}: {taken}"
