"""Every button works: walk the dialogues, press every button any reply offered, and check the
press moved the conversation on (not the same question again, not "I did not understand")."""

from __future__ import annotations

import uuid

import pytest

# Conversations as parents have them; each is replayed up to every reply that offered buttons.
DIALOGUES = {
    "form": ["你好", "我想申请帮扶", "同意", "王小明", "八岁", "河南周口郸城", "深圳宝安西乡街道", "两年",
             "李芳", "妈妈", "138 0013 8000", "1 3", "孩子爸爸受伤干不了活", "修改"],
    "menu_and_clarify": ["你能做什么", "嗯嗯嗯那个啥", "额"],
    "eligibility": ["孩子算不算流动儿童"],
    "delete": ["删除我的信息"],
    "emergency": ["孩子被人带走了 找不到了"],
    "out_of_scope": ["讲个笑话吧", "今天天气怎么样"],
}
NOT_UNDERSTOOD = ("没太明白", "没能弄明白")


def _texts(replies) -> list[str]:
    return [r.text for r in replies]


def _walk(engine, script: list[str]):
    """(turns so far, replies) for every reply list of the dialogue that offered a button."""
    sender = f"walk-{uuid.uuid4().hex[:8]}"
    offered = []
    for index, text in enumerate(script):
        replies = engine.handle(sender, text)
        if any(r.buttons for r in replies):
            offered.append((script[: index + 1], replies))
    return offered


def _progress(state: dict | None) -> tuple:
    """What a press may move: the form's place and answers, pending confirmations, the place."""
    state = state or {}
    keys = ("active_loop", "requested_slot", "slots", "awaiting_confirm", "choosing_fix", "pending_confirm",
            "pending_handoff", "locality", "facts", "references", "eligibility")
    return tuple(repr(state.get(k)) for k in keys)


def _moved_on(before_state, after_state, before, after) -> bool:
    """A press moved on if it changed the conversation's progress, or gave an answer (cited,
    a handoff, an urgent reply, a verdict), or, outside the form, said something new."""
    if not after or any(word in r.text for r in after for word in NOT_UNDERSTOOD):
        return False
    if _progress(before_state) != _progress(after_state):
        return True
    if any(r.sources or r.facts for r in after):
        return True
    in_form = (before_state or {}).get("active_loop")
    return not in_form and _texts(after) != _texts(before)


def _presses(engine):
    for name, script in DIALOGUES.items():
        for prefix, replies in _walk(engine, script):
            for reply in replies:
                for button in reply.buttons:
                    yield name, prefix, replies, button


def test_every_button_moves_the_conversation_on(runtime):
    engine = runtime.engine
    failures, pressed = [], 0
    for name, prefix, before, button in _presses(engine):
        sender = f"press-{uuid.uuid4().hex[:8]}"
        for text in prefix:
            engine.handle(sender, text)
        before_state = engine.store.peek(sender)
        after = engine.handle(sender, button.payload)
        pressed += 1
        if not _moved_on(before_state, engine.store.peek(sender), before, after):
            failures.append(f"{name}: after {prefix[-1]!r}, button {button.title!r} "
                            f"({button.payload}) → {_texts(after)[:1]}")
    assert pressed >= 40, pressed  # the walk really reached the form's buttons
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("payload, slot", [('/inform{"situations": ["disability"]}', "situations")])
def test_situation_button_fills_the_slot(runtime, payload, slot):
    engine = runtime.engine
    sender = f"sit-{uuid.uuid4().hex[:8]}"
    for text in DIALOGUES["form"][1:11]:
        engine.handle(sender, text)
    replies = engine.handle(sender, payload)
    assert "请简单说说" in replies[0].text  # the next question: the description
    replies = engine.handle(sender, "跳过")
    assert "孩子有残疾" in replies[0].text  # shown on the summary


def test_field_button_at_the_summary_reopens_that_question(runtime):
    engine = runtime.engine
    sender = f"fix-{uuid.uuid4().hex[:8]}"
    for text in DIALOGUES["form"][1:13]:
        replies = engine.handle(sender, text)
    assert "请核对" in replies[0].text
    replies = engine.handle(sender, '/inform{"fix": "child_age"}')
    assert "几周岁" in replies[0].text
    replies = engine.handle(sender, "9岁")
    assert "· 孩子年龄：9岁" in replies[0].text
