"""Per-chat ordering of Telegram updates, on the per-key locks of ``bot/keyed_locks.py``."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.keyed_locks import KeyedLocks


def chat_key(update: object) -> Any:
    if isinstance(update, Update) and update.effective_chat is not None:
        return update.effective_chat.id
    return None


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Updates of one chat are processed one after another, in arrival order; different chats
    run concurrently (up to ``max_concurrent_updates``)."""

    def __init__(self, max_concurrent_updates: int, locks: KeyedLocks):
        super().__init__(max_concurrent_updates)
        self.locks = locks

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        if key is None:
            await coroutine
            return
        async with self.locks.hold(key):
            await coroutine

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
