from nlu.normalize import normalize


def test_traditional_fullwidth_emoji_whitespace():
    assert normalize("孩子讀書　要帶什麼材料？？😀👍🏻\n\n好") == "孩子读书 要带什么材料?? 好"


def test_fullwidth_digits_and_letters():
    assert normalize("１２岁ＡＢＣ") == "12岁ABC"


def test_empty_and_emoji_only():
    assert normalize("") == ""
    assert normalize("😂😂🙏") == ""


def test_long_text_is_cut():
    assert len(normalize("医" * 10_000)) == 2000
