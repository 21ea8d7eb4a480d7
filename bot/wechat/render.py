"""Replies as WeChat text messages: plain text cut under WeChat's 2048-byte limit at sentence
boundaries; a reply's buttons, which WeChat text cannot carry, as numbered choices (回复数字) that
the parent answers with a digit (``choice``), mapped back to the button's payload by the channel —
or, in a customer-service message, as a menu message (msgmenu) whose items are those numbers.

The choices of one turn are numbered across its replies, in order — unless the form waits for an
answer: then a digit answers the question, so only the question's own choices are numbered (the
consent question after a greeting's menu: 1 is 同意), and the other replies' buttons are named
without numbers (all of them when the question has none, like the child's age).
"""

from __future__ import annotations

import re
import unicodedata

from bot import channel
from ledger.reply import Reply

MAX_BYTES = 2000  # WeChat takes 2048 bytes of text; a little room for the choices' line breaks
CHOOSE = "回复数字即可选择："
MENU_TAIL = "点一下选项，或回复它前面的数字。"


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def split_text(text: str, limit: int = MAX_BYTES) -> list[str]:
    """Pieces of at most ``limit`` UTF-8 bytes (``bot.channel.split_text``)."""
    return channel.split_text(text, limit, _size)


def numbered(replies: list[Reply], form_waiting: bool) -> list[bool]:
    """Which of the turn's replies get numbers a digit picks (see the module's docstring)."""
    if form_waiting:  # only the question waiting, when it has choices
        return [index == len(replies) - 1 and bool(reply.buttons) for index, reply in enumerate(replies)]
    return [True] * len(replies)


def render_turn(replies: list[Reply], form_waiting: bool = False) -> tuple[list[dict], list[list[str]]]:
    """The turn's messages and its numbered choices as ``[title, payload]`` pairs (1 = the first).

    A message is ``{"text": …}``; the one that carries numbered choices has ``"menu"`` too: the same
    choices as a customer-service menu message (msgmenu), sent instead of the text when the message
    goes through the API — its items' ids are the choices' numbers, and a tap comes back as a text
    with that id (``bizmsgmenuid``). The passive reply is always the text.
    ``form_waiting``: the form waits for the answer to a question (``AssistanceForm.asking``)."""
    messages: list[dict] = []
    choices: list[list[str]] = []
    for reply, number in zip(replies, numbered(replies, form_waiting)):
        if not (number and reply.buttons):
            named = [f"· {button.title}" for button in reply.buttons]
            messages += [{"text": text} for text in _with_choices(reply.text, named, False)]
            continue
        first = len(choices) + 1
        choices += [[button.title, button.payload] for button in reply.buttons]
        items = [f"{first + index}. {button.title}" for index, button in enumerate(reply.buttons)]
        listed = first == 1 and _numbers_itself(reply.text, len(items))  # the form's situations question
        texts = split_text(reply.text) if listed else _with_choices(reply.text, items, True)
        messages += [{"text": text} for text in texts]
        pieces = split_text(reply.text)
        head = pieces[-1] if len(texts) == len(pieces) else CHOOSE.rstrip("：")  # the choices had their own
        messages[-1]["menu"] = {"head_content": head, "tail_content": MENU_TAIL,
                                "list": [{"id": str(first + index), "content": item} for index, item in enumerate(items)]}
    return messages, choices


def _numbers_itself(text: str, count: int) -> bool:
    """The text lists its choices itself, numbered 1 to ``count`` at the start of its lines, in the
    buttons' order (the form's situations question does: "1 家庭生活困难 …")."""
    def numbered_line(number: int) -> bool:
        return re.search(rf"(?m)^\s*{number}(?=[\s.、．])", text) is not None
    return all(numbered_line(number) for number in range(1, count + 1)) and not numbered_line(count + 1)


def render_reply(reply: Reply) -> list[str]:
    """A reply sent outside a turn (a notification): its buttons named, not numbered — a digit the
    parent sends next answers the last turn's choices, not these."""
    return _with_choices(reply.text, [f"· {button.title}" for button in reply.buttons], False)


def _with_choices(text: str, lines: list[str], number: bool) -> list[str]:
    pieces = split_text(text)
    if lines:
        head = CHOOSE if number else "您也可以直接发送："
        block = "\n".join([head, *lines])
        if _size(pieces[-1]) + _size(block) + 2 <= MAX_BYTES:
            pieces[-1] = f"{pieces[-1]}\n\n{block}" if pieces[-1] else block
        else:
            pieces += split_text(block)
    return pieces


def choice(text: str | None, choices: list[list[str]], menu_id: str | None = None) -> str | None:
    """The payload the parent picked: a digit ("2", "２", " 2 "), or a tapped menu item (its id, and
    the text it sends, which must be that choice's: an old menu's item is read as typed text);
    None when the message picks none."""
    if not text or not choices:
        return None
    if menu_id is not None:
        number = menu_id.strip()
        if number.isdigit() and 0 < int(number) <= len(choices):
            title, payload = choices[int(number) - 1]
            if text.strip() in (title, f"{number}. {title}"):
                return payload
        return None
    digits = unicodedata.normalize("NFKC", text).strip().rstrip("。.")
    if digits.isascii() and digits.isdigit() and 0 < int(digits) <= len(choices):
        return choices[int(digits) - 1][1]
    return None
