"""The Telegram channel (python-telegram-bot v22): polling or webhooks, outbox delivery."""

from __future__ import annotations

from bot.channel import Capabilities
from bot.telegram.channel import TelegramChannel, build_application, build_channel, secret_token
from bot.telegram.delivery import CHANNEL
from bot.telegram.webhook import TelegramWebhook

__all__ = ["Telegram", "TelegramChannel", "build_application", "build_channel", "secret_token"]


class Telegram:
    """The channel as the composition root installs it: the webhook in front of the app; at start,
    when a bot token is set, the bot itself — webhooks when a webhook URL is set, else polling."""

    name = CHANNEL
    title = "Telegram"
    can = Capabilities(push=True, buttons=True, location=True)

    def install(self, app) -> None:
        app.add_middleware(TelegramWebhook)  # an ASGI middleware: install it after the app's own ones

    async def start(self, app, runtime) -> None:
        app.state.telegram = None  # the webhook answers 404 while no bot runs
        config = runtime.settings.telegram
        if not config.token.get_secret_value():
            return
        channel = build_channel(runtime)
        await channel.start(webhook_url=config.webhook_url or None, polling=not config.webhook_url)
        app.state.telegram = channel
        app.state.telegram_bot_username = channel.application.bot.username

    async def stop(self, app) -> None:
        if getattr(app.state, "telegram", None) is not None:
            await app.state.telegram.stop()
