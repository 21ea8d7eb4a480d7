"""The Telegram channel through the real python-telegram-bot stack, against a fake Bot API server."""

from __future__ import annotations

import json
import re
import time

import httpx

import pytest
from sqlalchemy import func, select

from ledger.casework import change_status, find_request
from ledger.models import AssistanceRequest, Committee, Conversation, OutboxMessage, TelegramUpdate
from tests.fake_telegram import FakeTelegram
from tests.helpers import Sleeps
from tests.telegram_harness import TOKEN, RunningBot, bot_settings

FORM_ANSWERS = ["王小明", "八岁", "河南周口郸城", "两年", "李芳", "妈妈", "138 0013 8000", "1 3", "跳过"]


@pytest.fixture
def fake():
    with FakeTelegram(token=TOKEN) as server:
        yield server


def _texts(fake, chat):
    return [m["text"] for m in fake.sent(chat)]


def _unsent(runtime) -> int:
    """Outbox rows still waiting to go: what a later sweep could send."""
    with runtime.db.session() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.status.in_(("pending", "sending"))))


def _handled(runtime, update_id: int) -> bool:
    """The update's turn committed (its id is claimed) and every reply was sent and recorded."""
    with runtime.db.session() as session:
        claimed = session.scalar(select(TelegramUpdate.update_id).where(TelegramUpdate.update_id == update_id))
    return claimed is not None and _unsent(runtime) == 0


def _settled(fake, update, bot, chat, count, timeout=20.0):
    """Wait for ``count`` replies, then (given the bot) until the update's turn is committed and
    every reply of it sent — only a short pause without the bot, for a multi-message reply."""
    fake.wait_sent(chat, count, timeout=timeout)
    if bot is not None:
        fake.wait_for(lambda: _handled(bot.runtime, update["update_id"]), timeout=timeout)
    else:
        time.sleep(0.05)


def _say(fake, chat, text, expect=1, timeout=20.0, bot=None):
    """Send a text (or command) update and wait for at least ``expect`` more replies."""
    before = len(fake.sent(chat))
    update = fake.command_update(chat, text.split(" ")[0], payload=text.partition(" ")[2] or None) \
        if text.startswith("/") else fake.text_update(chat, text)
    fake.push(update)
    _settled(fake, update, bot, chat, before + expect, timeout)
    return fake.sent(chat)[before:]


def _press(fake, chat, title, expect=1, bot=None):
    """Press the inline button titled ``title`` on the newest message that has it."""
    for message in reversed(fake.sent(chat)):
        markup = message.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if button["text"] == title:
                    before = len(fake.sent(chat))
                    update = fake.callback_update(chat, data=button["callback_data"],
                                                  message_id=message["message_id"])
                    fake.push(update)
                    _settled(fake, update, bot, chat, before + expect)
                    return fake.sent(chat)[before:], message["message_id"]
    raise AssertionError(f"no button {title!r} in {[m['text'][:30] for m in fake.sent(chat)]}")


def test_full_parent_journey_from_question_to_notification(backend, fake, kb, interpreter):
    """Question → cited answer → form → submission → status change → notification."""
    settings = bot_settings(backend, fake)
    chat = 5001
    with RunningBot(settings, kb, interpreter) as bot:
        with bot.runtime.db.session() as session:
            session.add(Committee(code="xixiang01", name="西乡社区居委会", locality_code="440306005001",
                                  locality_name="广东省深圳市宝安区西乡街道", created_by="admin"))
        welcome = _say(fake, chat, "/start xixiang01", expect=2)
        assert "西乡社区居委会" in welcome[0]["text"]
        answer = _say(fake, chat, "孩子在这边上小学要带什么材料")
        *lines, source = answer[0]["text"].split("\n")  # the first screen, then its source
        assert len(lines) <= 3 and sum(map(len, lines)) <= 120 and source.startswith("依据：")
        assert "详细" in str(answer[0].get("reply_markup"))
        detail, _ = _press(fake, chat, "详细")
        assert "适用对象" in detail[0]["text"] and "来源：" in detail[0]["text"]
        replies = _say(fake, chat, "我想申请帮扶", expect=2)
        assert any("同意" in str(m.get("reply_markup")) for m in replies)
        _, pressed = _press(fake, chat, "同意")
        assert fake.callback_answers(), "the button press was not answered"
        assert any(e.get("message_id") == pressed for e in fake.edits(chat)), "the used keyboard stayed"
        for answer_text in FORM_ANSWERS:
            _say(fake, chat, answer_text)
        summary = fake.sent(chat)[-1]
        assert "请核对" in summary["text"] and "王小明" in summary["text"]
        done, _ = _press(fake, chat, "确认提交")
        reference = next(t for t in done[-1]["text"].split() if t.startswith("LD-"))[:14]
        with bot.runtime.db.session() as session:
            request = session.scalar(select(AssistanceRequest))
            assert request.reference == reference and request.referral == "xixiang01"
            assert request.channel == "telegram" and request.area_code == "440306005001"
            change_status(session=session, cipher=bot.runtime.cipher, request=request, status="accepted",
                          note="符合条件，纳入台账", actor="staff:test")
        note = fake.wait_for(lambda: [m for m in fake.sent(chat) if "有新进展" in m["text"]], timeout=15)
        assert reference in note[0]["text"] and "已纳入重点关爱服务对象台账" in note[0]["text"]
        # recorded as sent; then sweeps that began after that must not send it again
        fake.wait_for(lambda: _statuses(bot) == {"sent"}, timeout=15)
        bot.wait_sweeps(2)
        assert len([m for m in fake.sent(chat) if "有新进展" in m["text"]]) == 1


