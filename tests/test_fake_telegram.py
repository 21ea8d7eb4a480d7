"""The fake Telegram Bot API server, exercised with the real python-telegram-bot."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import telegram
from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fake_telegram import MEDIA_KINDS, FakeTelegram

TOKEN = "123456:TEST-TOKEN"
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("是", callback_data="confirm:yes"),
                                  InlineKeyboardButton("否", callback_data="confirm:no")]])


@pytest.fixture
def fake():
    with FakeTelegram(token=TOKEN) as server:
        yield server


def make_bot(fake: FakeTelegram, token: str = TOKEN) -> telegram.Bot:
    return telegram.Bot(token, base_url=fake.base_url, base_file_url=fake.base_file_url)


def api(fake: FakeTelegram, call, token: str = TOKEN):
    """Run one coroutine ``call(bot)`` with a fresh, initialised PTB Bot."""
    async def main():
        async with make_bot(fake, token) as bot:
            return await call(bot)
    return asyncio.run(main())


def seconds(value) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else value


# ------------------------------------------------------------------------ basics


def test_get_me_tokens_and_unknown_methods(fake):
    me = api(fake, lambda bot: bot.get_me())
    assert me.is_bot and me.id == 123456 and me.username == "tongban_test_bot"
    assert fake.start() is fake  # idempotent

    with pytest.raises(InvalidToken):
        api(fake, lambda bot: bot.get_me(), token="654321:WRONG")

    async def unknown(bot):
        return await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": 1})
    with pytest.raises(EndPointNotFound):
        api(fake, unknown)

    with httpx.Client(base_url=fake.url, trust_env=False) as client:
        reply = client.post(f"/bot{TOKEN}/sendTelepathy", json={})
        assert reply.status_code == 404
        assert reply.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        reply = client.post("/bot654321:WRONG/getMe")
        assert (reply.status_code, reply.json()["description"]) == (401, "Unauthorized")
        # GET with a query string, and a case-insensitive method name, work like Telegram
        assert client.get(f"/bot{TOKEN}/getme").json()["result"]["id"] == 123456
        # JSON bodies are accepted too, with reply_markup as an object or a JSON string
        markup = {"inline_keyboard": [[{"text": "好", "callback_data": "ok"}]]}
        reply = client.post(f"/bot{TOKEN}/sendMessage", json={
            "chat_id": "77", "text": "json", "reply_markup": json.dumps(markup)})
        assert reply.json()["result"]["reply_markup"] == markup
    assert fake.sent(77)[0]["reply_markup"] == markup
    assert fake.sent(77)[0]["chat_id"] == 77
    assert [c["status"] for c in fake.calls("getMe")][-1] == 200


def test_send_edit_and_answer_callback(fake):
    chat = 1001

    async def scenario(bot):
        sent = await bot.send_message(chat, "请确认：", reply_markup=KEYBOARD)
        assert sent.message_id == 1 and sent.chat.type == "private" and sent.from_user.is_bot
        assert sent.reply_markup == KEYBOARD
        second = await bot.send_message(chat, "第二条")
        assert second.message_id == 2

        fake.push(fake.callback_update(chat, data="confirm:yes", message_id=sent.message_id))
        (update,) = await bot.get_updates(timeout=2)
        query = update.callback_query
        assert query.data == "confirm:yes" and query.message.message_id == 1
        assert query.message.reply_markup == KEYBOARD and query.from_user.id == chat
        assert await bot.answer_callback_query(query.id, text="已确认")
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await bot.answer_callback_query(query.id)  # answering twice is an error

        edited = await bot.edit_message_reply_markup(chat, sent.message_id, reply_markup=None)
        assert edited.reply_markup is None and edited.text == "请确认："
        with pytest.raises(BadRequest, match="(?i)message is not modified"):
            await bot.edit_message_reply_markup(chat, sent.message_id, reply_markup=None)
        edited = await bot.edit_message_text("已确认 ✅", chat, sent.message_id)
        assert edited.text == "已确认 ✅" and edited.edit_date is not None
        with pytest.raises(BadRequest, match="(?i)message to edit not found"):
            await bot.edit_message_text("x", chat, 999)
        assert await bot.edit_message_text("inline", inline_message_id="AAA") is True

        # user messages share the chat's message ids
        assert fake.text_update(chat, "用户消息")["message"]["message_id"] == 3
        # a callback on an unknown message carries an inaccessible message (date 0), as
        # Telegram does; PTB 22.8 parses it as a Message with is_accessible False
        fake.push(fake.callback_update(chat, data="old", message_id=42))
        (update,) = await bot.get_updates(offset=update.update_id + 1, timeout=2)
        assert update.callback_query.message.message_id == 42
        assert not update.callback_query.message.is_accessible

    api(fake, scenario)
    sent = fake.sent(chat)
    assert [s["text"] for s in sent] == ["请确认：", "第二条"]
    assert sent[0]["reply_markup"] == KEYBOARD.to_dict() and sent[0]["parse_mode"] is None
    assert sent[0]["message_id"] == 1 and sent[1]["reply_markup"] is None
    edits = fake.edits(chat)
    assert [e["method"] for e in edits] == ["editMessageReplyMarkup", "editMessageText"]
    assert fake.message(chat, 1)["text"] == "已确认 ✅" and "reply_markup" not in fake.message(chat, 1)
    answers = fake.callback_answers()
    assert len(answers) == 1 and answers[0]["text"] == "已确认"


def test_commands(fake):
    async def scenario(bot):
        assert await bot.set_my_commands([BotCommand("start", "开始使用"),
                                          BotCommand("help", "帮助与说明")])
        assert await bot.set_my_commands([("start", "Start")], language_code="en")
        assert await bot.set_my_commands([("status", "查看办理进度")],
                                         scope=BotCommandScopeAllPrivateChats())
        got = await bot.get_my_commands()
        assert [(c.command, c.description) for c in got] == [("start", "开始使用"),
                                                             ("help", "帮助与说明")]
        assert [c.command for c in await bot.get_my_commands(language_code="en")] == ["start"]
        assert await bot.get_my_commands(language_code="fr") == ()
        with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
            await bot.set_my_commands([("Start!", "坏命令")])
        assert await bot.delete_my_commands(language_code="en")

    api(fake, scenario)
    assert fake.commands == {
        "": [{"command": "start", "description": "开始使用"},
             {"command": "help", "description": "帮助与说明"}],
        "all_private_chats": [{"command": "status", "description": "查看办理进度"}],
    }


# ------------------------------------------------------------------------ updates


def test_get_updates_parses_every_kind_of_update(fake):
    chat = 2002
    first = api(fake, lambda bot: bot.send_message(chat, "选择：", reply_markup=KEYBOARD))
    built = [
        fake.text_update(chat, "你好"),
        fake.command_update(chat, "/start", payload="invite-9"),
        fake.callback_update(chat, data="confirm:no", message_id=first.message_id),
        fake.location_update(chat, 31.2304, 121.4737),
        fake.contact_update(chat, "+8613800138000"),
        *(fake.media_update(chat, kind) for kind in MEDIA_KINDS),
    ]
    ids = [u["update_id"] for u in built]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for update in built:
        fake.push(update)

    async def scenario(bot):
        updates = await bot.get_updates(timeout=2)
        assert [u.update_id for u in updates] == ids
        text, command, callback, location, contact, *media = updates
        assert text.message.text == "你好" and text.message.from_user.first_name == "家长"
        assert text.effective_chat.id == chat and text.effective_user.id == chat
        assert command.message.text == "/start invite-9"
        assert command.message.parse_entities(["bot_command"]).popitem()[1] == "/start"
        assert callback.callback_query.data == "confirm:no"
        assert callback.callback_query.message.message_id == first.message_id
        assert location.message.location.latitude == pytest.approx(31.2304)
        assert location.message.location.longitude == pytest.approx(121.4737)
        assert contact.message.contact.phone_number == "+8613800138000"
        assert contact.message.contact.user_id == chat
        for kind, update in zip(MEDIA_KINDS, media):
            attachment = getattr(update.message, kind)
            assert attachment, kind
            assert update.message.effective_attachment == attachment
        voice = media[0].message.voice
        assert voice.mime_type == "audio/ogg"
        file = await bot.get_file(voice.file_id)
        assert bytes(await file.download_as_bytearray()) == b"fake voice bytes"

        # the offset confirms; nothing is left
        assert await bot.get_updates(offset=ids[-1] + 1, timeout=0) == ()
        return updates

    updates = api(fake, scenario)
    assert fake.pending_updates() == []
    # the same dicts round-trip through PTB's de_json directly too
    assert Update.de_json(built[0], None).message.text == "你好"
    assert updates[6].message.photo[-1].width == 800


def test_long_poll_waits_filters_and_conflicts(fake):
    async def scenario(bot):
        # nothing to get: the long poll waits (the server counts it as waiting), then ends empty
        poll = asyncio.create_task(bot.get_updates(timeout=1))
        await fake.wait_for_async(lambda: fake.waiting_polls == 1, timeout=5)
        assert not poll.done()
        assert await asyncio.wait_for(poll, 10) == ()
        assert fake.waiting_polls == 0

        # a push from another thread wakes the long poll: it answers long before its own timeout
        poll = asyncio.create_task(bot.get_updates(timeout=60))
        await fake.wait_for_async(lambda: fake.waiting_polls == 1, timeout=5)
        update = fake.text_update(3003, "醒醒")
        await asyncio.to_thread(fake.push, update)
        (got,) = await asyncio.wait_for(poll, 10)
        assert got.message.text == "醒醒"
        offset = got.update_id + 1

        # limit
        for text in ("一", "二", "三"):
            fake.push(fake.text_update(3003, text))
        batch = await bot.get_updates(offset=offset, limit=2)
        assert [u.message.text for u in batch] == ["一", "二"]
        (got,) = await bot.get_updates(offset=batch[-1].update_id + 1)
        assert got.message.text == "三"
        offset = got.update_id + 1

        # allowed_updates filters (and drops) other update types
        fake.push(fake.text_update(3003, "被过滤"))
        fake.push(fake.callback_update(3003, data="x"))
        (got,) = await bot.get_updates(offset=offset, timeout=1, allowed_updates=["callback_query"])
        assert got.callback_query.data == "x"
        offset = got.update_id + 1

        # a second long poll terminates the first one with 409, as Telegram does
        async with make_bot(fake) as other:
            first = asyncio.create_task(bot.get_updates(offset=offset, timeout=10))
            await fake.wait_for_async(lambda: fake.waiting_polls == 1, timeout=5)
            second = asyncio.create_task(other.get_updates(offset=offset, timeout=1))
            with pytest.raises(Conflict, match="(?i)terminated by other getUpdates"):
                await first
            assert await second == ()

    api(fake, scenario)


def test_webhook(fake):
    receiver = WebhookReceiver(secret="s3cret-token").start()
    try:
        async def set_hook(bot):
            assert await bot.set_webhook(receiver.url, secret_token="s3cret-token",
                                         allowed_updates=["message", "callback_query"],
                                         max_connections=10)
            info = await bot.get_webhook_info()
            assert info.url == receiver.url
            assert (info.pending_update_count, info.max_connections) == (0, 10)
            with pytest.raises(Conflict, match="(?i)webhook is active"):
                await bot.get_updates()
        api(fake, set_hook)
        assert fake.webhook["secret_token"] == "s3cret-token"
        assert fake.webhook["allowed_updates"] == ["message", "callback_query"]

        # push() POSTs the update with the secret header and returns the bot's status
        assert fake.push(fake.text_update(4004, "走 webhook")) == 200
        headers, body = receiver.received[-1]
        assert headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret-token"
        assert Update.de_json(json.loads(body), None).message.text == "走 webhook"
        assert fake.deliver_webhook(fake.text_update(4004, "伪造"), secret_token="wrong") == 403

        # a failed delivery is kept, reported by getWebhookInfo and redelivered
        receiver.status = 500
        assert fake.push(fake.text_update(4004, "重试我")) == 500
        info = api(fake, lambda bot: bot.get_webhook_info())
        assert info.pending_update_count == 1 and "500" in info.last_error_message
        assert fake.redeliver() == 0
        receiver.status = 200
        assert fake.redeliver() == 1
        assert json.loads(receiver.received[-1][1])["message"]["text"] == "重试我"

        # from a coroutine, apush() waits for the answer without blocking the loop
        async def from_loop():
            return await fake.apush(fake.text_update(4004, "异步"))
        assert asyncio.run(from_loop()) == 200

        # undelivered updates become available to getUpdates once the webhook is deleted
        receiver.status = 503
        assert fake.push(fake.text_update(4004, "留给轮询")) == 503

        async def delete_hook(bot):
            assert await bot.delete_webhook()
            (update,) = await bot.get_updates(timeout=1)
            await bot.get_updates(offset=update.update_id + 1)  # confirm it
            return update
        assert api(fake, delete_hook).message.text == "留给轮询"
        assert fake.webhook is None
    finally:
        receiver.stop()

    # a webhook nobody listens on: connection errors are status 0 and kept for redelivery
    api(fake, lambda bot: bot.set_webhook(receiver.url))
    assert fake.push(fake.text_update(4004, "没人接")) == 0
    assert fake.redeliver() == 0
    assert api(fake, lambda bot: bot.get_webhook_info()).pending_update_count == 1
    api(fake, lambda bot: bot.set_webhook(receiver.url, drop_pending_updates=True))
    assert api(fake, lambda bot: bot.get_webhook_info()).pending_update_count == 0


class WebhookReceiver:
    """A tiny webhook endpoint that checks the secret header like PTB's webhook server."""

    def __init__(self, secret: str):
        self.secret = secret
        self.status = 200
        self.received: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                ok = self.headers.get("X-Telegram-Bot-Api-Secret-Token") == receiver.secret
                self.send_response(receiver.status if ok else 403)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/telegram/webhook"

    def start(self) -> WebhookReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------------------ faults


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_fault_injection(fake):
    async def scenario(bot):
        fake.fail_next("sendMessage", status=429, retry_after=3)
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(5005, "限流")
        # PTB 22.8: an int (plus a PTBDeprecationWarning) unless PTB_TIMEDELTA=true, then a
        # datetime.timedelta
        assert seconds(caught.value.retry_after) == 3
        assert (await bot.send_message(5005, "恢复")).message_id == 1

        fake.fail_next("sendMessage", status=403)
        with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
            await bot.send_message(5005, "x")

        fake.fail_next("sendMessage", status=502)
        with pytest.raises(NetworkError, match="(?i)Bad Gateway") as caught:
            await bot.send_message(5005, "x")
        assert type(caught.value) is NetworkError

        fake.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
        with pytest.raises(BadRequest, match="(?i)chat not found"):
            await bot.send_message(5005, "x")

        # only for one chat, several times
        fake.fail_next("sendMessage", status=500, chat_id=6006, times=2)
        assert await bot.send_message(5005, "别的聊天不受影响")
        for _ in range(2):
            with pytest.raises(NetworkError):
                await bot.send_message(6006, "x")
        assert await bot.send_message(6006, "第三次成功")

        # block: every send/edit to that chat is 403 until unblocked
        message = await bot.send_message(7007, "拉黑前", reply_markup=KEYBOARD)
        fake.block(7007)
        with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
            await bot.send_message(7007, "x")
        with pytest.raises(Forbidden):
            await bot.edit_message_reply_markup(7007, message.message_id, reply_markup=None)
        fake.unblock(7007)
        assert await bot.send_message(7007, "解除后")

        # a delay holds every answer back: a client that gives up first gets nothing, and the
        # server answers (and logs the call) only when the delay is over
        answered = len(fake.calls("getMe"))
        fake.set_delay(2)
        with pytest.raises(TimedOut):
            await bot.get_me(read_timeout=0.3)
        assert len(fake.calls("getMe")) == answered
        await fake.wait_for_async(lambda: len(fake.calls("getMe")) == answered + 1, timeout=10)
        fake.set_delay(0)
        assert (await bot.get_me()).username == fake.bot_user["username"]

    api(fake, scenario)
    assert fake.texts(5005) == ["恢复", "别的聊天不受影响"]
    assert fake.texts(6006) == ["第三次成功"]
    assert fake.texts(7007) == ["拉黑前", "解除后"]
    statuses = [c["status"] for c in fake.calls("sendMessage")]
    assert statuses[:6] == [429, 200, 403, 502, 400, 200]


