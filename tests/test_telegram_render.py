"""Replies as Telegram messages: splitting, escaping, keyboards."""

from __future__ import annotations

from bot.replies import button
from ledger.reply import Reply
from bot.telegram import render


def test_long_text_is_split_at_sentence_ends_under_the_limit():
    sentence = "孩子在居住地可以按规定接种免疫规划疫苗。"  # 20 characters
    text = sentence * 500  # 10,000 characters
    pieces = render.split_text(text)
    assert len(pieces) == 3
    assert all(len(p) <= render.MAX_TEXT for p in pieces)
    assert all(p.endswith("。") for p in pieces)
    assert "".join(pieces) == text


def test_lines_are_preferred_and_unbreakable_text_is_cut_hard():
    text = ("第一段" * 700 + "\n") * 3
    pieces = render.split_text(text)
    assert pieces == ["第一段" * 700] * 3  # cut at line ends, not mid-line
    blob = "字" * 9000
    assert [len(p) for p in render.split_text(blob)] == [4096, 4096, 808]


def test_html_is_escaped_and_the_keyboard_goes_on_the_last_piece():
    reply = Reply("<b>学费</b> & 书本费" + "。" * 5000, buttons=[button("问政策", "ask_service")])
    ops, _ = render.render(reply)
    assert len(ops) == 2
    assert ops[0]["text"].startswith("&lt;b&gt;学费&lt;/b&gt; &amp; 书本费")
    assert ops[0]["parse_mode"] == "HTML" and "reply_markup" not in ops[0]
    assert ops[1]["reply_markup"] == {"inline_keyboard": [[{"text": "问政策", "callback_data": "/ask_service"}]]}


def test_long_payloads_become_short_keys():
    long = button("问这个", "ask_service", text="我家孩子在深圳宝安上小学，需要准备哪些材料，去哪里报名")
    ops, payloads = render.render(Reply("好的", buttons=[long, button("帮助", "help"), button("人工", "human_handoff")]))
    rows = ops[0]["reply_markup"]["inline_keyboard"]
    assert [len(r) for r in rows] == [2, 1]
    key = rows[0][0]["callback_data"]
    assert key.startswith(render.KEY_PREFIX) and len(key.encode()) <= 64
    assert payloads == {key: long.payload}
    assert rows[0][1]["callback_data"] == "/help"