def test_commands_registered_in_chinese_and_bare_start(sqlite_backend, fake, kb, interpreter):
    with RunningBot(bot_settings(sqlite_backend, fake), kb, interpreter):
        names = [c["command"] for c in fake.commands["zh"]]
        assert names == ["start", "help", "status", "privacy", "delete", "cancel"]
        assert fake.commands["zh"][2]["description"] == "查看申请进度"
        replies = _say(fake, 6001, "/start", expect=2)
        assert "住在哪个市、哪个区" in replies[-1]["text"]
        assert "个人信息" in _say(fake, 6001, "/privacy")[0]["text"]
        assert "还没有提交过申请" in _say(fake, 6001, "/status")[0]["text"]


def test_locations_contacts_and_media(sqlite_backend, fake, kb, interpreter):
    chat = 7001
    with RunningBot(bot_settings(sqlite_backend, fake), kb, interpreter):
        before = len(fake.sent(chat))
        fake.push(fake.location_update(chat, 22.5726, 113.8831))  # 宝安区西乡
        fake.wait_sent(chat, before + 1)
        assert "广东省深圳市宝安区" in fake.sent(chat)[-1]["text"]
        before = len(fake.sent(chat))
        fake.push(fake.media_update(chat, "voice"))
        fake.wait_sent(chat, before + 1)
        assert "只能看懂文字" in fake.sent(chat)[-1]["text"] and "语音" in fake.sent(chat)[-1]["text"]
        # inside the form: media gets the honest reply and the question again; a contact fills the phone
        _say(fake, chat, "我想申请帮扶", expect=2)
        _press(fake, chat, "同意")
        for answer_text in ["王小明", "八岁", "河南周口郸城", "两年", "李芳", "妈妈"]:
            _say(fake, chat, answer_text)
        asked = fake.sent(chat)[-1]["text"]
        assert "电话" in asked
        before = len(fake.sent(chat))
        fake.push(fake.media_update(chat, "photo"))
        fake.wait_sent(chat, before + 2)
        assert "图片" in fake.sent(chat)[-2]["text"] and fake.sent(chat)[-1]["text"] == asked
        before = len(fake.sent(chat))
        fake.push(fake.contact_update(chat, "+86 138 0013 8000"))
        fake.wait_sent(chat, before + 1)
        assert "困难" in fake.sent(chat)[-1]["text"] or "情况" in fake.sent(chat)[-1]["text"]


