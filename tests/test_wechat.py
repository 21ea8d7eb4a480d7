"""The WeChat channel through the real app and wechatpy, against a fake WeChat API server
(tests/fake_wechat.py): parents' callbacks posted signed (and encrypted in safe mode) to
/wechat/callback, the passive replies read back, the customer-service messages read at the fake."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from ledger.models import (AssistanceRequest, Committee, Conversation, ConversationMessage, OutboxMessage,
                           WeChatMessage, WeChatToken)
from tests.fake_wechat import AES_KEY, SECRET, FakeWeChat, Parent

FORM_ANSWERS = ["王小明", "八岁", "河南周口郸城", "深圳宝安", "两年", "李芳", "妈妈", "138 0013 8000"]


def _unsent(runtime) -> int:
    with runtime.db.session() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status.in_(("pending", "sending"))))


def _channel(client):
    return client.app.state.wechat


def _settled(client, runtime) -> bool:
    """No turn under way in the channel (a turn may finish after its callback was answered), and
    nothing left in the outbox to send."""
    return _channel(client).in_flight == 0 and _unsent(runtime) == 0


def _say(parent: Parent, wechat_fake: FakeWeChat, runtime, send) -> tuple[str | None, list[str]]:
    """``send()`` one callback; its passive reply, and every message the parent got for it (the
    passive one first, then those delivered through the customer-service API)."""
    before = len(wechat_fake.texts(parent.openid))
    response = send()
    assert response.status_code == 200, response.text
    passive = parent.reply_text(response)
    wechat_fake.wait_for(lambda: _settled(parent.client, runtime))
    return passive, ([passive] if passive else []) + wechat_fake.texts(parent.openid)[before:]


# --- the callback's edge ------------------------------------------------------------------------

def test_the_server_verification_and_unsigned_stale_or_forged_callbacks(sqlite_backend, wechat_fake, wechat_app):
    client, runtime = wechat_app(sqlite_backend)
    parent = Parent(client, "oParentVerify0000000000000001")
    signed = parent.signed()
    assert client.get("/wechat/callback", params={**signed, "echostr": "4711"}).text == "4711"
    forged = {**signed, "signature": "0" * 40}
    stale = parent.signed(timestamp=int(time.time()) - 3600)
    for params in (forged, stale, {}, {k: v for k, v in signed.items() if k != "nonce"}):
        assert client.get("/wechat/callback", params={**params, "echostr": "4711"}).status_code == 403
        assert parent.post(parent.xml("text", "<Content>你好</Content>"), params=params).status_code == 403
    assert parent.post("<xml><not closed").status_code == 400
    doctype = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><xml><MsgType>text</MsgType></xml>'
    assert parent.post(doctype).status_code == 400
    too_large = client.post("/wechat/callback", params=parent.signed(), content=b"<xml>" + b"x" * 70_000)
    assert too_large.status_code == 413
    # none of them reached the engine
    assert _channel(client).processed == 0 and wechat_fake.calls == []
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 0


def test_without_an_account_the_callback_is_not_found(client):
    assert client.get("/wechat/callback", params={"echostr": "1"}).status_code == 404


# --- what parents send ----------------------------------------------------------------------------

def test_a_follower_asks_and_gets_a_cited_answer_in_the_passive_reply(backend, wechat_fake, wechat_app):
    client, runtime = wechat_app(backend)
    parent = Parent(client, "oParentAnswer000000000000001")
    welcome, _ = _say(parent, wechat_fake, runtime, lambda: parent.event("subscribe"))
    assert welcome and "回复数字即可选择" in welcome  # the menu's buttons as numbered choices
    passive, messages = _say(parent, wechat_fake, runtime, lambda: parent.text("孩子在这边上小学要带什么材料"))
    assert passive is not None and "依据：" in passive
    assert _channel(client).passive == 2 and _channel(client).processed == 2
    with runtime.db.session() as session:
        (conversation,) = session.scalars(select(Conversation)).all()
        assert conversation.channel == "wechat"
        # the openid is kept only as a keyed hash and encrypted
        assert parent.openid not in conversation.sender_hash + conversation.sender_enc
        assert runtime.cipher.decrypt(conversation.sender_enc) == f"wechat:{parent.openid}"


def test_the_assistance_form_with_numbered_choices_answered_by_digits(sqlite_backend, wechat_fake, wechat_app):
    """The consent notice goes back passively, the consent question after it as a customer-service
    menu message (tapped); the later questions' choices as numbered text (digits answer them)."""
    from ledger.casework import change_status

    client, runtime = wechat_app(sqlite_backend)
    parent = Parent(client, "oParentForm00000000000000001")
    notice, messages = _say(parent, wechat_fake, runtime, lambda: parent.text("我想申请帮扶"))
    (menu,) = wechat_fake.menus(parent.openid)
    assert notice == messages[0] and "1. 同意" in messages[-1] and "2. 不同意" in messages[-1]
    assert [item["id"] for item in menu["list"]] == ["1", "2"]
    _, messages = _say(parent, wechat_fake, runtime, lambda: parent.tap(menu["list"][0]))
    assert "孩子叫什么名字" in messages[-1]
    for answer in FORM_ANSWERS:
        _say(parent, wechat_fake, runtime, lambda: parent.text(answer))
    _, messages = _say(parent, wechat_fake, runtime, lambda: parent.text("1"))  # the situations' first choice
    assert "情况" in messages[-1] or "跳过" in messages[-1]
    _, messages = _say(parent, wechat_fake, runtime, lambda: parent.text("跳过"))
    summary = messages[-1]
    assert "请核对" in summary and "王小明" in summary and "1. 确认提交" in summary
    _, messages = _say(parent, wechat_fake, runtime, lambda: parent.text("１"))  # a full-width digit
    reference = next(word for m in messages for word in m.split() if word.startswith("LD-"))[:14]
    with runtime.db.session() as session:
        request = session.scalar(select(AssistanceRequest))
        assert request.reference == reference and request.channel == "wechat"
        change_status(session=session, cipher=runtime.cipher, request=request, status="under_review",
                      note="电话已核实家庭情况", actor="staff:test")
    # the status change reaches the parent through the customer-service API (the sweeper)
    notes = wechat_fake.wait_for(lambda: [t for t in wechat_fake.texts(parent.openid) if "有新进展" in t])
    assert reference in notes[0] and "电话已核实" not in notes[0]


