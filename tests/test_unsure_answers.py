"""An unsure parse that may be a service question gets the checklists' answer when retrieval is sure
of one; the bot asks to rephrase only when it really has nothing."""

from __future__ import annotations

import uuid

import pytest

from nlu.interpreter import ParseResult
from nlu.normalize import normalize


@pytest.fixture
def unsure(runtime, monkeypatch):
    """``say(text, ranking) -> replies``: the engine's turn on a parse the classifier is unsure of."""
    real = runtime.engine.interpreter.parse

    def say(text: str, ranking: list[tuple[str, float]]):
        def parse(message):
            if message != text:
                return real(message)
            return ParseResult(text, ranking[0][0], ranking[0][1], ranking, normalized=normalize(text))

        monkeypatch.setattr(runtime.engine.interpreter, "parse", parse)
        return runtime.engine.handle(f"unsure-{uuid.uuid4().hex[:8]}", text)

    return say


def test_answered_when_a_service_question_is_likely_and_retrieval_is_sure(unsure):
    replies = unsure("外地娃在这边上小学要带啥材料",
                     [("out_of_scope", 0.31), ("ask_service", 0.3), ("request_assistance", 0.2)])
    cited = [r for r in replies if (r.custom or {}).get("sources")]
    assert cited and cited[0].custom["sources"][0]["category"] == "compulsory_education"
    assert not any("没太明白" in r.text for r in replies)


def test_offered_the_assistance_request_beside_the_answer_when_help_is_likely(unsure):
    replies = unsure("孩子不说话快一年了 能不能安排个心理老师来看看",
                     [("request_assistance", 0.4), ("ask_service", 0.35), ("out_of_scope", 0.1)])
    assert any((r.custom or {}).get("sources") for r in replies)
    assert any(b["title"] == "申请帮扶" for r in replies for b in (r.buttons or []))


@pytest.mark.parametrize(("text", "ranking"), [
    ("外地娃在这边上小学要带啥材料", [("out_of_scope", 0.35), ("check_status", 0.3), ("ask_service", 0.2)]),
    ("嗯嗯啊那个就是那个", [("ask_service", 0.3), ("out_of_scope", 0.29), ("greet", 0.2)]),
])
def test_asked_to_rephrase_otherwise(unsure, text, ranking):
    replies = unsure(text, ranking)
    assert "没太明白" in replies[0].text and not any((r.custom or {}).get("sources") for r in replies)


def test_status_of_a_service_applied_for_elsewhere_gets_where_to_ask(unsure):
    """Nothing filed through us, and the message names a service beyond doubt: say so, and answer it."""
    replies = unsure("之前在街道申请的临时救助 批下来没有啊",
                     [("check_status", 0.9), ("ask_service", 0.06), ("request_assistance", 0.02)])
    assert "在童伴没有查到您的申请" in replies[0].text
    cited = [r for r in replies if (r.custom or {}).get("sources")]
    assert cited and cited[0].custom["sources"][0]["category"] == "temporary_assistance"


def test_status_with_nothing_named_says_nothing_was_filed(unsure):
    replies = unsure("我的申请到哪一步了", [("check_status", 0.95), ("ask_service", 0.02), ("cancel", 0.01)])
    assert "您还没有提交过申请" in replies[0].text and not any((r.custom or {}).get("sources") for r in replies)
