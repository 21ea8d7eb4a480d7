"""Channels (REST webhook, web chat, Telegram) and the dialogue engine."""

from bot.engine import DialogueEngine

__all__ = ["DialogueEngine"]