def test_voice_location_and_an_image(sqlite_backend, wechat_fake, wechat_app):
    client, runtime = wechat_app(sqlite_backend)
    parent = Parent(client, "oParentVoice0000000000000001")
    heard, _ = _say(parent, wechat_fake, runtime, lambda: parent.voice("孩子在这边上小学要带什么材料"))
    assert heard and "依据：" in heard
    with runtime.db.session() as session:
        stored = session.scalar(select(func.count()).select_from(ConversationMessage))
    not_heard, messages = _say(parent, wechat_fake, runtime, lambda: parent.voice(""))
    assert "没能听清" in not_heard and messages == [not_heard]
    with runtime.db.session() as session:  # nothing kept of a message we could not hear
        assert session.scalar(select(func.count()).select_from(ConversationMessage)) == stored
    _, messages = _say(parent, wechat_fake, runtime, lambda: parent.location(22.5726, 113.8831, "宝安区西乡街道"))
    assert any("广东省深圳市宝安区" in m for m in messages)
    assert runtime.engine.store.peek(f"wechat:{parent.openid}")["locality"].startswith("440306")
    picture, _ = _say(parent, wechat_fake, runtime, parent.image)
    assert "只能看懂文字" in picture and "图片" in picture
    # the custom menu's "申请帮扶" (click key "apply") starts the form
    _, messages = _say(parent, wechat_fake, runtime, lambda: parent.event("CLICK", "apply"))
    assert "同意" in messages[-1] and runtime.engine.store.peek(f"wechat:{parent.openid}")["active_loop"]


