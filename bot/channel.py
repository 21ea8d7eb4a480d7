"""What a channel is: a way parents reach Tongban (the REST channel and its web chat, Telegram).

A channel turns its platform's messages into turns of the dialogue engine
(``engine.handle(sender, text, metadata, channel=its name, hook=its TurnHook)``) and renders the
channel-neutral replies (``ledger.reply.Reply``) for its platform; it declares what it can do. The
composition root installs and starts each channel it lists (``tongban/channels.py``) — adding one is
a new folder of ``bot/`` and a line there (docs/architecture.md, "How to add a channel").
"""

from __future__ import annotations

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
