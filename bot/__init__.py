"""Channels (REST webhook, web chat, Telegram) and the dialogue engine."""

from bot.engine import DialogueEngine
from bot.replies import Reply

__all__ = ["DialogueEngine", "Reply"]
