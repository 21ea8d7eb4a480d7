"""The Telegram channel (python-telegram-bot v22): polling or webhooks, outbox delivery."""

from bot.telegram.channel import TelegramChannel, build_application, build_channel, secret_token

__all__ = ["TelegramChannel", "build_application", "build_channel", "secret_token"]
