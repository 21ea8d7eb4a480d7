"""The Telegram channel: python-telegram-bot in front of the dialogue engine.

``build_channel(runtime)`` makes the ``Application`` (one function, from settings), its
handlers, the per-chat ordered update processor and the outbox delivery. Polling and webhook
modes share everything; in webhook mode ``bot/telegram/webhook.py`` feeds updates in and
answers Telegram only after the turn has committed, so a crash means a redelivery, and a
redelivery of a processed update is recognised by its id and ignored.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.request import HTTPXRequest

from bot.channel import TurnHook, referral_code
from bot.telegram import render
from bot.telegram.delivery import CHANNEL, SENDER_PREFIX, Delivery
from bot.keyed_locks import KeyedLocks
from bot.telegram.locks import ChatOrderedProcessor
from bot.telegram.request import AiohttpRequest
from ledger import outbox, sentlog
from ledger.conversations import ConversationHandle
from ledger.db import insert_ignore
from ledger.models import Conversation, TelegramUpdate
from ledger.reply import Reply
from nlu import reverse_geo
from nlu.reverse_geo import reverse_geocode

log = logging.getLogger(__name__)
UPDATES = TelegramUpdate.__table__

COMMANDS = [
    ("start", "开始使用童伴"),
    ("help", "我能帮您做什么"),
    ("status", "查看申请进度"),
    ("privacy", "个人信息如何使用"),
    ("delete", "删除我的个人信息"),
    ("cancel", "取消正在进行的事项"),
]
COMMAND_TEXT = {"help": "/help", "status": "/check_status", "privacy": "/privacy",
                "delete": "/delete_data", "cancel": "/cancel"}
# what the bot cannot read yet, named for the parent (the engine says it only reads text)
MEDIA_KINDS = {"voice": "语音", "audio": "语音和音频", "video_note": "视频消息", "video": "视频", "photo": "图片",
               "sticker": "表情贴纸", "animation": "动图", "document": "文件", "poll": "投票"}
MAX_BUTTON_KEYS = 200  # long button payloads remembered per conversation


def secret_token(settings) -> str:
    """The webhook secret: configured, or derived from the bot token (1-256 chars of A-Za-z0-9_-)."""
    configured = settings.telegram.secret_token.get_secret_value()
    if configured:
        return configured
    token = settings.telegram.token.get_secret_value()
    return hashlib.sha256(f"tongban-webhook:{token}".encode()).hexdigest()


@dataclass
class Incoming:
    """What an update means for the engine."""

    text: str | None = None
    metadata: dict = field(default_factory=dict)
    callback_message_id: int | None = None


class TelegramHook(TurnHook):
    """Inside the turn's transaction: claim the update id; put the replies in the outbox."""

    def __init__(self, channel: "TelegramChannel", update_id: int, incoming: Incoming):
        self.channel = channel
        self.update_id = update_id
        self.incoming = incoming
        self.conversation_id: int | None = None
        self.duplicate = False
        self.ready: list[outbox.Outgoing] | None = None  # this turn's replies, when nothing older waits

    def begin(self, convo: ConversationHandle) -> bool:
        """Claim the update id; a processed update is skipped. Two workers racing on one update:
        on PostgreSQL the second insert waits for the first transaction and then finds the id
        (on SQLite the write lock orders them); the claim rolls back with a failed turn."""
        self.conversation_id = convo.id
        self.ready = None  # a replayed turn starts afresh
        self.duplicate = not insert_ignore(convo.session.connection(), UPDATES, ["bot_id", "update_id"],
                                           bot_id=self.channel.bot_id, update_id=self.update_id,
                                           processed_at=dt.datetime.now(dt.timezone.utc))
        return not self.duplicate

    def rewrite(self, convo: ConversationHandle, text: str | None) -> str | None:
        """A pressed button whose payload was too long for Telegram carries a key instead."""
        if text and text.startswith(render.KEY_PREFIX):
            return convo.state.get("tg_buttons", {}).get(text, "")
        return text

    def finish(self, convo: ConversationHandle, replies: list[Reply]) -> None:
        ops: list[dict] = []
        if self.incoming.callback_message_id is not None:  # the pressed keyboard is used up
            ops.append({"op": "edit_markup", "message_id": self.incoming.callback_message_id})
        keys = convo.state.get("tg_buttons", {})
        for reply in replies:
            reply_ops, long_payloads = render.render(reply)
            ops += reply_ops
            keys.update(long_payloads)
        if keys:
            convo.state["tg_buttons"] = dict(list(keys.items())[-MAX_BUTTON_KEYS:])
        # Something older still waiting (Telegram was down, another worker is sending): these wait
        # behind it as pending rows, for whoever delivers the older ones; else this worker sends
        # them straight after the commit. Rows this worker sent and records in its next batch are
        # delivered, not waiting (read before the count: once out of that list, they are recorded).
        self.ready = outbox.enqueue_replies(session=convo.session, cipher=self.channel.cipher,
                                            conversation_id=convo.id, sender=convo.sender, channel=CHANNEL,
                                            payloads=ops, worker=self.channel.delivery.worker,
                                            delivered=self.channel.delivery.unrecorded(convo.id))