def test_parse_mode_and_keyboard_validation(fake):
    async def scenario(bot):
        ok = await bot.send_message(8008, "<b>粗体</b> &lt;安全&gt;", parse_mode="HTML")
        assert ok.text == "粗体 <安全>"
        with pytest.raises(BadRequest, match="(?i)Can't find end tag"):
            await bot.send_message(8008, "<b>没有闭合", parse_mode="HTML")
        with pytest.raises(BadRequest, match='(?i)Unsupported start tag "br"'):
            await bot.send_message(8008, "换行<br>", parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)Character '.' is reserved"):
            await bot.send_message(8008, "费用 1.5 元", parse_mode="MarkdownV2")
        escaped = await bot.send_message(8008, "*费用* 1\\.5 元", parse_mode="MarkdownV2")
        assert escaped.text == "费用 1.5 元"
        with pytest.raises(BadRequest, match="(?i)Can't find end of Bold entity"):
            await bot.send_message(8008, "*没有闭合", parse_mode="MarkdownV2")
        with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):  # > 64 bytes of UTF-8
            await bot.send_message(8008, "按钮", reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("太长", callback_data="选择" * 11)]]))
        with pytest.raises(BadRequest, match="(?i)message text is empty"):
            await bot.send_message(8008, "")
        with pytest.raises(BadRequest, match="(?i)message is too long"):
            await bot.send_message(8008, "长" * 4097)

    api(fake, scenario)
    assert fake.texts(8008) == ["<b>粗体</b> &lt;安全&gt;", "*费用* 1\\.5 元"]