def test_a_redelivered_update_is_processed_once_and_restart_keeps_the_form(backend, fake, kb, interpreter):
    from telegram import Update

    chat = 8001
    settings = bot_settings(backend, fake)
    with RunningBot(settings, kb, interpreter) as bot:
        _say(fake, chat, "我想申请帮扶", expect=2)
        _press(fake, chat, "同意")
        update = fake.text_update(chat, "王小明")
        before = len(fake.sent(chat))
        fake.push(update)
        fake.wait_sent(chat, before + 1)
        fake.wait_for(lambda: _handled(bot.runtime, update["update_id"]), timeout=15)
        count = len(fake.sent(chat))
        # the same update again (a redelivery after a lost acknowledgement): handled when process returns
        assert bot.call(bot.channel.process(Update.de_json(update, bot.channel.application.bot))) is True
        assert bot.channel.duplicates == 1 and _unsent(bot.runtime) == 0  # nothing queued for a sweep
        bot.wait_sweeps(2)
        assert len(fake.sent(chat)) == count
        with bot.runtime.db.session() as session:
            assert session.scalar(select(TelegramUpdate).where(TelegramUpdate.update_id == update["update_id"]))
    # a new process: the conversation continues where it was
    with RunningBot(settings, kb, interpreter):
        replies = _say(fake, chat, "八岁")
        assert "户口在哪里" in replies[-1]["text"]


def test_webhook_mode_checks_the_secret_and_ignores_redeliveries(backend, fake, kb, interpreter):
    import socket

    from tests.live_server import LiveServer
    from tongban.app import create_app
    from tongban.runtime import Runtime

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = bot_settings(backend, fake, webhook_url=f"http://127.0.0.1:{port}/telegram/webhook")
    runtime = Runtime.build(settings, knowledge=kb, interpreter=interpreter)
    app = create_app(settings, runtime=runtime)
    chat = 8101
    try:
        with LiveServer(app, port=port):
            channel = app.state.telegram
            assert fake.webhook["url"].endswith("/telegram/webhook") and fake.webhook["secret_token"]
            update = fake.text_update(chat, "你好")
            refused = fake.text_update(chat, "你好")
            assert fake.deliver_webhook(update, secret_token="wrong") == 403
            assert fake.deliver_webhook(refused, secret_token=None) == 403
            # refused before the update is read: neither was taken up, nothing was queued
            assert channel.processed == channel.duplicates == 0 and _unsent(runtime) == 0
            assert fake.sent(chat) == []
            assert fake.push(update) == 200  # answered only after the reply is on its way
            replies = fake.wait_sent(chat, 1)
            assert channel.processed == 1 and _handled(runtime, update["update_id"])
            assert fake.deliver_webhook(update) == 200  # Telegram retries: acknowledged, not processed again
            assert channel.duplicates == 1 and channel.processed == 1 and _unsent(runtime) == 0
            assert len(fake.sent(chat)) == len(replies)
            assert fake.push(fake.command_update(chat, "/start", payload="nosuchcode")) == 200
            fake.wait_sent(chat, len(replies) + 2)
            # with the right secret: a body that is no update, or too large, is refused politely
            url, secret = fake.webhook["url"], {"X-Telegram-Bot-Api-Secret-Token": fake.webhook["secret_token"]}
            assert httpx.post(url, content=b"{not json", headers=secret).status_code == 400
            assert httpx.post(url, content=b"[1, 2]", headers=secret).status_code == 400
            assert httpx.post(url, content=b"x" * 1_000_001, headers=secret).status_code == 413
            assert httpx.get(url).status_code == 404  # only POST is the webhook; the rest is the app's
            assert httpx.get(url.replace("/telegram/webhook", "/healthz")).json()["status"] == "ok"
            # the chat's later updates were processed after them: the refused ones never were
            assert channel.processed == 2 and channel.duplicates == 1 and _unsent(runtime) == 0
            assert not _handled(runtime, refused["update_id"])
            assert len(fake.sent(chat)) == len(replies) + 2
    finally:
        runtime.close(stop_knowledge=False)


def test_webhook_without_a_telegram_channel_is_not_found(client):
    response = client.post("/telegram/webhook", json={"update_id": 1},
                           headers={"X-Telegram-Bot-Api-Secret-Token": "anything"})
    assert response.status_code == 404 and response.json() == {"detail": "Telegram channel is not enabled"}


