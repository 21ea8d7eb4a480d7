"""The cascade: the character-only reading stands alone only when it is decisive and nothing in
the message looks dangerous (nlu/interpreter.py LEXICAL_*)."""

import pytest

import nlu.interpreter as interpreter_module


def test_a_decisive_everyday_message_needs_no_embedding(interpreter, embeddings):
    result = interpreter.parse("太感谢你们了 谢谢谢谢")
    assert result.intent == "thank"
    assert embeddings == [] and result.query_vector is None


def test_an_unsure_message_is_read_in_full(interpreter, embeddings, monkeypatch):
    monkeypatch.setattr(interpreter.model, "predict_lexical",
                        lambda text: {"ask_service": 0.45, "request_assistance": 0.4, "emergency": 0.0,
                                      "out_of_scope": 0.15})
    result = interpreter.parse("孩子上学的事情想问问")
    assert embeddings, "the character reading was not decisive: the embedding must be read"
    assert result.query_vector is not None


@pytest.mark.parametrize("text", ["他爸刚才喝醉了拿皮带抽他 身上全是血印子", "孩子吃了一整瓶药 现在叫不醒"])
def test_a_message_that_may_be_a_danger_is_never_decided_by_a_sure_harmless_character_reading(
        interpreter, embeddings, monkeypatch, text):
    # the character model, wrongly and surely, says "a question about a service"
    monkeypatch.setattr(interpreter.model, "predict_lexical",
                        lambda t: {"ask_service": 0.97, "emergency": 0.01, "out_of_scope": 0.02})
    result = interpreter.parse(text)
    assert embeddings, "a message with a danger pattern or a dangerous clause is read in full"
    assert result.intent == "emergency"


def test_switched_off_every_message_is_read_in_full(interpreter, embeddings, monkeypatch):
    monkeypatch.setattr(interpreter_module, "LEXICAL_DECISIVE", None)
    interpreter.parse("太感谢你们了 谢谢谢谢呀")
    assert embeddings


def test_a_character_reading_of_a_danger_below_the_threshold_is_read_in_full(interpreter, embeddings, monkeypatch):
    """The character model says "emergency" first, but less surely than an emergency must be: the
    message is read in full, never quietly routed to its second intent."""
    needed = interpreter_module.EMERGENCY_PROBABILITY
    monkeypatch.setattr(interpreter.model, "predict_lexical",
                        lambda t: {"emergency": needed - 0.02, "out_of_scope": 0.3, "ask_service": 1.02 - needed - 0.3})
    interpreter.parse("家里那个孩子我有点担心")
    assert embeddings, "an unsure emergency must be read with the embedding"