def test_outage_stop_and_restart_on_the_same_port(fake):
    port = fake.port

    async def scenario(bot):
        assert await bot.send_message(9009, "之前")
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await fake.wait_for_async(lambda: fake.waiting_polls == 1, timeout=5)

        polls = len(fake.calls("getUpdates"))
        await asyncio.to_thread(fake.stop)  # wakes the waiting long poll instead of waiting for it
        # it was answered (the server logs a call when it answers): not cut off by the shutdown
        assert [c["status"] for c in fake.calls("getUpdates")[polls:]] == [200]
        try:
            assert await poll == ()
        except NetworkError:
            pass  # the connection may close before the empty answer is read
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(9009, "宕机中")
        assert "ConnectError" in str(caught.value)

        await asyncio.to_thread(fake.start)
        assert fake.port == port
        assert (await bot.send_message(9009, "之后")).message_id == 2  # state survived

    api(fake, scenario)
    assert fake.texts(9009) == ["之前", "之后"]


def test_context_manager_releases_the_port():
    with FakeTelegram(token=TOKEN) as server:
        url = server.url
        assert httpx.get(f"{url}/bot{TOKEN}/getMe", trust_env=False).json()["ok"] is True
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/bot{TOKEN}/getMe", trust_env=False)


# ------------------------------------------------------------------------ a real Application


