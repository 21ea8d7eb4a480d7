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


@pytest.mark.parametrize(("text", "intent"), [
    ("想让网站把娃的信息删了 能删不", "delete_data"),
    ("娃手机上的APP老要填个人信息 会不会被乱收集", "privacy"),
])
def test_a_childs_data_held_by_a_website_or_app_is_a_question_not_a_deletion_here(unsure, text, intent):
    """Nothing of Tongban's is deleted or explained: the law on a child's data online is the answer."""
    replies = unsure(text, [(intent, 0.8), ("ask_service", 0.15), ("out_of_scope", 0.05)])
    assert not any("确认要删除" in r.text or "个人信息说明" in r.text for r in replies)
    cited = [r for r in replies if (r.custom or {}).get("sources")]
    assert cited and cited[0].custom["sources"][0]["category"] == "online_safety"
    assert "监护人" in cited[0].text


@pytest.mark.parametrize(("text", "intent", "says"), [
    ("删除我的信息", "delete_data", "确认要删除"),
    ("你们会把我填的信息给谁看", "privacy", "个人信息说明"),
])
def test_our_own_data_questions_still_get_our_answer(unsure, text, intent, says):
    replies = unsure(text, [(intent, 0.9), ("ask_service", 0.05), ("out_of_scope", 0.05)])
    assert says in replies[0].text


def test_a_request_for_help_that_names_a_service_and_asks_whom_to_call_is_answered(unsure):
    """"想找慈善帮扶 该找谁联系": the service answer and the assistance request offered, no form yet."""
    replies = unsure("想找慈善帮扶 该找谁联系",
                     [("request_assistance", 0.54), ("ask_service", 0.32), ("human_handoff", 0.11)])
    cited = [r for r in replies if (r.custom or {}).get("sources")]
    assert cited and cited[0].custom["sources"][0]["category"] == "charity"
    assert any(b["title"] == "申请帮扶" for r in replies for b in (r.buttons or []))
    assert not any("需要填写" in r.text for r in replies)


def test_who_counts_migrant_children_is_answered_from_the_clause_not_with_a_verdict(unsure):
    """A question about the rule that tells nothing of this child gets the clause (民政 leads the
    count), not "还不能确定，请告诉我孩子几周岁"."""
    replies = unsure("流动儿童是谁在统计啊", [("check_eligibility", 0.8), ("ask_service", 0.15), ("greet", 0.05)])
    assert not any((r.custom or {}).get("eligibility") for r in replies)
    cited = [r for r in replies if (r.custom or {}).get("sources")]
    assert cited and cited[0].custom["sources"][0]["category"] == "eligibility"
    assert "民政部门牵头" in cited[0].text.split("\n")[0]
    still = unsure("孩子8岁 在这边住了一年多了 算不算流动儿童",
                   [("check_eligibility", 0.9), ("ask_service", 0.05), ("greet", 0.05)])
    assert any((r.custom or {}).get("eligibility") for r in still)


@pytest.mark.parametrize("text", ["慈善帮扶优先帮哪些孩子", "我们户口不在这能申请临时救助不"])
def test_a_question_about_a_service_read_as_a_request_is_answered_with_the_request_offered(unsure, text):
    replies = unsure(text, [("request_assistance", 0.7), ("ask_service", 0.05), ("out_of_scope", 0.05)])
    assert any((r.custom or {}).get("sources") for r in replies), [r.text for r in replies]
    assert any(b["title"] == "申请帮扶" for r in replies for b in (r.buttons or []))
    assert not any("需要填写" in r.text for r in replies)


@pytest.mark.parametrize("text", ["能不能派个人来看看 孩子老不说话", "我要申请帮扶", "家里困难 有没有人能帮帮我们"])
def test_asking_someone_to_come_or_to_register_the_family_starts_the_request(unsure, text):
    replies = unsure(text, [("request_assistance", 0.7), ("ask_service", 0.05), ("out_of_scope", 0.05)])
    assert any("需要填写" in r.text for r in replies), [r.text for r in replies]
