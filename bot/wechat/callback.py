"""``GET/POST /wechat/callback``: WeChat's server verification and its callbacks.

Every request carries ``signature`` (SHA-1 of the sorted token, timestamp and nonce), checked with
wechatpy's ``check_signature``; a timestamp further than ``replay_window`` seconds from now is
refused too, so a recorded request cannot be replayed later (within the window a replayed message is
one already processed: its MsgId is recorded, ``bot/wechat/channel.py``). Both refusals are 403.

``GET`` answers the verification WeChat makes when the server URL is saved (``echostr`` back).
``POST`` bodies are read up to ``max_body_bytes`` (413 past it); XML with a DOCTYPE is refused
(WeChat never sends one; it is how entity tricks begin). In safe mode (``encoding_aes_key`` set) the
body must be encrypted (``encrypt_type=aes``): ``WeChatCrypto`` checks ``msg_signature`` and decrypts
it, and the passive reply is encrypted the same way. The message is parsed by
``wechatpy.parse_message`` and handed to the channel, whose answer is the passive reply, or
"success" (nothing now; anything later comes through the customer-service API).

Like the Telegram webhook, a plain ASGI middleware in front of the app: parents' messages skip the
router, the staff pages' middlewares and the generic body cap.
"""

from __future__ import annotations

import logging
import secrets
import time
from urllib.parse import parse_qs

from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

from bot.http import read_capped

log = logging.getLogger(__name__)
PATH = "/wechat/callback"
SUCCESS = b"success"


class Refused(Exception):
    """Not WeChat, or not now: 403."""


class WeChatCallback:
    """ASGI middleware: serves ``/wechat/callback`` itself, passes everything else on."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] not in ("GET", "POST"):
            await self.app(scope, receive, send)
            return
        status, body, content_type = await self._handle(scope, receive)
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _handle(self, scope, receive) -> tuple[int, bytes, bytes]:
        channel = getattr(scope["app"].state, "wechat", None)  # Starlette puts the app in the scope
        if channel is None:
            return 404, b"WeChat channel is not enabled", b"text/plain"
        query = {name: values[0] for name, values in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}
        try:
            verify(channel.config, query)
        except Refused as exc:
            client = scope.get("client")
            log.warning("WeChat callback refused (%s) from %s", exc, client[0] if client else "?")
            return 403, b"forbidden", b"text/plain"
        if scope["method"] == "GET":
            return 200, query.get("echostr", "").encode(), b"text/plain"
        body = await read_capped(receive, channel.config.max_body_bytes)
        if body is None:
            return 413, b"too large", b"text/plain"
        try:
            message = open_message(channel.crypto, body, query)
        except Refused as exc:
            log.warning("WeChat callback refused: %s", exc)
            return 403, b"forbidden", b"text/plain"
        except ValueError as exc:
            log.warning("WeChat callback: malformed (%s)", exc)
            return 400, b"malformed", b"text/plain"
        answer = await channel.receive(message)
        if not answer:
            return 200, SUCCESS, b"text/plain"
        return 200, passive_reply(channel.crypto, answer, message).encode("utf-8"), b"application/xml"


def verify(config, query: dict[str, str], now: float | None = None) -> None:
    """Raises ``Refused`` unless the request is signed with our token and its timestamp is recent."""
    signature, timestamp, nonce = (query.get(name, "") for name in ("signature", "timestamp", "nonce"))
    if not (signature and timestamp and nonce):
        raise Refused("unsigned")
    try:
        check_signature(config.token.get_secret_value(), signature, timestamp, nonce)
    except InvalidSignatureException:
        raise Refused("wrong signature") from None
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        raise Refused("timestamp is no number") from None
    if age > config.replay_window:
        raise Refused(f"timestamp {age:.0f} s away from now")


def open_message(crypto: WeChatCrypto | None, body: bytes, query: dict[str, str]):
    """The parsed message (wechatpy's class for its type); ``Refused`` for an encryption that does
    not check out, ``ValueError`` for anything that is not a WeChat message."""
    encrypted = query.get("encrypt_type", "raw").lower() == "aes"
    if crypto is not None and not encrypted:
        raise Refused("plaintext callback while safe mode is configured")
    if encrypted and crypto is None:
        raise ValueError("encrypted callback, but no TONGBAN_WECHAT__ENCODING_AES_KEY is set")
    _no_doctype(body)
    xml: bytes | str = body
    if crypto is not None:
        try:
            xml = crypto.decrypt_message(body, query.get("msg_signature", ""), query["timestamp"], query["nonce"])
        except (InvalidSignatureException, InvalidAppIdException) as exc:
            raise Refused(f"encrypted body: {type(exc).__name__}") from None
        except Exception as exc:  # noqa: BLE001 - XML, base64, padding: all mean "not ours"
            raise ValueError(f"cannot decrypt: {type(exc).__name__}") from None
        _no_doctype(xml.encode("utf-8"))
    try:
        message = parse_message(xml)
    except Exception as exc:  # noqa: BLE001 - xmltodict and a missing MsgType raise various errors
        raise ValueError(f"cannot parse: {type(exc).__name__}") from None
    if message is None or not message.source:
        raise ValueError("no message")
    return message


def _no_doctype(body: bytes) -> None:
    if b"<!doctype" in body.lower() or b"<!entity" in body.lower():
        raise ValueError("XML with a DOCTYPE")


def passive_reply(crypto: WeChatCrypto | None, text: str, message) -> str:
    """A text reply to ``message`` as WeChat wants it back (encrypted in safe mode)."""
    xml = create_reply(text.replace("]]>", "]] >"), message=message, render=True)  # the text sits in CDATA
    if crypto is None:
        return xml
    return crypto.encrypt_message(xml, secrets.token_hex(8), str(int(time.time())))


def build_crypto(config) -> WeChatCrypto | None:
    """Safe mode's crypto when ``encoding_aes_key`` is set (43 characters, as the console shows it)."""
    key = config.encoding_aes_key.get_secret_value().strip()
    if not key:
        return None
    if len(key) != 43:
        raise ValueError("TONGBAN_WECHAT__ENCODING_AES_KEY must be the 43 characters the console shows")
    return WeChatCrypto(config.token.get_secret_value(), key, config.app_id)