def test_chats_are_ordered_and_flood_control_delays_only_its_chat(sqlite_backend, fake, kb, interpreter,
                                                                  monkeypatch):
    """A chat under flood control waits the retry_after Telegram gave; another chat is answered while
    it waits (the wait is held open here until it has been, instead of timed); the waiting chat's
    replies then go in order. (How fast replies come: bench/telegram_throughput.py.)"""
    from bot.telegram import delivery

    waits = Sleeps(held=True)
    monkeypatch.setattr(delivery, "asyncio", waits)
    slow, quick = 9001, 9002
    with RunningBot(bot_settings(sqlite_backend, fake), kb, interpreter):
        try:
            fake.fail_next("sendMessage", status=429, retry_after=2, chat_id=slow)
            for text in ("你好", "谢谢", "再见"):
                fake.push(fake.text_update(slow, text))
            waits.wait_begun(1)  # the slow chat is in its flood wait
            fake.push(fake.text_update(quick, "你好"))
            fake.wait_sent(quick, 1)  # answered during that wait
            assert waits.waits == [2.0] and fake.sent(slow) == []
        finally:
            waits.release()
        fake.wait_sent(slow, 3, timeout=20)
        assert [c["status"] for c in fake.calls("sendMessage") if c["params"]["chat_id"] == slow][:2] == [429, 200]
        texts = _texts(fake, slow)
        assert "您好" in texts[0] or "你好" in texts[0]
        assert texts.index(next(t for t in texts if "不客气" in t or "谢" in t)) < len(texts) - 1  # order kept


def test_outbox_survives_telegram_being_down_and_blocked_parents(backend, fake, kb, interpreter):
    chat, blocker = 9101, 9102
    with RunningBot(bot_settings(backend, fake), kb, interpreter) as bot:
        for who in (chat, blocker):
            _say(fake, who, "我想申请帮扶", expect=2)
            _press(fake, who, "同意")
            for answer_text in ["王小明" if who == chat else "张小红", "八岁", "河南周口郸城", "深圳宝安", "两年",
                                "李芳", "妈妈", "138 0013 8000", "1", "跳过"]:
                _say(fake, who, answer_text)
            _press(fake, who, "确认提交")
        fake.stop()  # Telegram unreachable
        with bot.runtime.db.session() as session:
            for request in session.scalars(select(AssistanceRequest)):
                change_status(session=session, cipher=bot.runtime.cipher, request=request, status="under_review",
                              note="开始审核", actor="staff:test")
        fake.block(blocker)
        fake.wait_for(lambda: _attempted(bot), timeout=20)  # every notification failed once while it is down
        with bot.runtime.db.session() as session:
            pending = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "notification")).all()
            assert len(pending) == 2 and {r.status for r in pending} <= {"pending", "sending"}
        fake.start()
        fake.wait_for(lambda: [m for m in fake.sent(chat) if "有新进展" in m["text"]], timeout=20)
        fake.wait_for(lambda: _statuses(bot) == {"sent", "blocked"}, timeout=20)
        with bot.runtime.db.session() as session:
            blocked = session.scalars(select(Conversation).where(Conversation.blocked_at.is_not(None))).all()
            assert len(blocked) == 1
        bot.wait_sweeps(2)  # sweeps that began once both were settled send neither again
        assert len([m for m in fake.sent(chat) if "有新进展" in m["text"]]) == 1
        assert [m for m in fake.sent(blocker) if "有新进展" in m["text"]] == []


def _statuses(bot) -> set[str]:
    with bot.runtime.db.session() as session:
        return set(session.scalars(select(OutboxMessage.status).where(OutboxMessage.kind == "notification")))


def _attempted(bot) -> bool:
    with bot.runtime.db.session() as session:
        attempts = session.scalars(select(OutboxMessage.attempts).where(OutboxMessage.kind == "notification")).all()
    return bool(attempts) and min(attempts) >= 1


def test_ledger_cli_changes_status(backend, fake, kb, interpreter, monkeypatch, capsys):
    chat = 9201
    settings = bot_settings(backend, fake)
    with RunningBot(settings, kb, interpreter) as bot:
        _say(fake, chat, "我想申请帮扶", expect=2)
        _press(fake, chat, "同意")
        for answer_text in ["王小明", "八岁", "河南周口郸城", "深圳宝安", "两年", "李芳", "妈妈", "138 0013 8000", "1", "跳过"]:
            _say(fake, chat, answer_text)
        _press(fake, chat, "确认提交")
        with bot.runtime.db.session() as session:
            reference = session.scalar(select(AssistanceRequest.reference))
        from tongban import cli, ledger_cli, settings as settings_module

        monkeypatch.setattr(settings_module, "get_settings", lambda: settings)
        monkeypatch.setattr(cli, "get_settings", lambda: settings)
        monkeypatch.setattr(ledger_cli, "get_settings", lambda: settings)
        assert cli.main(["ledger", "set-status", reference, "referred", "--note", "转教育局"]) == 0
        assert "已放入发送队列" in capsys.readouterr().out
        assert cli.main(["ledger", "set-status", reference, "accepted", "--note", "x"]) == 2
        assert "不能改为" in capsys.readouterr().err
        fake.wait_for(lambda: [m for m in fake.sent(chat) if "已转介" in m["text"]], timeout=15)
        with bot.runtime.db.session() as session:
            assert find_request(session=session, reference=reference).status == "referred"


