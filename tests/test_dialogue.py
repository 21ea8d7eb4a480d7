"""Every intent's routing through the REST channel, and the clarification ladder."""

from __future__ import annotations


def test_greet_help_thank_goodbye(chat):
    assert "童伴" in chat("你好")[0]["text"]
    help_reply = chat("你能做什么")[0]
    assert "申请帮扶" in help_reply["text"] and len(help_reply["buttons"]) >= 6
    for thanks in ("谢谢你", "谢谢"):  # each said once: the domain's two thank-you replies
        reply = chat(thanks)[0]["text"]
        assert "不客气" in reply or "不用谢" in reply, (thanks, reply)
    assert "再见" in chat("拜拜")[0]["text"]


def test_ask_service_gives_cited_answer(chat):
    reply = chat("孩子在这边上小学要带什么材料")[0]
    assert reply["custom"]["sources"][0]["category"] == "compulsory_education"


def test_a_question_read_in_full_is_embedded_once_in_its_turn(chat, embeddings, monkeypatch):
    """Intent recognition's vector of the message is handed to retrieval, which does not embed it again."""
    import nlu.interpreter

    monkeypatch.setattr(nlu.interpreter, "LEXICAL_DECISIVE", None)  # the parse reads the embedding
    reply = chat("孩子在这边上小学要带什么材料")[0]
    assert reply["custom"]["sources"][0]["category"] == "compulsory_education"
    assert embeddings == ["孩子在这边上小学要带什么材料"]


def test_set_locality_then_answers_are_local(chat):
    reply = chat("我现在住在深圳宝安")[0]
    assert "广东省深圳市宝安区" in reply["text"]
    answer = chat("孩子打疫苗去哪里")[0]
    assert answer["custom"]["sources"][0]["locality"] == "440306"


def test_unknown_place_is_asked_again(chat):
    assert "没能识别" in chat("我现在住在火星基地")[0]["text"]


def test_check_eligibility_yes_no_unsure_with_rule_and_source(chat):
    no = chat("孩子从老家过来三个月了，算不算流动儿童")[0]
    assert "不算流动儿童" in no["text"] and "6个月" in no["text"] and no["custom"]["eligibility"] == "no"
    assert no["custom"]["sources"][0]["item_id"] == "NAP-04-eligibility"
    yes = chat("孩子8岁，从河南老家来深圳打工一年了，算不算流动儿童")[0]
    assert yes["custom"]["eligibility"] == "yes" and "（四）" in yes["text"]
    over = chat("十六岁的孩子还算流动儿童吗")[0]
    assert over["custom"]["eligibility"] == "no"


def test_eligibility_unsure_asks_for_missing_facts(chat):
    reply = chat("我家孩子算不算流动儿童")[0]
    assert reply["custom"]["eligibility"] == "unsure" and "请告诉我" in reply["text"]


def test_out_of_scope_states_purpose_and_menu(chat):
    reply = chat("讲个笑话吧")[0]
    assert "帮不上" in reply["text"] and reply["buttons"]


def test_privacy_notice(chat):
    text = chat("我的资料你们存多久")[0]["text"]
    for word in ("收集", "为什么", "谁能看", "保存", "删除"):
        assert word in text


def test_handoff_asks_locality_then_stores_request(chat, runtime):

    from ledger.models import HandoffRequest

    first = chat("我要找人工")[0]
    assert "住在哪" in first["text"]
    second = chat("深圳市宝安区")
    assert any("H-" in r["text"] for r in second)
    reference = next(r["custom"]["handoff"] for r in second if r.get("custom"))
    with runtime.db.session() as session:
        row = session.get(HandoffRequest, int(reference.split("-")[1]))
        assert row.locality == "440306" and row.status == "open"
        assert runtime.cipher.decrypt(row.reason_enc) == "我要找人工"
    status = chat("我提交的申请现在什么状态")[0]["text"]
    assert reference in status and "等待工作人员联系" in status
    again = chat("请帮我联系社区的工作人员")[0]["text"]
    assert reference in again  # not duplicated


def test_request_assistance_starts_the_form_with_consent(chat):
    replies = chat("我要申请困难帮扶", metadata={"locality": "440306"})
    assert "敏感个人信息" in replies[0]["text"]
    assert [b["title"] for b in replies[-1]["buttons"]] == ["同意", "不同意"]


