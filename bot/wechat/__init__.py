"""The WeChat Official Account channel (服务号, wechatpy): callbacks, passive replies, customer-service
messages from the outbox (docs/wechat.md)."""

from __future__ import annotations

from bot.channel import Capabilities
from bot.wechat.callback import PATH, WeChatCallback
from bot.wechat.channel import WeChatChannel
from bot.wechat.delivery import CHANNEL
from bot.wechat.qrcodes import CommitteeQrCodes

__all__ = ["PATH", "WeChat", "WeChatChannel"]


class WeChat:
    """The channel as the composition root installs it: the callback in front of the app; at start,
    when an account is configured (``TONGBAN_WECHAT__APP_ID`` and ``__TOKEN``), the channel itself.
    WeChat text has no buttons: a reply's buttons are numbered choices a digit picks, and in
    customer-service messages a menu message (msgmenu) whose tapped item comes back. The staff pages
    find the committees' QR codes (``CommitteeQrCodes``) at ``app.state.wechat_qrcodes`` while an
    account is configured (None otherwise)."""

    name = CHANNEL
    title = "微信公众号"
    can = Capabilities(push=True, buttons=True, location=True)

    def install(self, app) -> None:
        app.add_middleware(WeChatCallback)  # an ASGI middleware: install it after the app's own ones

    async def start(self, app, runtime) -> None:
        app.state.wechat = None  # the callback answers 404 while no account is configured
        app.state.wechat_qrcodes = None
        if not runtime.settings.wechat.enabled:
            return
        channel = WeChatChannel(runtime)
        await channel.start()
        app.state.wechat = channel
        app.state.wechat_qrcodes = CommitteeQrCodes(api=channel.api, db=runtime.db)

    async def stop(self, app) -> None:
        if getattr(app.state, "wechat", None) is not None:
            await app.state.wechat.stop()
