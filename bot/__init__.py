"""Channels (REST webhook, web chat, Telegram) and the dialogue engine."""

from bot.engine import DialogueEngine, Reply

__all__ = ["DialogueEngine", "Reply"]