def test_delete_data_confirm_and_deny(chat):
    chat("我现在住在深圳宝安")
    assert "确认" in chat("删除我的信息")[0]["text"]
    assert "没有删除" in chat("不要")[0]["text"]
    chat("删除我的信息")
    assert "已删除" in chat("确认")[0]["text"]
    # the locality is gone: a handoff now asks where the family lives
    assert "住在哪" in chat("我要找工作人员")[0]["text"]


def test_cancel_and_affirm_deny_outside_anything(chat):
    assert "没有正在进行" in chat("不填了")[0]["text"]
    assert chat("好的")[0]["text"]
    assert chat("不是")[0]["text"]


def test_clarification_ladder_offers_a_person_after_two_failures(chat):
    first = chat("asdkfjh")[0]
    assert ("没太明白" in first["text"] or "帮不上" in first["text"]) and first["buttons"]
    assert not any(b["payload"] == "/human_handoff" and "工作人员" in first["text"] for b in first["buttons"])
    second = chat("qwerzx")[0]
    assert "工作人员" in second["text"]
    assert any(b["payload"] == "/human_handoff" for b in second["buttons"])
    # a success resets the ladder
    chat("孩子在这边上小学要带什么材料")
    third = chat("zzxxcc")[0]["text"]
    assert "没太明白" in third or "帮不上" in third
    assert "工作人员来帮您" not in third


def test_clarify_button_for_ask_service_carries_the_question(chat, runtime, monkeypatch):
    """The classifier unsure, ask_service among its likely intents, retrieval only fairly sure: the
    bot asks which was meant, and its 问政策和服务 button carries the parent's question, so that
    pressing it answers that question (not a menu)."""
    import dataclasses
    import json

    from nlu.interpreter import ParseResult
    from nlu.normalize import normalize

    question = "残疾人两项补贴 我们在外地 在那办"
    ranking = [("request_assistance", 0.36), ("set_locality", 0.29), ("ask_service", 0.2)]
    parse, search = runtime.engine.interpreter.parse, runtime.engine.knowledge.search

    def unsure(text):
        if text != question:
            return parse(text)
        return ParseResult(text, ranking[0][0], ranking[0][1], ranking, [], normalized=normalize(text))

    with monkeypatch.context() as patched:
        patched.setattr(runtime.engine.interpreter, "parse", unsure)
        patched.setattr(runtime.engine.knowledge, "search",
                        lambda *args, **kwargs: dataclasses.replace(search(*args, **kwargs), confidence=0.7))
        reply = chat(question)[0]
    assert "没太明白" in reply["text"] and not reply.get("custom")
    (ask,) = [b for b in reply["buttons"] if b["payload"].startswith("/ask_service")]
    assert ask["title"] == "问政策和服务"
    assert json.loads(ask["payload"].removeprefix("/ask_service")) == {"text": normalize(question)}
    answer = chat(ask["payload"])[0]  # the button pressed
    assert answer["custom"]["sources"][0]["category"] == "disability", answer["text"]


def test_model_parse_rasa_shape(client):
    body = client.post("/model/parse", json={"text": "我家孩子8岁，在深圳宝安，想申请帮扶"}).json()
    assert set(body) == {"text", "intent", "entities", "intent_ranking"}
    assert set(body["intent"]) == {"name", "confidence"}
    assert body["intent"]["name"] == "request_assistance"
    assert {e["entity"] for e in body["entities"]} == {"child_age", "locality"}
    assert all({"entity", "value", "start", "end"} <= set(e) for e in body["entities"])
    ranking = body["intent_ranking"]
    assert ranking[0]["name"] == body["intent"]["name"]
    assert [r["confidence"] for r in ranking] == sorted((r["confidence"] for r in ranking), reverse=True)


import pytest  # noqa: E402


@pytest.mark.parametrize("text", ["", "a", "😂😂", "[贴纸] 笑哭", "x" * 10_000, "hello there",
                                  "haizi shangxue yao shenme", "asdfghjkl"])
def test_bad_input_gets_an_intent_never_an_error(client, text):
    response = client.post("/model/parse", json={"text": text})
    assert response.status_code == 200
    assert response.json()["intent"]["name"]
    sender = client.post("/webhooks/rest/session").json()["sender"]
    replies = client.post("/webhooks/rest/webhook", json={"sender": sender, "message": text}).json()
    assert replies and replies[0]["text"]


def test_a_service_word_typed_in_pinyin_gets_the_answer_not_a_rephrase_menu(chat):
    replies = chat("娃的yibao今年还没交")
    cited = [r for r in replies if (r.get("custom") or {}).get("sources")]
    assert cited and cited[0]["custom"]["sources"][0]["category"] == "medical_insurance", replies[0]["text"]
