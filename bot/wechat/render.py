"""Replies as WeChat text messages: plain text cut under WeChat's 2048-byte limit at sentence
boundaries; a reply's buttons, which WeChat text cannot carry, as numbered choices (回复数字) that
the parent answers with a digit (``choice``), mapped back to the button's payload by the channel.

The choices of one turn are numbered across its replies, in order — unless the form waits for an
answer and the turn's last reply offers no choices of its own (the child's age asked again after a
digression's answer): there a digit answers the question, so the buttons are named without numbers.
"""

from __future__ import annotations

import re
import unicodedata

from ledger.reply import Reply

MAX_BYTES = 2000  # WeChat takes 2048 bytes of text; a little room for the choices' line breaks
CHOOSE = "回复数字即可选择："
# Split after these: line ends first, then sentence ends, then clause breaks, then anywhere.
_BREAKS = (re.compile(r"\n"), re.compile(r"[。！？!?；;](?:[”’」』）)])?"), re.compile(r"[，,、：: ]"))


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _prefix(text: str, limit: int) -> str:
    """The longest start of ``text`` within ``limit`` UTF-8 bytes."""
    size = 0
    for index, char in enumerate(text):
        size += _size(char)
        if size > limit:
            return text[:index]
    return text


def split_text(text: str, limit: int = MAX_BYTES) -> list[str]:
    """Pieces of at most ``limit`` UTF-8 bytes, cut after a line or sentence end where possible."""
    pieces: list[str] = []
    rest = text.strip()
    while _size(rest) > limit:
        window = _prefix(rest, limit)
        cut = 0
        for pattern in _BREAKS:
            ends = [m.end() for m in pattern.finditer(window)]
            if ends and ends[-1] >= len(window) // 3:  # not a tiny first piece
                cut = ends[-1]
                break
        cut = cut or len(window)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces or [""]


def numbered(replies: list[Reply], form_waiting: bool) -> bool:
    """Whether the turn's choices get numbers a digit picks (see the module's docstring)."""
    return bool(replies) and not (form_waiting and not replies[-1].buttons)


def render_turn(replies: list[Reply], form_waiting: bool = False) -> tuple[list[str], list[str]]:
    """The turn's messages, and the payloads its numbered choices stand for (1 = the first).
    ``form_waiting``: the form waits for the answer to a question (``AssistanceForm.asking``)."""
    number = numbered(replies, form_waiting)
    texts: list[str] = []
    payloads: list[str] = []
    for reply in replies:
        lines = []
        for button in reply.buttons:
            if number:
                payloads.append(button.payload)
                lines.append(f"{len(payloads)}. {button.title}")
            else:
                lines.append(f"· {button.title}")
        texts += _with_choices(reply.text, lines, number)
    return texts, payloads


def render_reply(reply: Reply) -> list[str]:
    """A reply sent outside a turn (a notification): its buttons named, not numbered — a digit the
    parent sends next answers the last turn's choices, not these."""
    return _with_choices(reply.text, [f"· {button.title}" for button in reply.buttons], False)


def _with_choices(text: str, lines: list[str], number: bool) -> list[str]:
    pieces = split_text(text)
    if lines:
        head = CHOOSE if number else "您也可以直接发送："
        choices = "\n".join([head, *lines])
        if _size(pieces[-1]) + _size(choices) + 2 <= MAX_BYTES:
            pieces[-1] = f"{pieces[-1]}\n\n{choices}" if pieces[-1] else choices
        else:
            pieces += split_text(choices)
    return pieces


def choice(text: str | None, payloads: list[str]) -> str | None:
    """The payload a digit picks ("2", "２", " 2 "), or None when the text is no such digit."""
    if not text or not payloads:
        return None
    digits = unicodedata.normalize("NFKC", text).strip().rstrip("。.")
    if digits.isascii() and digits.isdigit() and 0 < int(digits) <= len(payloads):
        return payloads[int(digits) - 1]
    return None