def test_two_workers_share_every_conversation(backend, fake, kb, interpreter):
    """Two bot processes on one database (webhook mode sends any update to either): a form begun
    on one continues on the other, and a redelivery to the other worker is still ignored."""
    from telegram import Update

    chat = 9301
    settings = bot_settings(backend, fake)

    def deliver(bot, update):
        assert bot.call(bot.channel.process(Update.de_json(update, bot.channel.application.bot))) is True

    with RunningBot(settings, kb, interpreter, polling=False) as one, \
            RunningBot(settings, kb, interpreter, polling=False) as two:
        deliver(one, fake.text_update(chat, "我想申请帮扶"))
        fake.wait_sent(chat, 2)
        consent = fake.sent(chat)[-1]
        agree = next(b for row in consent["reply_markup"]["inline_keyboard"] for b in row if b["text"] == "同意")
        deliver(two, fake.callback_update(chat, data=agree["callback_data"], message_id=consent["message_id"]))
        fake.wait_sent(chat, 3)
        name = fake.text_update(chat, "王小明")
        deliver(one, name)
        fake.wait_sent(chat, 4)
        deliver(two, name)  # the same update again, to the other worker: handled when deliver returns
        assert two.channel.duplicates == 1 and _unsent(two.runtime) == 0  # nothing queued for a sweep
        one.wait_sweeps(2)
        two.wait_sweeps(2)
        assert len(fake.sent(chat)) == 4
        deliver(two, fake.text_update(chat, "八岁"))
        assert "户口在哪里" in fake.wait_sent(chat, 5)[-1]["text"]


def test_replies_are_recorded_before_the_update_is_acknowledged(backend, fake, kb, interpreter):
    """Telegram sends a chat's next update once the last one was acknowledged, perhaps to the
    other worker: that worker must find the earlier replies delivered and send its own at once,
    not take them for older messages still waiting and leave its replies to the sweeper."""
    from telegram import Update

    chat = 9302
    settings = bot_settings(backend, fake, outbox_interval=60.0)  # no sweeper to hide a delay

    def deliver(bot, update):
        assert bot.call(bot.channel.process(Update.de_json(update, bot.channel.application.bot))) is True

    with RunningBot(settings, kb, interpreter, polling=False) as one, \
            RunningBot(settings, kb, interpreter, polling=False) as two:
        record = one.channel.delivery._mark_sent

        def busy_database(ids):
            time.sleep(0.5)
            record(ids)

        one.channel.delivery._mark_sent = busy_database
        deliver(one, fake.text_update(chat, "你好"))
        greeted = len(fake.sent(chat))
        assert greeted >= 1  # sent before the update was acknowledged
        deliver(two, fake.text_update(chat, "谢谢"))
        assert len(fake.sent(chat)) > greeted, "the other worker left its reply to the sweeper"
        with two.runtime.db.session() as session:
            states = session.scalars(select(OutboxMessage.status)).all()
        assert states and set(states) == {"sent"}


def _claimed_replies(tmp_path, chat: int, texts: list[str], worker: str):
    """A database with one Telegram conversation whose replies ``texts`` are claimed by ``worker``
    (written in a turn, not yet sent): (db, cipher, conversation, the rows as Delivery gets them)."""
    from cryptography.fernet import Fernet

    from ledger import outbox
    from ledger.crypto import DataCipher
    from ledger.db import Database
    from tongban.settings import Settings

    db = Database(Settings(env="test", data_dir=tmp_path).database_url)
    cipher = DataCipher(Fernet.generate_key())
    payloads = [{"op": "send", "text": text} for text in texts]
    with db.session() as session:
        convo = Conversation(sender_hash="h" * 64, sender_enc=cipher.encrypt(f"telegram:{chat}"), channel="telegram",
                             state_enc=cipher.encrypt("{}"))
        session.add(convo)
        session.flush()
        ids = outbox.enqueue_many(session=session, cipher=cipher, conversation_id=convo.id, channel="telegram",
                                  kind="reply", payloads=payloads, claimed_by=worker)
    rows = [outbox.Outgoing(row_id, convo.id, f"telegram:{chat}", "reply", payload, 0)
            for row_id, payload in zip(ids, payloads)]
    return db, cipher, convo, rows