class TelegramChannel:
    def __init__(self, runtime, application: Application, locks: KeyedLocks):
        self.runtime = runtime
        self.settings = runtime.settings
        self.engine = runtime.engine
        self.cipher = runtime.cipher
        self.application = application
        self.locks = locks
        self.delivery = Delivery(bot=application.bot, db=runtime.db, cipher=runtime.cipher, locks=locks,
                                 max_inline_wait=self.settings.telegram.max_inline_retry_after,
                                 log_folder=sentlog.folder_of(self.settings.data_dir))
        self.failed_updates: set[int] = set()
        self.processed = 0
        self.duplicates = 0
        self._stop = asyncio.Event()
        self._sweeper: asyncio.Task | None = None

        application.add_handler(TypeHandler(Update, self.on_update))
        application.add_error_handler(self.on_error)

    @property
    def bot_id(self) -> int:
        return self.application.bot.id

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self, *, webhook_url: str | None = None, polling: bool = False,
                    poll_interval: float = 0.0, poll_timeout: int = 10) -> None:
        """Initialise, register the commands, and start receiving (webhook or polling)."""
        app = self.application
        # the district polygons load here, in a thread, not on the event loop at the first location
        await asyncio.to_thread(reverse_geo.warm_up)
        await app.initialize()
        if self.settings.telegram.set_commands:
            await self.register_commands()
        if webhook_url:
            await app.bot.set_webhook(url=webhook_url, secret_token=secret_token(self.settings),
                                      allowed_updates=Update.ALL_TYPES,
                                      max_connections=min(100, self.settings.telegram.max_concurrent_updates))
        await app.start()
        if polling:
            await app.bot.delete_webhook()
            await app.updater.start_polling(poll_interval=poll_interval, timeout=poll_timeout,
                                            allowed_updates=Update.ALL_TYPES)
        self._stop.clear()
        self._sweeper = asyncio.create_task(
            self.delivery.run_forever(self.settings.telegram.outbox_interval, self._stop), name="outbox-sweeper")

        log.info("Telegram channel started (%s) as @%s", "webhook" if webhook_url else "polling" if polling
                 else "manual", app.bot.username)

    async def stop(self) -> None:
        app = self.application
        self._stop.set()
        if self._sweeper is not None:
            await self._sweeper
            self._sweeper = None

        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        recorded = await self.delivery.flush()  # what was sent is recorded before the process goes
        self.delivery.close(recorded=recorded)
        await app.shutdown()

    async def register_commands(self) -> None:
        commands = [BotCommand(name, description) for name, description in COMMANDS]
        await self.application.bot.set_my_commands(commands)
        await self.application.bot.set_my_commands(commands, language_code="zh")

    # --- updates ------------------------------------------------------------------------
    async def process(self, update: Update) -> bool:
        """Webhook entry: process under the chat's lock; False if it failed (Telegram retries)."""
        self.failed_updates.discard(update.update_id)
        await self.application.update_processor.process_update(update, self.application.process_update(update))
        return update.update_id not in self.failed_updates

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await self._on_update(update)
        except Exception:
            self.failed_updates.add(update.update_id)
            raise

    async def _on_update(self, update: Update) -> None:
        chat = update.effective_chat
        if chat is None or chat.type != "private":
            return  # groups and channels are not served: families talk to the bot one to one
        if update.my_chat_member is not None:
            await asyncio.to_thread(self._membership, chat.id, update.my_chat_member.new_chat_member.status)
            return
        if update.callback_query is not None:
            try:
                await update.callback_query.answer()
            except TelegramError as exc:  # an old button: still process the press
                log.info("could not answer callback query: %s", exc)
        incoming = self.translate(update)
        if incoming is None:
            return
        hook = TelegramHook(self, update.update_id, incoming)
        await asyncio.to_thread(self._turn, f"{SENDER_PREFIX}{chat.id}", incoming, hook)
        if hook.duplicate:
            self.duplicates += 1
            return
        self.processed += 1
        if hook.conversation_id is not None:
            await self.delivery.deliver(hook.conversation_id, chat.id, locked=True, rows=hook.ready,
                                        wait_recorded=True)

    def _turn(self, sender: str, incoming: Incoming, hook: TelegramHook) -> None:
        try:
            self.engine.handle(sender, incoming.text, incoming.metadata, CHANNEL, hook)
        except IntegrityError:
            with self.runtime.db.session() as session:
                if not self.seen(session, hook.update_id):
                    raise  # some other conflict: the update fails and Telegram retries it
            hook.duplicate = True  # another worker processed it in the same moment

    def seen(self, session, update_id: int) -> bool:
        return session.scalar(select(TelegramUpdate.update_id).where(
            TelegramUpdate.bot_id == self.bot_id, TelegramUpdate.update_id == update_id)) is not None

    def translate(self, update: Update) -> Incoming | None:
        """Text, commands, button presses, locations, contacts and media → engine input."""
        if update.callback_query is not None:
            query = update.callback_query
            message_id = query.message.message_id if query.message is not None else None
            return Incoming(text=query.data or "", callback_message_id=message_id)
        message = update.message
        if message is None:
            return None  # edited messages, reactions...: nothing to answer
        if message.text is not None:
            text = message.text
            if text.startswith("/"):
                command, _, payload = text[1:].partition(" ")
                command = command.split("@", 1)[0].lower()
                if command == "start":
                    return Incoming(metadata={"event": {"type": "start", "referral": referral_code(payload)}})
                if command in COMMAND_TEXT:
                    return Incoming(text=COMMAND_TEXT[command])
            return Incoming(text=text)
        if message.location is not None:
            found = reverse_geocode(message.location.latitude, message.location.longitude)
            return Incoming(metadata={"event": {"type": "location", "locality": found.code if found else None}})
        if message.contact is not None:
            return Incoming(metadata={"event": {"type": "contact", "phone": message.contact.phone_number}})
        what = next((name for kind, name in MEDIA_KINDS.items() if getattr(message, kind, None)), None)
        return Incoming(metadata={"event": {"type": "unsupported", "what": what}})

    def _membership(self, chat_id: int, status: str) -> None:
        """Telegram tells us when a parent blocks (kicked) or unblocks (member) the bot."""
        key = self.engine.store.sender_hash(f"{SENDER_PREFIX}{chat_id}")
        with self.runtime.db.session() as session:
            row = session.scalar(select(Conversation).where(Conversation.sender_hash == key))
            if row is None:
                return
            if status == "kicked":
                outbox.mark_blocked(session=session, conversation_id=row.id)
            elif status == "member":
                row.blocked_at = None

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("Telegram update failed: %s", context.error, exc_info=context.error)


def build_application(settings) -> tuple[Application, KeyedLocks]:
    """The python-telegram-bot Application, from settings (token, base URLs, pool, concurrency)."""
    config = settings.telegram
    token = config.token.get_secret_value()
    if not token:
        raise ValueError("TONGBAN_TELEGRAM__TOKEN is not set")
    locks = KeyedLocks()
    request = AiohttpRequest(connection_pool_size=config.connection_pool_size, connect_timeout=config.request_timeout,
                             read_timeout=config.request_timeout, write_timeout=config.request_timeout,
                             pool_timeout=config.request_timeout)
    polling_request = HTTPXRequest(connection_pool_size=2, read_timeout=config.request_timeout + 30)
    builder: ApplicationBuilder = (
        Application.builder()
        .token(token)
        .base_url(config.base_url)
        .base_file_url(config.base_file_url)
        .request(request)
        .get_updates_request(polling_request)
        .concurrent_updates(ChatOrderedProcessor(config.max_concurrent_updates, locks))
    )
    return builder.build(), locks


def build_channel(runtime) -> TelegramChannel:
    application, locks = build_application(runtime.settings)
    return TelegramChannel(runtime, application, locks)