def test_a_committee_qr_scene_attributes_the_family_and_unfollowing_stops_pushes(sqlite_backend, wechat_fake, wechat_app):
    from ledger import outbox
    from ledger.reply import Reply

    client, runtime = wechat_app(sqlite_backend)
    with runtime.db.session() as session:
        session.add(Committee(code="xixiang01", name="西乡社区居委会", locality_code="440306005001",
                              locality_name="广东省深圳市宝安区西乡街道", created_by="admin"))
    parent = Parent(client, "oParentScene0000000000000001")
    _, messages = _say(parent, wechat_fake, runtime, lambda: parent.event("subscribe", "qrscene_xixiang01"))
    assert "西乡社区居委会" in messages[0]
    state = runtime.engine.store.peek(f"wechat:{parent.openid}")
    assert state["referral"] == "xixiang01" and state["locality"] == "440306005001"
    follower = Parent(client, "oParentScan00000000000000001")  # already following: a SCAN event
    _, messages = _say(follower, wechat_fake, runtime, lambda: follower.event("SCAN", "xixiang01"))
    assert "西乡社区居委会" in messages[0]
    assert _say(parent, wechat_fake, runtime, lambda: parent.event("unsubscribe"))[0] is None
    with runtime.db.session() as session:
        conversation = session.scalar(select(Conversation).where(
            Conversation.sender_hash == runtime.engine.store.sender_hash(f"wechat:{parent.openid}")))
        assert conversation.blocked_at is not None
        assert not outbox.notify(session=session, cipher=runtime.cipher, conversation=conversation,
                                 reply=Reply("您的申请有新进展"), dedupe_key="test:unfollowed")


# --- exactly once, and in time ----------------------------------------------------------------------

def test_the_same_msgid_posted_again_is_one_turn(backend, wechat_fake, wechat_app):
    client, runtime = wechat_app(backend)
    parent = Parent(client, "oParentRetry0000000000000001")
    xml = parent.xml("text", "<Content><![CDATA[你好]]></Content>", msg_id=880001)
    first, _ = _say(parent, wechat_fake, runtime, lambda: parent.post(xml))
    assert first
    wechat_fake.wait_for(lambda: _settled(client, runtime))
    again = parent.post(xml)  # WeChat's retry after the answer was lost: answered, not processed again
    assert again.status_code == 200 and again.text == "success"
    wechat_fake.wait_for(lambda: _settled(client, runtime))
    channel = _channel(client)
    assert channel.processed == 1 and channel.duplicates == 1 and channel.joined == 0
    # a retry arriving while the first is still being processed waits for that turn, runs no other
    engine = runtime.engine
    handle = engine.handle

    def slow(*args, **kwargs):
        time.sleep(0.6)
        return handle(*args, **kwargs)

    engine.handle = slow
    try:
        xml = parent.xml("text", "<Content><![CDATA[谢谢]]></Content>", msg_id=880002)
        answers: list = []
        posts = [threading.Thread(target=lambda: answers.append(parent.post(xml))) for _ in range(2)]
        for post in posts:
            post.start()
            time.sleep(0.1)
        for post in posts:
            post.join(15)
    finally:
        engine.handle = handle
    wechat_fake.wait_for(lambda: _settled(client, runtime))
    assert channel.processed == 2 and channel.joined == 1 and channel.duplicates == 1
    texts = [parent.reply_text(r) for r in answers]
    assert sorted(t is None for t in texts) == [False, True]  # one of them carries the reply
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(WeChatMessage)) == 2


