"""The public chat surfaces attacked from outside, over HTTP (issue 12's findings 1–3 and 7, and
the code-read items of the chat side). Each test failed on the code before the fix.

Staff-side findings (checklist ownership, lockout, areas): tests/test_abuse_staff.py.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select

from ledger.models import AssistanceRequest, ConversationMessage, UrgentRecord

TOKEN = "abuse-test-token"
TRUSTED = {"Authorization": f"Bearer {TOKEN}"}
FORM = ["我要申请帮扶", "同意", "王小明", "八岁", "河南周口郸城", "深圳宝安西乡街道", "两年", "李芳", "妈妈",
        "13800138000", "1 3", "跳过", "确认提交"]
FROZEN = 1_800_000_030.0
EMERGENCY = "救命 孩子被他爸打得头破血流 现在还在打"


@pytest.fixture
def app(app_factory):
    """``app(**limits) -> (client, runtime)``: the real app on a fresh database with these limits."""
    def build(**limits):
        client, runtime = app_factory(security={"api_token": TOKEN}, limits=limits)
        runtime.limiter.clock = lambda: FROZEN  # mid-window: no count is reset halfway through a test
        return client, runtime
    return build


def new_session(client) -> str:
    response = client.post("/webhooks/rest/session")
    assert response.status_code == 200, response.text
    return response.json()["sender"]


def say(client, sender, text, **extra):
    return client.post("/webhooks/rest/webhook", json={"sender": sender, "message": text, **extra})


def texts(response) -> str:
    assert response.status_code == 200, response.text
    return "\n".join(reply["text"] for reply in response.json())


def telegram_parent(runtime, chat_id: int) -> str:
    """A Telegram parent who filled the form (through the engine, as the Telegram channel does)."""
    sender = f"telegram:{chat_id}"
    for answer in FORM:
        runtime.engine.handle(sender, answer, {}, "telegram")
    return sender


def transcript_size(runtime, conversation_id: int) -> int:
    with runtime.db.session() as session:
        return session.scalar(select(func.count()).select_from(ConversationMessage)
                              .where(ConversationMessage.conversation_id == conversation_id))


# --- 1. anyone could act as a Telegram parent ----------------------------------------------
def test_a_rest_client_cannot_reach_a_telegram_conversation(app):
    client, runtime = app()
    sender = telegram_parent(runtime, 5550001)
    with runtime.db.session() as session:
        conversation_id = session.scalar(select(AssistanceRequest.conversation_id))
    before = transcript_size(runtime, conversation_id)
    for attempt in (lambda t: say(client, sender, t),                              # public, naming the chat
                    lambda t: client.post("/webhooks/rest/webhook", headers=TRUSTED,  # even with the API token
                                          json={"sender": sender, "message": t})):
        for text in ("你好", "查询进度", "删除我的信息", "确认"):
            response = attempt(text)
            body = response.text
            assert "王小明" not in body and "李芳" not in body and "LD-" not in body, body
    assert say(client, sender, "你好").status_code == 403
    # the Telegram conversation is untouched: nothing added or deleted, the request not flagged
    assert transcript_size(runtime, conversation_id) == before
    with runtime.db.session() as session:
        filed = session.scalars(select(AssistanceRequest)).all()
        assert len(filed) == 1 and filed[0].deletion_requested_at is None
    state = runtime.engine.store.peek(sender)
    assert state is not None and "references" in state


# --- 2. a REST sender was a shared secret nobody issued -------------------------------------
def test_public_clients_need_a_session_the_server_issued(app):
    client, runtime = app()
    client.cookies.clear()
    for body in ({"message": "你好"}, {"sender": "default", "message": "你好"},
                 {"sender": "alice", "message": "你好"}, {"sender": "s1.abc.99999999999.forged", "message": "你好"}):
        response = client.post("/webhooks/rest/webhook", json=body)
        assert response.status_code in (401, 403), (body, response.status_code)
        assert "刷新页面" in response.json()["detail"]


def test_two_sessions_never_share_a_conversation(app):
    client, runtime = app()
    first, second = new_session(client), new_session(client)
    assert first != second
    for text in FORM:
        texts(say(client, first, text))
    for text in ("你好", "查询进度", "我要申请帮扶"):
        reply = texts(say(client, second, text))
        assert "王小明" not in reply and "LD-" not in reply and "李芳" not in reply
    assert "LD-" in texts(say(client, first, "查询进度"))


def test_a_session_cookie_works_and_an_expired_session_is_refused(app):
    from bot.rest import issue_session

    client, runtime = app()
    assert new_session(client)  # also set as an HttpOnly cookie
    response = client.post("/webhooks/rest/webhook", json={"message": "孩子上学要什么材料"})
    assert response.status_code == 200 and response.json()[0]["text"]
    expired, _ = issue_session(runtime.cipher, days=-1)
    assert say(client, expired, "你好").status_code == 401


def test_a_repeated_message_id_is_answered_once(app):
    client, runtime = app()
    sender = new_session(client)
    for text in FORM[:-1]:
        texts(say(client, sender, text, message_id=uuid.uuid4().hex))
    first = say(client, sender, "确认提交", message_id="submit-1").json()
    again = say(client, sender, "确认提交", message_id="submit-1").json()
    assert first == again and "LD-" in first[0]["text"]
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(AssistanceRequest)) == 1


# --- 3. no limits ----------------------------------------------------------------------------
def test_a_huge_body_is_refused_before_it_is_read(app):
    client, _ = app()
    sender = new_session(client)
    huge = '{"sender": "%s", "message": "%s"}' % (sender, "啊" * 7_000_000)  # ~20 MB
    response = client.post("/webhooks/rest/webhook", content=huge.encode(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and "太长" in response.json()["detail"]

    def chunks():  # no Content-Length: refused while it streams in
        yield b'{"sender": "x", "message": "'
        for _ in range(200):
            yield b"a" * 65_536
        yield b'"}'

    response = client.post("/webhooks/rest/webhook", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert client.post("/model/parse", content=b'{"text": "' + b"a" * 100_000 + b'"}',
                       headers={"content-type": "application/json"}).status_code == 413


def test_one_session_is_rate_limited_politely(app):
    client, _ = app(messages_per_session_per_minute=5)
    sender = new_session(client)
    statuses = [say(client, sender, "你好").status_code for _ in range(7)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
    refused = say(client, sender, "你好")
    assert "110" in refused.json()["detail"] and int(refused.headers["retry-after"]) >= 1
    assert say(client, new_session(client), "你好").status_code == 200  # another parent is not affected


def test_one_address_is_rate_limited_across_sessions(app):
    client, _ = app(messages_per_ip_per_minute=6, sessions_per_ip_per_hour=4)
    sessions = [new_session(client) for _ in range(4)]
    assert client.post("/webhooks/rest/session").status_code == 429
    statuses = [say(client, sessions[n % 4], "你好").status_code for n in range(8)]
    assert statuses.count(200) == 6 and statuses[-1] == 429
    lookups = [client.post("/model/parse", json={"text": "你好"}).status_code for _ in range(70)]
    assert lookups[-1] == 429 and client.post("/model/parse", json={"text": "你好"}, headers=TRUSTED).status_code == 200


def test_limits_are_shared_by_every_worker(app):
    """Two apps on one database (two worker processes): the count is one."""
    first, _ = app(messages_per_session_per_minute=4)
    second, _ = app(messages_per_session_per_minute=4)
    sender = new_session(first)
    statuses = [say(first if n % 2 else second, sender, "你好").status_code for n in range(6)]
    assert statuses.count(200) == 4 and statuses[-2:] == [429, 429]


def test_a_repeated_emergency_is_one_urgent_record(app):
    client, runtime = app()
    sender = new_session(client)
    for _ in range(20):
        assert "110" in texts(say(client, sender, EMERGENCY))
    with runtime.db.session() as session:
        records = session.scalars(select(UrgentRecord)).all()
        assert len(records) == 1 and records[0].repeats == 19 and records[0].status == "new"
        assert runtime.cipher.decrypt(records[0].message_enc).count("头破血流") >= 2


def test_requests_and_handoffs_have_a_daily_quota(app):
    client, runtime = app(requests_per_day=1, handoffs_per_day=1)
    sender = new_session(client)
    for text in FORM:
        texts(say(client, sender, text))
    assert "明天" in texts(say(client, sender, "我要申请帮扶"))
    texts(say(client, sender, "我住在深圳宝安"))
    assert "H-" in texts(say(client, sender, "/human_handoff"))
    with runtime.db.session() as session:
        from ledger.models import HandoffRequest
        session.execute(HandoffRequest.__table__.update().values(status="handled"))
    assert "H-" not in texts(say(client, sender, "/human_handoff"))


def test_public_turns_cannot_take_the_staff_pages_threads(app, monkeypatch):
    client, runtime = app(public_threads=1, public_queue=0)
    sender, other = new_session(client), new_session(client)
    entered, release = threading.Event(), threading.Event()
    original = runtime.engine.handle

    def slow(*args, **kwargs):
        entered.set()
        release.wait(30)
        return original(*args, **kwargs)

    monkeypatch.setattr(runtime.engine, "handle", slow)
    busy = threading.Thread(target=lambda: say(client, sender, "你好"))
    busy.start()
    try:
        assert entered.wait(30)
        refused = say(client, other, "你好")
        assert refused.status_code == 503 and "110" in refused.json()["detail"]
        assert client.get("/staff/login").status_code == 200  # staff pages still served
    finally:
        release.set()
        busy.join(30)


# --- 7. unvalidated input --------------------------------------------------------------------
def test_hostile_payloads_and_metadata_get_polite_answers(app):
    client, runtime = app()
    sender = new_session(client)
    for text in ('/set_locality{"locality":123}', '/set_locality{"locality":["x"]}',
                 '/set_locality{"locality": "%s"}' % ("北" * 5000)):
        assert "没能识别" in texts(say(client, sender, text))
    assert texts(say(client, sender, '/inform{"child_age": {"$gt": 1}}'))
    assert "locality" not in (runtime.engine.store.peek(f"web:{sender.split('.')[1]}") or {})
    # Telegram-only events (a shared location with any code) are not taken from a REST client
    reply = texts(client.post("/webhooks/rest/webhook", json={
        "sender": sender, "message": "", "metadata": {"event": {"type": "location", "locality": "110101"},
                                                       "locality": "x" * 5000}}))
    assert "根据您分享的位置" not in reply
    assert "locality" not in (runtime.engine.store.peek(f"web:{sender.split('.')[1]}") or {})


# --- code-read items -------------------------------------------------------------------------
def test_filing_another_familys_child_reveals_nothing(app):
    client, runtime = app()
    victim, caller = new_session(client), new_session(client)
    for text in FORM:
        texts(say(client, victim, text))
    for text in FORM:
        reply = texts(say(client, caller, text))
    status = texts(say(client, caller, "查询进度"))
    with runtime.db.session() as session:
        rows = session.scalars(select(AssistanceRequest).order_by(AssistanceRequest.id)).all()
    assert len(rows) == 2 and rows[1].duplicate_of_id == rows[0].id  # staff see the link
    assert rows[0].reference not in reply and rows[0].reference not in status
    assert rows[1].reference in status


def test_conversation_locks_are_dropped_when_idle(app):
    client, runtime = app()
    for _ in range(30):
        texts(say(client, new_session(client), "你好"))
    assert runtime.engine.store.locks_held == 0