def test_application_polling(fake):
    chat = 4242

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(f"收到：{update.message.text}", reply_markup=KEYBOARD)

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(f"欢迎！参数：{' '.join(context.args)}")

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer("好的")
        await update.callback_query.edit_message_reply_markup(None)

    async def main():
        application = (Application.builder().token(TOKEN).base_url(fake.base_url)
                       .base_file_url(fake.base_file_url).build())
        application.add_handler(CommandHandler("start", start))
        application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
        application.add_handler(CallbackQueryHandler(button))
        async with application:
            await application.start()
            await application.updater.start_polling(poll_interval=0, timeout=1)
            try:
                fake.push(fake.command_update(chat, "/start", payload="abc"))
                await fake.wait_sent_async(chat, 1)
                fake.push(fake.text_update(chat, "你好"))
                sent = await fake.wait_sent_async(chat, 2)
                fake.push(fake.callback_update(chat, data="confirm:yes",
                                               message_id=sent[1]["message_id"]))
                await fake.wait_for_async(lambda: fake.edits(chat), timeout=10)
            finally:
                await application.updater.stop()
                await application.stop()

    asyncio.run(main())
    assert fake.texts(chat) == ["欢迎！参数：abc", "收到：你好"]
    assert fake.sent(chat)[1]["reply_markup"] == KEYBOARD.to_dict()
    assert fake.callback_answers()[0]["text"] == "好的"
    assert fake.message(chat, fake.sent(chat)[1]["message_id"]).get("reply_markup") is None
    assert fake.pending_updates() == []  # the updater confirmed everything on shutdown
    assert fake.calls("deleteWebhook")  # start_polling clears any webhook first
