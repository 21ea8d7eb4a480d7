"""The channels parents reach Tongban by, one line each (docs/architecture.md, "How to add a channel")."""

from __future__ import annotations

from bot.channel import Channel
from bot.rest import Rest
from bot.telegram import Telegram
from bot.wechat import WeChat
from ledger import outbox

CHANNELS: tuple[Channel, ...] = (
    Rest(),  # the Rasa-compatible REST channel and the web chat
    Telegram(),  # runs when TONGBAN_TELEGRAM__TOKEN is set
    WeChat(),  # runs when TONGBAN_WECHAT__APP_ID and __TOKEN are set
)


def declare_push(channels: tuple[Channel, ...] = CHANNELS) -> None:
    """Tell the ledger which channels deliver a message later, unasked: the casework queues the
    parents' notifications for their conversations only (``ledger.outbox.delivers_later``)."""
    for channel in channels:
        if channel.can.push:
            outbox.delivers_later(channel.name)
