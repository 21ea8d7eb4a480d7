"""What a channel is: a way parents reach Tongban (the REST channel and its web chat, Telegram, WeChat).

A channel turns its platform's messages into turns of the dialogue engine
(``engine.handle(sender, text, metadata, channel=its name, hook=its TurnHook)``) and renders the
channel-neutral replies (``ledger.reply.Reply``) for its platform; it declares what it can do. The
composition root installs and starts each channel it lists (``tongban/channels.py``) — adding one is
a new folder of ``bot/`` and a line there (docs/architecture.md, "How to add a channel").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ledger.conversations import ConversationHandle
from ledger.reply import Reply


@dataclass(frozen=True)
class Capabilities:
    push: bool  # delivers a message the parent did not ask for, later (a request's new status)
    buttons: bool  # shows a reply's buttons, and sends a pressed one's payload back
    location: bool  # lets a parent share a location (the engine's "location" event)


@runtime_checkable
class Channel(Protocol):
    name: str  # stored with each conversation the channel opens; only it may continue them
    title: str  # how the staff pages name it (a request's or a conversation's channel)
    can: Capabilities

    def install(self, app) -> None:
        """Its routes, or an ASGI middleware in front of the app, when the app is built."""

    async def start(self, app, runtime) -> None:
        """At the app's start-up: whatever runs beside its routes (polling, the outbox's delivery)."""

    async def stop(self, app) -> None:
        """At shutdown."""


class TurnHook:
    """A channel's bookkeeping inside the turn's transaction (see ``bot/telegram``)."""

    def begin(self, convo: ConversationHandle) -> bool:
        """Before the turn; False skips it (e.g. an update already processed)."""
        return True

    def rewrite(self, convo: ConversationHandle, text: str) -> str:
        """The message text as the engine should read it (e.g. a button key looked up)."""
        return text

    def finish(self, convo: ConversationHandle, replies: list[Reply]) -> None:
        """After the turn, before commit (e.g. put the replies in the outbox)."""


def referral_code(payload: str | None) -> str | None:
    """The committee's code a referral carries (a Telegram deep link's start payload, a WeChat QR
    code's scene), or None when it is not one: up to 64 ASCII letters, digits, ``_`` and ``-``."""
    payload = (payload or "").strip()
    if payload and len(payload) <= 64 and payload.isascii() and all(c.isalnum() or c in "_-" for c in payload):
        return payload
    return None


# Where a long text is cut: after a line end, else a sentence end, else a clause break, else anywhere.
_BREAKS = (re.compile(r"\n"), re.compile(r"[。！？!?；;](?:[”’」』）)])?"), re.compile(r"[，,、：: ]"))


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """``text`` in pieces of at most ``limit`` as the platform counts (``measure``: characters for
    Telegram, UTF-8 bytes for WeChat), each cut at the best break that leaves it at least a third of
    what would fit."""
    pieces: list[str] = []
    rest = text.strip()
    while measure(rest) > limit:
        window = _longest_start(rest, limit, measure)
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


def _longest_start(text: str, limit: int, measure: Callable[[str], int]) -> str:
    size = 0
    for index, char in enumerate(text):
        size += measure(char)
        if size > limit:
            return text[:index]
    return text