def test_replies_handed_over_but_not_yet_recorded_do_not_hold_up_the_parents_next_one(sqlite_backend, wechat_fake,
                                                                                        wechat_app):
    """Sent rows are recorded in batches: until their batch commits they are still "sending". The
    parent's next message in the same worker must not take them for older messages waiting (its
    reply would queue behind its own, or the old passive reply go out again)."""
    client, runtime = wechat_app(sqlite_backend)
    channel = _channel(client)
    delivery = channel.delivery
    hold = threading.Event()
    record = delivery._mark_sent

    def held(batch):
        hold.wait(30)
        record(batch)

    async def queued(*_args):
        raise AssertionError("the turn's replies were queued behind the parent's own, already sent")

    delivery._mark_sent, channel._claim_in_window = held, queued
    parent = Parent(client, "oParentBatch0000000000000001")
    try:
        first = parent.reply_text(parent.text("你好"))
        wechat_fake.wait_for(lambda: channel.in_flight == 0)
        second = parent.reply_text(parent.text("我想申请帮扶"))
        wechat_fake.wait_for(lambda: channel.in_flight == 0)
        assert first and second and "申请帮扶" in second and "1. 同意" in wechat_fake.texts(parent.openid)[-1]
        assert len(delivery.unrecorded(_conversation_id(runtime))) >= 2
        with runtime.db.session() as session:  # handed over, not yet recorded: the batch is held
            assert set(session.scalars(select(OutboxMessage.status))) == {"sending"}
    finally:
        hold.set()
    wechat_fake.wait_for(lambda: _settled(client, runtime))
    with runtime.db.session() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert {row.status for row in rows} == {"sent"}
    assert [row.delivered_via for row in rows].count("passive") == 2 and channel.passive == 2
    assert len(rows) == 2 + len(wechat_fake.texts(parent.openid))  # each message once
    assert not delivery.unrecorded(rows[0].conversation_id)


def test_a_short_message_is_not_held_behind_a_crowd_of_questions(sqlite_backend, wechat_fake, wechat_app):
    """Turns run on the channel's own threads. While more questions than there are threads wait for the
    sentence encoder (here: turns held on an event), a short message of another parent takes the quick
    lane and gets its passive reply while they wait, instead of queuing behind them (without the lane
    it waits for a thread until the questions are let go, and the window closes first)."""
    client, runtime = wechat_app(sqlite_backend, turn_threads=8, passive_window=20.0)
    engine = runtime.engine
    handle = engine.handle
    release = threading.Event()
    held = threading.Semaphore(0)
    threads: set[str] = set()

    def encoder_busy(sender, text, *args, **kwargs):
        threads.add(threading.current_thread().name)
        if text and text.startswith("请问"):
            held.release()
            release.wait(30)
        return handle(sender, text, *args, **kwargs)

    engine.handle = encoder_busy
    slow = [Parent(client, f"oParentQueue{n:016d}") for n in range(10)]  # more than the lane's 8 threads
    answers: list = []
    posts = [threading.Thread(target=lambda p=p: answers.append(p.text("请问孩子在这边上小学要带什么材料")))
             for p in slow]
    try:
        for post in posts:
            post.start()
        for _ in range(8):  # every thread of the questions' lane holds one, two more wait for a thread
            assert held.acquire(timeout=15)
        quick = Parent(client, "oParentQuick0000000000000001")
        reply = quick.reply_text(quick.text("你好"))
        assert reply and not answers  # answered while every question is still held
    finally:
        release.set()
        for post in posts:
            post.join(30)
        engine.handle = handle
    wechat_fake.wait_for(lambda: _settled(client, runtime))
    assert len(answers) == 10 and all(a.status_code == 200 for a in answers)
    assert {name.rsplit("_", 1)[0] for name in threads} == {"wechat-turn", "wechat-quick"}
    assert _channel(client).processed == 11


def _conversation_id(runtime) -> int:
    with runtime.db.session() as session:
        return session.scalar(select(Conversation.id))


def test_a_reply_slower_than_the_window_goes_through_customer_service(sqlite_backend, wechat_fake, wechat_app):
    client, runtime = wechat_app(sqlite_backend, passive_window=0.0)
    parent = Parent(client, "oParentSlow00000000000000001")
    passive, messages = _say(parent, wechat_fake, runtime, lambda: parent.text("孩子在这边上小学要带什么材料"))
    assert passive is None and "依据：" in messages[0]
    assert _channel(client).passive == 0 and wechat_fake.token_requests == 1
    with runtime.db.session() as session:
        assert set(session.scalars(select(OutboxMessage.status))) == {"sent"}


