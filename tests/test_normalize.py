from nlu.interpreter import Interpreter
from nlu.normalize import mask_long_numbers, normalize
from tests.helpers import CountingEmbedder


def test_traditional_fullwidth_emoji_whitespace():
    assert normalize("孩子讀書　要帶什麼材料？？😀👍🏻\n\n好") == "孩子读书 要带什么材料?? 好"


def test_fullwidth_digits_and_letters():
    assert normalize("１２岁ＡＢＣ") == "12岁ABC"


def test_empty_and_emoji_only():
    assert normalize("") == ""
    assert normalize("😂😂🙏") == ""


def test_long_text_is_cut():
    assert len(normalize("医" * 10_000)) == 2000


def test_long_numbers_are_masked_and_short_ones_kept():
    assert mask_long_numbers("电话13912345678，身份证410105201001011234") == "电话00000000000，身份证000000000000000000"
    assert mask_long_numbers("孩子8岁，2024年来的，打12355或0755-1234567") == "孩子8岁，2024年来的，打12355或0755-0000000"


def test_the_embedding_sees_phone_numbers_masked_the_entities_see_them_whole(interpreter, monkeypatch):
    import nlu.interpreter

    monkeypatch.setattr(nlu.interpreter, "LEXICAL_DECISIVE", None)  # always the full reading here
    counting = CountingEmbedder(interpreter.embedder)
    nlu = Interpreter(interpreter.model, counting, danger=interpreter.danger)
    first, second = nlu.parse("我的电话是13912345678"), nlu.parse("我的电话是18688886666")
    assert counting.queries == ["我的电话是00000000000"] * 2  # one vector, cached, for every number
    assert (first.entity("phone"), second.entity("phone")) == ("13912345678", "18688886666")
    # not the embedding of the question as written: retrieval embeds its own
    assert first.query_vector.of(first.normalized, counting) is None
    short = nlu.parse("孩子8岁，打12355可以吗")
    assert counting.queries[-1] == short.normalized and short.query_vector.of(short.normalized, counting) is not None


def test_the_embedding_reads_both_ends_of_a_long_message_and_no_long_numbers():
    from nlu.normalize import EMBEDDED_ENDS, embedding_view

    short = "孩子上学要带什么材料 电话13912345678"
    assert embedding_view(short) == "孩子上学要带什么材料 电话00000000000"
    long = "我们是从河南过来打工的" * 10 + "想问一下孩子在这边上小学要带什么材料"
    view = embedding_view(long)
    assert view.startswith(long[:EMBEDDED_ENDS]) and view.endswith(long[-EMBEDDED_ENDS:])
    assert len(view) == 2 * EMBEDDED_ENDS + 1
