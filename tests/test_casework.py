"""Status changes, the ledger entry, visits and the outbox, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ledger import outbox
from ledger.casework import CaseworkError, add_months, change_status, entry_of, record_visit, transcript
from ledger.conversations import ConversationStore
from ledger.db import Database
from ledger.models import AuditEvent, Committee, OutboxMessage
from ledger.requests import RequestData, file_request
from ledger.transcript import record_transcript
from ledger.reply import Reply
from tests.conftest import make_settings
from tongban.storage import data_cipher
from tongban.channels import declare_push

NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.timezone.utc)


def _data(name="王小明", phone="13800138000") -> RequestData:
    return RequestData(child_name=name, child_age=8, hukou={"code": "411625", "name": "河南省周口市郸城县"},
                       residence={"code": "440306", "name": "广东省深圳市宝安区", "text": "西乡街道"},
                       months_at_residence=24, guardian_name="李芳", guardian_relation="母亲",
                       guardian_phone=phone, situations=["family_hardship"], description="", consent_at=NOW)


@pytest.fixture
def ledger_db(backend):
    declare_push()  # as the composition root does: Telegram delivers notifications
    settings = make_settings(backend["data_dir"], database=backend["database"])
    db = Database(settings.database_url)
    cipher = data_cipher(settings)
    yield db, cipher, ConversationStore(db, cipher)
    db.dispose()


def _file(db, cipher, store, sender="telegram:1001", channel="telegram", referral=None, name="王小明"):
    with store.open(sender, channel) as convo:
        conversation_id = convo.id
        record_transcript(convo, cipher, "想申请帮扶 <script>", [Reply("好的，先请您阅读说明。")])
    with db.session() as session:
        filed = file_request(session=session, cipher=cipher, data=_data(name), conversation_id=conversation_id,
                             channel=channel, referral=referral, now=NOW)
        return filed.request.reference, conversation_id


def _request(session, reference):
    from ledger.casework import find_request

    return find_request(session=session, reference=reference)


def test_accepting_opens_the_ledger_entry_and_queues_one_notification(ledger_db):
    db, cipher, store = ledger_db
    reference, conversation_id = _file(db, cipher, store)
    with db.session() as session:
        change = change_status(session=session, cipher=cipher, request=_request(session, reference),
                               status="accepted", note="符合家庭生活困难情形", actor="staff:wang", now=NOW)
        assert change.notification_queued
        entry = entry_of(session=session, request=_request(session, reference))
        assert entry.next_visit_on == dt.date(2026, 12, 13) and entry.next_review_on == dt.date(2027, 5, 29)
        assert entry.locality == "440306"
    with db.session() as session:
        rows = session.scalars(select(OutboxMessage)).all()
        assert len(rows) == 1 and rows[0].kind == "notification" and rows[0].status == "pending"
        claimed = outbox.claim(session=session, cipher=cipher, conversation_id=conversation_id, worker="w1")
        assert claimed[0].sender == "telegram:1001"
        notice = claimed[0].reply  # composed once, channel-neutral: Telegram renders it when it sends it
        assert notice.kind == "notification"
        assert "已纳入重点关爱服务对象台账" in notice.text and reference in notice.text
        assert "符合家庭生活困难情形" not in notice.text  # the staff note stays internal
        actions = [a.action for a in session.scalars(select(AuditEvent))]
        assert "request.status" in actions


def test_transitions_notes_and_dates_are_checked(ledger_db):
    db, cipher, store = ledger_db
    reference, _ = _file(db, cipher, store)
    with db.session() as session:
        request = _request(session, reference)
        with pytest.raises(CaseworkError, match="说明"):
            change_status(session=session, cipher=cipher, request=request, status="under_review", note="  ",
                          actor="s", now=NOW)
        with pytest.raises(CaseworkError, match="首次走访日期不能早于今天"):
            change_status(session=session, cipher=cipher, request=request, status="accepted", note="ok",
                          actor="s", first_visit_on=dt.date(2026, 11, 1), now=NOW)
        change_status(session=session, cipher=cipher, request=request, status="not_eligible", note="户籍在本区",
                      actor="s", now=NOW)
        with pytest.raises(CaseworkError, match="不能改为"):
            change_status(session=session, cipher=cipher, request=request, status="accepted", note="再看看",
                          actor="s", now=NOW)


def test_visits_move_the_next_visit_and_the_review(ledger_db):
    db, cipher, store = ledger_db
    reference, conversation_id = _file(db, cipher, store)
    with db.session() as session:
        change_status(session=session, cipher=cipher, request=_request(session, reference), status="accepted",
                      note="纳入", actor="s", now=NOW)
    with db.session() as session:
        entry = entry_of(session=session, request=_request(session, reference))
        later = NOW + dt.timedelta(days=10)
        with pytest.raises(CaseworkError, match="晚于今天"):
            record_visit(session=session, cipher=cipher, entry=entry, visited_on=dt.date(2026, 12, 20),
                         visitor="张主任", findings="x", next_visit_on=None, actor="s", now=later)
        with pytest.raises(CaseworkError, match="下次走访日期应晚于"):
            record_visit(session=session, cipher=cipher, entry=entry, visited_on=dt.date(2026, 12, 8),
                         visitor="张主任", findings="家中情况稳定", next_visit_on=dt.date(2026, 12, 1),
                         actor="s", now=later)
        visit = record_visit(session=session, cipher=cipher, entry=entry, visited_on=dt.date(2026, 12, 8),
                             visitor="张主任", findings="家中情况稳定，已对接学校", next_visit_on=dt.date(2027, 1, 8),
                             review_done=True, actor="s", now=later)
        assert cipher.decrypt(visit.findings_enc) == "家中情况稳定，已对接学校"
        assert "稳定" not in visit.findings_enc  # encrypted at rest
        assert entry.next_visit_on == dt.date(2027, 1, 8) and entry.next_review_on == dt.date(2027, 6, 8)
        lines = transcript(session=session, cipher=cipher, conversation_id=conversation_id)
        assert [d for d, _, _ in lines] == ["in", "out"] and lines[0][1] == "想申请帮扶 <script>"


def test_a_committee_referral_narrows_the_request_area(ledger_db):
    db, cipher, store = ledger_db
    with db.session() as session:
        session.add(Committee(code="xx-baoan-01", name="西乡社区居委会", locality_code="440306005001",
                              locality_name="宝安区西乡街道西乡社区", created_by="admin"))
        session.add(Committee(code="elsewhere", name="别处社区", locality_code="440305001001",
                              locality_name="南山区", created_by="admin"))
    reference, _ = _file(db, cipher, store, referral="xx-baoan-01")
    other, _ = _file(db, cipher, store, sender="telegram:2002", referral="elsewhere", name="张小红")
    with db.session() as session:
        assert _request(session, reference).area_code == "440306005001"
        assert _request(session, other).area_code == "440306"  # a committee of another district: not narrowed


def test_notifications_are_not_queued_for_web_chats(ledger_db):
    db, cipher, store = ledger_db
    reference, _ = _file(db, cipher, store, sender="web-1", channel="rest")
    with db.session() as session:
        change = change_status(session=session, cipher=cipher, request=_request(session, reference),
                               status="under_review", note="开始审核", actor="s", now=NOW)
        assert not change.notification_queued
        assert session.scalars(select(OutboxMessage)).all() == []


def test_outbox_order_backoff_blocking_and_dedupe(ledger_db):
    db, cipher, store = ledger_db
    with store.open("telegram:42", "telegram") as convo:
        conversation_id = convo.id
    with db.session() as session:
        for n in range(3):
            outbox.enqueue(session=session, cipher=cipher, conversation_id=conversation_id, channel="telegram",
                           kind="reply", payload={"op": "send", "text": f"m{n}"}, now=NOW)
        assert outbox.enqueue(session=session, cipher=cipher, conversation_id=conversation_id, channel="telegram",
                              kind="notification", payload={"op": "send", "text": "n"}, dedupe_key="status:1",
                              now=NOW) is not None
        assert outbox.enqueue(session=session, cipher=cipher, conversation_id=conversation_id, channel="telegram",
                              kind="notification", payload={"op": "send", "text": "n"}, dedupe_key="status:1",
                              now=NOW) is None
    with db.session() as session:
        rows = outbox.claim(session=session, cipher=cipher, conversation_id=conversation_id, worker="a", now=NOW)
        assert [r.payload["text"] for r in rows] == ["m0", "m1", "m2", "n"]
        # a second worker finds nothing to take while the first holds the claim
        assert outbox.claim(session=session, cipher=cipher, conversation_id=conversation_id, worker="b", now=NOW) == []
        outbox.mark_sent(session=session, ids=[rows[0].id], now=NOW)
        outbox.release(session=session, ids=[r.id for r in rows[1:]], error="down", now=NOW)
    with db.session() as session:
        assert outbox.claim(session=session, cipher=cipher, conversation_id=conversation_id, worker="a",
                            now=NOW + dt.timedelta(seconds=1)) == []  # backing off (2 s)
        assert outbox.due_conversations(session=session, channel="telegram", now=NOW + dt.timedelta(seconds=3)) \
            == [conversation_id]
        again = outbox.claim(session=session, cipher=cipher, conversation_id=conversation_id, worker="a",
                             now=NOW + dt.timedelta(seconds=3))
        assert [r.payload["text"] for r in again] == ["m1", "m2", "n"] and again[0].attempts == 1
        outbox.mark_blocked(session=session, conversation_id=conversation_id, now=NOW)
    with db.session() as session:
        assert outbox.counts(session=session) == {"sent": 1, "blocked": 3}
    assert outbox.backoff(1) == dt.timedelta(seconds=2) and outbox.backoff(30) == outbox.BACKOFF_MAX


def _with_replies(ledger_db, sender: str, replies: list[tuple[str, str | None]]) -> int:
    """A conversation with outbox replies (text, claimed by); its id."""
    db, cipher, store = ledger_db
    with store.open(sender, "telegram") as convo:
        conversation_id = convo.id
    with db.session() as session:
        for text, worker in replies:
            outbox.enqueue(session=session, cipher=cipher, conversation_id=conversation_id, channel="telegram",
                           kind="reply", payload={"op": "send", "text": text}, claimed_by=worker, now=NOW)
    return conversation_id


def test_a_crashed_senders_claim_is_taken_over_after_the_lease(ledger_db):
    db, cipher, store = ledger_db
    conversation_id = _with_replies(ledger_db, "telegram:43", [("x", "dead-worker")])
    with db.session() as session:
        assert outbox.claim(session=session, cipher=cipher, conversation_id=conversation_id, worker="new",
                            now=NOW + dt.timedelta(seconds=10)) == []
        taken = outbox.claim(session=session, cipher=cipher, conversation_id=conversation_id, worker="new",
                             now=NOW + outbox.CLAIM_LEASE + dt.timedelta(seconds=1))
        assert [r.payload["text"] for r in taken] == ["x"]


def test_a_crashed_senders_logged_rows_are_recorded_as_sent_not_claimed_again(ledger_db):
    """A sender killed after Telegram accepted a row and before the database recorded it: the row
    its sent log names is recorded as sent by whoever takes the claim over; the rest are sent."""
    db, cipher, store = ledger_db
    with store.open("telegram:45", "telegram") as convo:
        conversation_id = convo.id
    with db.session() as session:
        first, second = outbox.enqueue_many(
            session=session, cipher=cipher, conversation_id=conversation_id, channel="telegram", kind="reply",
            claimed_by="dead-worker", now=NOW, payloads=[{"op": "send", "text": "a"}, {"op": "send", "text": "b"}])
    asked: list[str] = []

    def log_of(worker: str) -> set[int]:
        asked.append(worker)
        return {first} if worker == "dead-worker" else set()

    later = NOW + outbox.CLAIM_LEASE + dt.timedelta(seconds=1)
    with db.session() as session:
        taken = outbox.claim(session=session, cipher=cipher, conversation_id=conversation_id, worker="new",
                             now=later, handed_over=log_of)
        assert [r.payload["text"] for r in taken] == ["b"] and asked == ["dead-worker"]  # read once
    with db.session() as session:
        rows = {row.id: row for row in session.scalars(select(OutboxMessage))}
        assert rows[first].status == "sent" and rows[first].claimed_by is None
        assert rows[second].status == "sending" and rows[second].claimed_by == "new"


def test_a_live_sender_renews_its_claims(ledger_db):
    db, cipher, store = ledger_db
    conversation_id = _with_replies(ledger_db, "telegram:46", [("x", "live"), ("y", None)])  # y: pending
    renewed_at = NOW + outbox.CLAIM_LEASE - dt.timedelta(seconds=1)
    with db.session() as session:
        assert outbox.renew(session=session, worker="live", now=renewed_at) == 1
        assert outbox.renew(session=session, worker="someone-else", now=renewed_at) == 0
    with db.session() as session:
        later = NOW + outbox.CLAIM_LEASE + dt.timedelta(seconds=5)
        assert outbox.claim(session=session, cipher=cipher, conversation_id=conversation_id, worker="new",
                            now=later) == []  # "y" waits behind the live sender's "x"
        taken = outbox.claim(session=session, cipher=cipher, conversation_id=conversation_id, worker="new",
                             now=renewed_at + outbox.CLAIM_LEASE + dt.timedelta(seconds=1))
        assert [r.payload["text"] for r in taken] == ["x", "y"]


def test_rows_sent_but_not_yet_recorded_are_neither_waiting_nor_claimed_again(ledger_db):
    """Sent rows are recorded in batches: until then they are 'sending', claimed by the sender,
    and the chat's next turn must not take them for older undelivered messages."""
    db, cipher, store = ledger_db
    with store.open("telegram:44", "telegram") as convo:
        conversation_id = convo.id
    with db.session() as session:
        sent = outbox.enqueue_many(session=session, cipher=cipher, conversation_id=conversation_id,
                                   channel="telegram", kind="reply", claimed_by="w", now=NOW,
                                   payloads=[{"op": "send", "text": "a"}, {"op": "send", "text": "b"}])
        assert outbox.waiting(session=session, conversation_id=conversation_id) == 2
        assert outbox.waiting(session=session, conversation_id=conversation_id, excluding=sent) == 0
        outbox.enqueue(session=session, cipher=cipher, conversation_id=conversation_id, channel="telegram",
                       kind="notification", payload={"op": "send", "text": "n"}, now=NOW)
        assert outbox.waiting(session=session, conversation_id=conversation_id, excluding=sent) == 1
    with db.session() as session:
        rows = outbox.claim(session=session, cipher=cipher, conversation_id=conversation_id, worker="w", now=NOW,
                            delivered=set(sent))
        assert [r.payload["text"] for r in rows] == ["n"]
        outbox.mark_sent(session=session, ids=sent + [rows[0].id], now=NOW)
    with db.session() as session:
        assert outbox.counts(session=session) == {"sent": 3}
        assert outbox.waiting(session=session, conversation_id=conversation_id) == 0


def test_add_months_clamps_to_month_end():
    assert add_months(dt.date(2026, 8, 31), 6) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2026, 11, 29), -12) == dt.date(2025, 11, 29)


def test_dates_are_beijing_dates(ledger_db):
    """At 07:30 in Beijing (23:30 UTC the day before) a visit dated today is not in the future."""
    db, cipher, store = ledger_db
    reference, _ = _file(db, cipher, store)
    early = dt.datetime(2026, 12, 9, 23, 30, tzinfo=dt.timezone.utc)  # 2026-12-10 07:30 in Beijing
    with db.session() as session:
        change_status(session=session, cipher=cipher, request=_request(session, reference), status="accepted",
                      note="纳入", actor="s", now=early)
        entry = entry_of(session=session, request=_request(session, reference))
        assert entry.next_visit_on == dt.date(2026, 12, 24) and entry.next_review_on == dt.date(2027, 6, 10)
        record_visit(session=session, cipher=cipher, entry=entry, visited_on=dt.date(2026, 12, 10), visitor="张主任",
                     findings="已走访", next_visit_on=None, actor="s", now=early)