def test_an_expired_token_is_refreshed_once_and_the_message_sent_again(sqlite_backend, wechat_fake, wechat_app):
    client, runtime = wechat_app(sqlite_backend, passive_window=0.0)
    parent = Parent(client, "oParentToken0000000000000001")
    _, first = _say(parent, wechat_fake, runtime, lambda: parent.text("你好"))
    wechat_fake.expire_token()
    _, second = _say(parent, wechat_fake, runtime, lambda: parent.text("谢谢"))
    assert first and second and wechat_fake.token_requests == 2
    codes = [call["errcode"] for call in wechat_fake.calls]
    assert codes.count(40001) == 1 and codes[-1] == 0
    assert len(wechat_fake.texts(parent.openid)) == len(first) + len(second)  # each message once
    with runtime.db.session() as session:  # the shared token is kept encrypted
        (row,) = session.scalars(select(WeChatToken)).all()
        assert row.token_enc != wechat_fake.token and runtime.cipher.decrypt(row.token_enc) == wechat_fake.token


def test_customer_service_refusals(sqlite_backend, wechat_fake, wechat_app):
    """The quota (45009) is tried again later; outside the 48 hours (45015) is given up; a refused
    menu message is sent as text."""
    client, runtime = wechat_app(sqlite_backend, passive_window=0.0)
    parent = Parent(client, "oParentQuota0000000000000001")
    wechat_fake.fail_next(45009)
    response = parent.text("你好")
    assert response.text == "success"
    wechat_fake.wait_sent(parent.openid, 1, timeout=20)  # after the outbox's back-off
    wechat_fake.wait_for(lambda: _settled(client, runtime))
    late = Parent(client, "oParentLate00000000000000001")
    wechat_fake.fail_next(45015)
    late.text("你好")
    wechat_fake.wait_for(lambda: _settled(client, runtime))
    with runtime.db.session() as session:
        failed = session.scalars(select(OutboxMessage).where(OutboxMessage.status == "failed")).all()
        assert failed and all("45015" in (row.last_error or "") for row in failed)
    assert wechat_fake.texts(late.openid) == []
    # a menu message refused goes again as its numbered text
    asking = Parent(client, "oParentMenu00000000000000001")
    wechat_fake.fail_next(40008, msgtype="msgmenu")
    _, messages = _say(asking, wechat_fake, runtime, lambda: asking.text("我想申请帮扶"))
    assert wechat_fake.menus(asking.openid) == [] and "1. 同意" in messages[-1] and "回复数字" in messages[-1]


def test_safe_mode_encrypted_callbacks_and_replies(sqlite_backend, wechat_fake, wechat_app):
    client, runtime = wechat_app(sqlite_backend, encoding_aes_key=AES_KEY)
    parent = Parent(client, "oParentSafe00000000000000001", aes_key=AES_KEY)
    response = parent.text("孩子在这边上小学要带什么材料")
    assert "<Encrypt>" in response.text
    assert "依据：" in parent.reply_text(response)
    plain = Parent(client, "oParentSafe00000000000000002")  # not encrypted while safe mode is on
    assert plain.text("你好").status_code == 403
    tampered = Parent(client, "oParentSafe00000000000000003", aes_key=AES_KEY)
    xml = tampered.xml("text", "<Content>你好</Content>")
    params = tampered.signed()
    body = tampered.crypto.encrypt_message(xml, params["nonce"], params["timestamp"])
    response = client.post("/wechat/callback", content=body.encode(),
                           params={**params, "encrypt_type": "aes", "msg_signature": "0" * 40})
    assert response.status_code == 403
    wechat_fake.wait_for(lambda: _settled(client, runtime))
    assert _channel(client).processed == 1


