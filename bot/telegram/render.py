"""Replies as Telegram messages: HTML-escaped text split under the 4096-character limit at
sentence boundaries, buttons as inline keyboards with callback data of at most 64 bytes."""

from __future__ import annotations

import hashlib
import html

from bot import channel
from ledger.reply import Button, Reply

MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64
BUTTONS_PER_ROW = 2
KEY_PREFIX = "k:"


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most ``limit`` characters (``bot.channel.split_text``)."""
    return channel.split_text(text, limit)


def callback_data(payload: str) -> tuple[str, str | None]:
    """(data, key): the payload itself when it fits in 64 bytes, else a short key to look up."""
    if len(payload.encode("utf-8")) <= MAX_CALLBACK_BYTES and not payload.startswith(KEY_PREFIX):
        return payload, None
    key = KEY_PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]
    return key, key


def keyboard(buttons: list[Button]) -> tuple[dict | None, dict[str, str]]:
    """An ``InlineKeyboardMarkup`` as Bot API JSON, and the long payloads behind short keys."""
    if not buttons:
        return None, {}
    rows: list[list[dict]] = []
    long_payloads: dict[str, str] = {}
    for index, item in enumerate(buttons):
        data, key = callback_data(item.payload)
        if key:
            long_payloads[key] = item.payload
        if index % BUTTONS_PER_ROW == 0:
            rows.append([])
        rows[-1].append({"text": item.title[:64], "callback_data": data})
    return {"inline_keyboard": rows}, long_payloads


def render(reply: Reply) -> tuple[list[dict], dict[str, str]]:
    """Send operations for one reply (the keyboard on its last piece) and the long payloads.

    The limit applies to the text Telegram shows, so pieces are cut before escaping.
    """
    markup, long_payloads = keyboard(reply.buttons)
    pieces = split_text(reply.text)
    ops = [{"op": "send", "text": html.escape(piece, quote=False), "parse_mode": "HTML"} for piece in pieces]
    if markup:
        ops[-1]["reply_markup"] = markup
    return ops, long_payloads