def test_sent_replies_are_recorded_while_turns_fill_the_thread_pool(tmp_path, fake):
    """Between Telegram accepting a reply and the outbox recording it as sent, a crash means the
    reply is sent again after the claim lease (bench/crash_recovery.py: two parents got their
    greeting twice after a worker was SIGKILLed). The recording must not queue behind other
    chats' turns in the event loop's shared thread pool, where under load it waited seconds:
    here other turns take every thread of that pool and keep it until the replies are recorded."""
    import asyncio
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from telegram import Bot

    from bot.telegram.delivery import Delivery
    from bot.keyed_locks import KeyedLocks

    chat = 9303
    db, cipher, convo, rows = _claimed_replies(tmp_path, chat, ["你好", "请问有什么可以帮您？"], "worker-1")
    turns_done = threading.Event()  # the other chats' turns hold the shared pool until this is set
    pool_taken: list[bool] = []  # at each recording: was the shared pool still taken?

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(4))
        async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as bot:
            delivery = Delivery(bot=bot, db=db, cipher=cipher, locks=KeyedLocks(), worker="worker-1")
            send, record = delivery._send, delivery._mark_sent

            async def send_while_turns_arrive(row):
                await send(row)
                if row.id == rows[0].id:  # other chats' turns take every thread of the shared pool
                    for _ in range(8):
                        loop.run_in_executor(None, turns_done.wait, 30)

            def noted_record(row_ids):
                pool_taken.append(not turns_done.is_set())
                record(row_ids)

            delivery._send, delivery._mark_sent = send_while_turns_arrive, noted_record
            try:
                assert await delivery.deliver(convo.id, chat, rows=rows, wait_recorded=True) == 2
            finally:
                turns_done.set()
            assert await delivery.flush()

    asyncio.run(main())
    with db.session() as session:
        assert set(session.scalars(select(OutboxMessage.status))) == {"sent"}
    db.dispose()
    assert len(fake.sent(chat)) == 2
    assert pool_taken == [True], "the sent replies were recorded only once the other turns let go of the pool"


@pytest.mark.parametrize("logged", [True, False])
def test_a_reply_sent_before_a_crash_is_not_sent_again_by_the_worker_taking_over(tmp_path, fake, logged):
    """A worker killed after Telegram accepted its replies and before the database recorded them
    (bench/crash_recovery.py: 4 second copies in 8 SIGKILLs). The worker taking over its claim
    after the lease finds them in the dead worker's sent log and records them as sent; without
    the log (workers on machines that share no data folder) they are sent again, at least once."""
    import asyncio
    import datetime as dt

    from sqlalchemy import update
    from telegram import Bot

    from bot.telegram.delivery import Delivery
    from bot.keyed_locks import KeyedLocks
    from ledger import outbox, sentlog

    chat = 9304
    folder = sentlog.folder_of(tmp_path) if logged else None
    db, cipher, convo, rows = _claimed_replies(tmp_path, chat, ["您好", "请问孩子几岁？", "later"], "host:1:dead")

    async def main() -> None:
        async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as bot:
            killed = Delivery(bot=bot, db=db, cipher=cipher, locks=KeyedLocks(), worker="host:1:dead",
                              log_folder=folder)
            killed._record_sent = lambda conversation_id, row_ids: None  # the kill: never recorded
            assert await killed._send_rows(convo.id, rows[:2]) == 2
            with db.session() as session:  # the lease runs out: nobody renews the dead worker's claims
                session.execute(update(OutboxMessage).values(
                    next_attempt_at=dt.datetime.now(dt.timezone.utc) - outbox.CLAIM_LEASE - dt.timedelta(seconds=1)))
            other = Delivery(bot=bot, db=db, cipher=cipher, locks=KeyedLocks(), worker="host:2:live",
                             log_folder=folder)
            assert await other.sweep() == (1 if logged else 3)
            assert await other.flush()

    asyncio.run(main())
    with db.session() as session:
        assert set(session.scalars(select(OutboxMessage.status))) == {"sent"}
    db.dispose()
    texts = [message["text"] for message in fake.sent(chat)]
    if logged:
        assert texts == ["您好", "请问孩子几岁？", "later"]
    else:
        assert texts == ["您好", "请问孩子几岁？", "您好", "请问孩子几岁？", "later"]