def test_two_workers_one_turn_for_a_retried_message_and_one_shared_token(backend, wechat_fake, wechat_app):
    """Two workers on one database (as ``tongban serve --workers 2``): WeChat's retry reaching the
    other worker while the first still runs the turn is recorded there as processed, not run again;
    the access token one worker fetched is the other's too."""
    first, runtime = wechat_app(backend, passive_window=0.0)
    second, other = wechat_app(backend, passive_window=0.0)
    parent = Parent(first, "oParentWorkers00000000000001")
    _say(parent, wechat_fake, runtime, lambda: parent.text("你好"))
    assert wechat_fake.token_requests == 1
    handles = [(worker.engine, worker.engine.handle) for worker in (runtime, other)]

    def slowed(handle):
        def slow(*args, **kwargs):
            time.sleep(0.5)
            return handle(*args, **kwargs)
        return slow

    for engine, handle in handles:
        engine.handle = slowed(handle)
    try:
        xml = parent.xml("text", "<Content><![CDATA[谢谢]]></Content>")
        posts = [threading.Thread(target=lambda client=client: client.post(
            "/wechat/callback", params=parent.signed(), content=xml.encode())) for client in (first, second)]
        for post in posts:
            post.start()
        for post in posts:
            post.join(15)
    finally:
        for engine, handle in handles:
            engine.handle = handle
    wechat_fake.wait_for(lambda: _settled(first, runtime) and _settled(second, other))
    workers = (_channel(first), _channel(second))
    assert sum(w.processed for w in workers) == 2 and sum(w.duplicates for w in workers) == 1
    later = Parent(second, "oParentWorkers00000000000002")
    _, messages = _say(later, wechat_fake, other, lambda: later.text("你好"))  # delivered by the second worker
    assert messages and _channel(second).delivery.sent >= 1
    assert wechat_fake.token_requests == 1  # with the token the first fetched
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(WeChatMessage)) == 3


def test_while_wechat_is_unreachable_a_parents_messages_wait_and_go_in_order(sqlite_backend, wechat_fake, wechat_app):
    """A message that could not be sent holds up the parent's later ones: the next turn's passive
    reply carries the oldest one waiting (the one way out while the API is down), never its own
    ahead of it, and once WeChat is back the outbox sends the rest in order."""
    client, runtime = wechat_app(sqlite_backend)
    parent = Parent(client, "oParentOrder0000000000000001")
    wechat_fake.stop()
    notice = parent.reply_text(parent.text("我想申请帮扶"))  # the consent question after it cannot go
    assert notice
    wechat_fake.wait_for(lambda: _channel(client).in_flight == 0)
    assert _unsent(runtime) == 1
    with runtime.db.session() as session:  # why, kept with the row: without the secret the token URL carries
        (error,) = session.scalars(select(OutboxMessage.last_error).where(OutboxMessage.last_error.is_not(None)))
        assert "no access token" in error and SECRET not in error and "secret=***" in error
    later = parent.text("你好")  # the question's back-off (2 s) ends inside the window (4.5 s)
    assert later.status_code == 200 and "1. 同意" in parent.reply_text(later)
    wechat_fake.wait_for(lambda: _channel(client).in_flight == 0)
    assert not wechat_fake.texts(parent.openid)
    wechat_fake.start()
    wechat_fake.wait_for(lambda: _settled(client, runtime), timeout=30)  # after the outbox's back-off
    greeting, *rest = wechat_fake.texts(parent.openid)
    assert "童伴" in greeting
    # in the form, a digit answers its question: only the question's choices are numbered
    assert rest and "1. 同意" in rest[-1] and "11." not in rest[-1]
    with runtime.db.session() as session:
        assert set(session.scalars(select(OutboxMessage.status))) == {"sent"}


def test_the_turns_threads_fit_in_the_database_pool():
    """Every thread that can hold a connection at once under load — the turns' two lanes, the
    deliveries' threads and the recorder — takes one of the connections a worker keeps open, instead
    of opening (and closing again) an overflow connection per turn."""
    from bot.wechat.channel import QUICK_THREADS
    from bot.wechat.delivery import DELIVERY_THREADS
    from ledger.db import POOL_SIZE, make_engine
    from tests.conftest import PG_URL
    from tongban.settings import WeChatSettings

    assert WeChatSettings().turn_threads + QUICK_THREADS + DELIVERY_THREADS + 1 <= POOL_SIZE
    engine = make_engine(PG_URL)  # nothing connects until asked
    assert engine.pool.size() == POOL_SIZE
    engine.dispose()