def test_the_sent_log_keeps_a_row_sent_while_another_chats_batch_commits(tmp_path):
    """A chat's delivery logs each reply as Telegram accepts it and queues the chat's replies for
    recording when it has sent them all; another chat's batch committing in between must not
    empty the log of the rows still being sent (a kill then would send them again)."""
    import asyncio

    from bot.telegram.delivery import Delivery
    from bot.keyed_locks import KeyedLocks
    from ledger import sentlog

    folder = sentlog.folder_of(tmp_path)

    async def main() -> None:
        delivery = Delivery(bot=None, db=None, cipher=None, locks=KeyedLocks(), worker="w", log_folder=folder)
        delivery._mark_sent = lambda ids: None  # the database took the batch
        delivery._log_sent(7)  # chat A: first reply accepted, its second still being sent
        delivery._log_sent(8)  # chat B: its only reply accepted and queued
        await delivery._record_sent(2, [8])
        assert sentlog.handed_over(folder, "w") == {7, 8}
        delivery._record_sent(1, [7])  # chat A done: queued
        assert await delivery.flush()
        assert sentlog.handed_over(folder, "w") == set()  # all recorded: the log is emptied

    asyncio.run(main())


def _kind(payload: str) -> str:
    """A button's kind: its intent and the names of what it carries ("/inform{"relationship": …}" →
    "inform:relationship"); a button that sends plain words is of the kind "text"."""
    match = re.fullmatch(r"/(\w+)(\{.*\})?", payload.strip(), flags=re.S)
    if not match:
        return "text"
    intent, body = match.groups()
    return ":".join([intent, *sorted(json.loads(body))]) if body else intent


def test_every_kind_of_button_works_as_a_telegram_press(fake, kb, interpreter, tmp_path):
    """The buttons the dialogues offer (tests/test_buttons.py walks them through the engine), one of
    each kind, pressed as Telegram callback queries: each press is answered, its keyboard taken away,
    and the conversation moves on (no "did not understand")."""
    from tests.test_buttons import DIALOGUES, NOT_UNDERSTOOD, _walk

    settings = bot_settings({"data_dir": tmp_path, "database": {"url": ""}}, fake)
    with RunningBot(settings, kb, interpreter) as bot:
        kinds: dict[str, tuple[list[str], str, str]] = {}
        for script in DIALOGUES.values():
            for prefix, replies in _walk(bot.runtime.engine, script):
                for button in (b for reply in replies for b in reply.buttons):
                    kinds.setdefault(_kind(button.payload), (prefix, button.title, button.payload))
        # consent and confirmations (affirm/deny), the form's choices, the menu's services, the
        # answer's details, deletion, the summary's field to fix…
        assert {"affirm", "deny", "cancel", "ask_service:category", "ask_service:detail:item"} <= set(kinds) \
            and len(kinds) >= 8, sorted(kinds)
        failures = []
        for chat, (kind, (prefix, title, payload)) in enumerate(sorted(kinds.items()), start=7001):
            for text in prefix:
                _say(fake, chat, text, bot=bot)
            answered = len(fake.callback_answers())
            replies, pressed = _press(fake, chat, title, bot=bot)
            if len(fake.callback_answers()) <= answered:
                failures.append(f"{kind} ({title}): the press was not answered")
            if not any(edit.get("message_id") == pressed for edit in fake.edits(chat)):
                failures.append(f"{kind} ({title}): its keyboard stayed")
            if any(word in reply["text"] for reply in replies for word in NOT_UNDERSTOOD):
                failures.append(f"{kind} ({title}) after {prefix[-1]!r}: {replies[0]['text'][:40]}")
            # and it said what the engine says to that button's payload after the same messages
            sender = f"same-{chat}"
            for text in prefix:
                bot.runtime.engine.handle(sender, text)
            expected = bot.runtime.engine.handle(sender, payload)[0].text
            if _first_line(replies[0]["text"]) != _first_line(expected):
                failures.append(f"{kind} ({title}): {replies[0]['text'][:40]!r} ≠ {expected[:40]!r}")
        assert not failures, "\n".join(failures)


def _first_line(text: str) -> str:
    return re.sub(r"\d", "0", text.strip().split("\n", 1)[0])

