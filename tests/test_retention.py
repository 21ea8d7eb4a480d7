"""Deletion that happens (issue 12, finding 6): a parent's 删除我的信息 erases the transcript, the
outbox copies and the personal fields of requests nobody has opened a case on, keeps case files
with a reason and a date, and says so; ``tongban ledger purge`` deletes what is past its period.
On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import pytest
from sqlalchemy import func, select

from ledger import outbox
from ledger.casework import change_status, entry_of, record_visit
from ledger.duty_models import AlertDelivery, UrgentAlert
from ledger.models import (AssistanceRequest, Conversation, ConversationMessage, HandoffRequest, OutboxMessage,
                           RateCounter, RetentionRun, StatusChange, TelegramUpdate, UrgentRecord, WeChatMessage)
from ledger.retention import purge, run_daily
from ledger.settings import RetentionSettings
from ledger.staff_models import StaffCaseNote, StaffLoginFailure
from tests.test_keys import cli_env  # noqa: F401
from tests.test_staff_support import staff_app, staff_backend  # noqa: F401

ANSWERS = ["王小明", "八岁", "河南周口郸城", "深圳宝安西乡街道", "两年", "李芳", "妈妈", "138 0013 8000", "1 3",
           "孩子爸爸受伤干不了活，下学期学费交不上"]
PERSONAL = ("王小明", "李芳", "13800138000", "138****8000", "西乡街道", "学费")
UTC = dt.timezone.utc


@pytest.fixture
def rt(backend, kb, interpreter):
    """A runtime on a fresh database of each kind (no daily purge thread)."""
    from tongban.runtime import Runtime
    from tongban.settings import Settings

    settings = Settings(env="test", data_dir=backend["data_dir"], database=backend["database"],
                        knowledge={"watch_interval": 0})
    runtime = Runtime.build(settings, knowledge=kb, interpreter=interpreter, housekeeping=False)
    yield runtime
    runtime.close(stop_knowledge=False)


def _talker(runtime, sender=None):
    sender = sender or f"parent-{uuid.uuid4().hex[:8]}"

    def say(text):
        return "\n".join(r.text for r in runtime.engine.handle(sender, text, {}, "rest"))
    say.sender = sender
    return say


def _file(say) -> str:
    say("我要申请帮扶")
    say("同意")
    for answer in ANSWERS:
        say(answer)
    done = say("确认提交")
    return re.search(r"LD-\d{4}-\d{6}", done).group(0)


def _request(runtime, reference) -> AssistanceRequest:
    with runtime.db.session() as session:
        return session.scalar(select(AssistanceRequest).where(AssistanceRequest.reference == reference))


def _copies_in_outbox(runtime, conversation_id, texts):
    """What a Telegram conversation leaves behind: the bot's replies (the form summary with the
    child's and guardian's names among them) as outbox rows, delivered and pending."""
    with runtime.db.session() as session:
        for i, text in enumerate(texts):
            row = outbox.enqueue(session=session, cipher=runtime.cipher, conversation_id=conversation_id,
                                 channel="telegram", kind="reply", payload={"op": "send", "text": text})
            if i % 2 == 0:
                outbox.mark_sent(session=session, ids=[row.id])


def _transcript(runtime, conversation_id) -> list[str]:
    with runtime.db.session() as session:
        rows = session.scalars(select(ConversationMessage.text_enc)
                               .where(ConversationMessage.conversation_id == conversation_id))
        return [runtime.cipher.decrypt(t) for t in rows]


def test_deletion_erases_transcript_outbox_and_anonymises_an_unopened_request(rt):
    say = _talker(rt)
    reference = _file(say)
    request = _request(rt, reference)
    conversation_id = request.conversation_id
    _copies_in_outbox(rt, conversation_id, ["请核对：孩子王小明，监护人李芳 138****8000", "已提交 " + reference])
    say("我要找人工")  # a request for a person, with a reason
    say("深圳宝安")
    with rt.db.session() as session:
        assert session.scalar(select(func.count()).select_from(HandoffRequest)
                              .where(HandoffRequest.conversation_id == conversation_id)) == 1
    assert any("王小明" in t for t in _transcript(rt, conversation_id))

    question = say("删除我的信息")
    assert "将删除" in question and reference in question and "确认" in question
    assert "需要保留" not in question  # nothing here is a case file
    reply = say("确认")
    assert reply.startswith("已删除") and reference in reply and "聊天记录" in reply and "人工帮助请求 H-" in reply
    assert "需要保留" not in reply

    # the transcript holds only the deletion turn itself, nothing personal
    left = _transcript(rt, conversation_id)
    assert len(left) <= 2 and not any(secret in t for t in left for secret in PERSONAL)
    with rt.db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.conversation_id == conversation_id)) == 0
        handoff = session.scalar(select(HandoffRequest).where(HandoffRequest.conversation_id == conversation_id))
        assert rt.cipher.decrypt(handoff.reason_enc) == ""
        conversation = session.get(Conversation, conversation_id)
        state = json.loads(rt.cipher.decrypt(conversation.state_enc))
        assert not {"locality", "form", "references", "pending_confirm"} & set(state), state
        assert not any(secret in json.dumps(state, ensure_ascii=False) for secret in PERSONAL)
        assert conversation.deletion_requested_at is not None
        history = [c.note for c in session.scalars(select(StatusChange).where(StatusChange.request_id == request.id))]
    row = _request(rt, reference)
    for column in ("child_name_enc", "guardian_name_enc", "guardian_phone_enc", "residence_detail_enc",
                   "description_enc"):
        assert rt.cipher.decrypt(getattr(row, column)) == "", column
    assert row.child_key_hash.startswith("erased:") and row.guardian_phone_hash.startswith("erased:")
    assert row.conversation_id is None and row.anonymised_at is not None and row.deletion_requested_at is not None
    # statistics stay
    assert (row.residence_code, row.situations, row.child_age, row.status) == (
        "440306", "family_hardship,guardianship_gap", 8, "submitted")
    assert any("已清除" in note for note in history)
    # filing again for the same child is a new request, not a match on the erased one
    say2 = _talker(rt)
    assert _file(say2) != reference


def test_case_file_is_kept_with_reason_and_date_then_anonymised_after_its_period(rt):
    say = _talker(rt)
    reference = _file(say)
    now = dt.datetime.now(UTC)
    with rt.db.session() as session:
        request = session.scalar(select(AssistanceRequest).where(AssistanceRequest.reference == reference))
        change_status(session=session, cipher=rt.cipher, request=request, status="accepted", note="符合条件",
                      actor="director1")
        session.flush()
        record_visit(session=session, cipher=rt.cipher, entry=entry_of(session=session, request=request),
                     visited_on=now.date(), visitor="张主任", findings="王小明在家，情况良好", next_visit_on=None,
                     actor="director1")
        conversation_id = request.conversation_id

    question = say("删除我的信息")
    assert "不会删除" in question and reference in question and "台账" in question
    reply = say("确认")
    assert "按规定需要保留" in reply and reference in reply and "重点关爱服务对象台账" in reply
    assert "结案后5年" in reply

    row = _request(rt, reference)
    assert row.deletion_requested_at is not None and row.anonymised_at is None
    assert row.kept_reason and "台账" in row.kept_reason and row.kept_until is None
    assert rt.cipher.decrypt(row.child_name_enc) == "王小明"  # the case file is intact
    with rt.db.session() as session:
        assert session.get(Conversation, conversation_id).deletion_requested_at is not None

    policy = RetentionSettings(case_days=30)
    with rt.db.session() as session:
        request = session.get(AssistanceRequest, row.id)
        change_status(session=session, cipher=rt.cipher, request=request, status="closed", note="家庭已搬离",
                      actor="director1")
    report = purge(rt.db, rt.cipher, policy)
    assert report.counts["requests_dated"] == 1 and report.counts["requests_anonymised"] == 0
    row = _request(rt, reference)
    assert row.kept_until is not None and row.anonymised_at is None

    later = dt.datetime.now(UTC) + dt.timedelta(days=31)
    assert purge(rt.db, rt.cipher, policy, now=later, dry_run=True).counts["requests_anonymised"] == 1
    assert purge(rt.db, rt.cipher, policy, now=later).counts["requests_anonymised"] == 1
    row = _request(rt, reference)
    assert row.anonymised_at is not None and rt.cipher.decrypt(row.child_name_enc) == ""
    from ledger.models import Visit
    with rt.db.session() as session:
        findings = [rt.cipher.decrypt(v.findings_enc) for v in session.scalars(select(Visit))]
    assert findings == [""]


def test_open_urgent_record_is_kept_handled_one_loses_its_text(rt):
    say = _talker(rt)
    say("我住在深圳宝安")
    say("孩子被人打了，现在很害怕")
    with rt.db.session() as session:
        (record,) = session.scalars(select(UrgentRecord)).all()
        conversation_id = record.conversation_id
    reply = say("删除我的信息")
    assert "紧急求助消息" in reply and "还在处理" in reply
    say("确认")
    with rt.db.session() as session:
        record = session.get(UrgentRecord, record.id)
        assert "打" in rt.cipher.decrypt(record.message_enc)  # staff still have to act on it
        record.status = "handled"
    # once handled, the purge removes the text of a conversation that asked for deletion
    assert purge(rt.db, rt.cipher, RetentionSettings()).counts["urgent_texts"] == 1
    with rt.db.session() as session:
        assert rt.cipher.decrypt(session.get(UrgentRecord, record.id).message_enc) == ""
        assert session.get(Conversation, conversation_id).deletion_requested_at is not None
    assert purge(rt.db, rt.cipher, RetentionSettings()).counts["urgent_texts"] == 0


def _old(days):
    return dt.datetime.now(UTC) - dt.timedelta(days=days)


def test_purge_deletes_what_is_past_its_period_and_only_that(rt):
    cipher = rt.cipher
    policy = RetentionSettings(transcript_days=30, outbox_days=7, conversation_idle_days=60, handoff_days=100,
                               urgent_days=200, request_days=100, case_days=400, telegram_update_days=3,
                               wechat_message_days=2, login_failure_days=5, batch_size=2)
    with rt.db.session() as session:
        def conversation(updated_days, state):
            row = Conversation(sender_hash=uuid.uuid4().hex, sender_enc=cipher.encrypt("x"), channel="rest",
                               state_enc=cipher.encrypt(json.dumps(state)), updated_at=_old(updated_days),
                               created_at=_old(updated_days))
            session.add(row)
            session.flush()
            return row
        active = conversation(1, {"locality": "440306", "form": {"child_name": "王小明"}})
        idle = conversation(90, {"locality": "440306", "form": {"child_name": "王小明"}})
        idle_used = conversation(90, {"locality": "440306", "form": {"child_name": "李芳"}})
        for days in (40, 35, 31, 2):  # three past 30 days
            session.add(ConversationMessage(conversation_id=active.id, direction="in", text_enc=cipher.encrypt("m"),
                                            at=_old(days)))
        for days, status in ((10, "sent"), (9, "failed"), (8, "blocked"), (10, "pending"), (1, "sent")):
            session.add(OutboxMessage(conversation_id=idle_used.id, channel="telegram", kind="reply",
                                      payload_enc=cipher.encrypt("{}"), status=status, created_at=_old(days)))
        session.add(HandoffRequest(conversation_id=idle_used.id, channel="rest", reason_enc=cipher.encrypt("r"),
                                   status="handled", created_at=_old(200), handled_at=_old(150)))
        session.add(HandoffRequest(conversation_id=idle_used.id, channel="rest", reason_enc=cipher.encrypt("r"),
                                   status="open", created_at=_old(200)))
        old_urgent = UrgentRecord(conversation_id=idle_used.id, channel="rest", kinds="violence", detected_by="both",
                                  message_enc=cipher.encrypt("u"), status="handled", created_at=_old(300))
        session.add(old_urgent)
        session.add(UrgentRecord(conversation_id=idle_used.id, channel="rest", kinds="violence", detected_by="both",
                                 message_enc=cipher.encrypt("u"), status="new", created_at=_old(300)))
        session.flush()
        session.add(StaffCaseNote(target_kind="urgent", target_id=old_urgent.id, note_enc=cipher.encrypt("n"),
                                  status="handled", written_by="s", written_at=_old(299)))
        alert = UrgentAlert(urgent_record_id=old_urgent.id, area_code="440306", ladder="[]", created_at=_old(300))
        session.add(alert)
        session.flush()  # the record's duty alert and its delivery go with it (their keys point at it)
        session.add(AlertDelivery(alert_id=alert.id, step=0, recipient="area:440306", status="sent",
                                  created_at=_old(300)))
        for days in (10, 4, 1):
            session.add(TelegramUpdate(bot_id=1, update_id=days, processed_at=_old(days)))
            session.add(WeChatMessage(key_hash=f"m{days}", processed_at=_old(days)))  # two past 2 days
        for days in (6, 1):
            session.add(StaffLoginFailure(key="user:x", at=_old(days)))
        for days in (3, 0):  # rate-limit windows: kept two days
            session.add(RateCounter(key_hash=f"k{days}", window_start=int(_old(days).timestamp()), hits=1))

    def request(session, status, closed_days, urgency="normal"):
        row = AssistanceRequest(
            reference=f"LD-2025-{uuid.uuid4().int % 10**6:06d}", conversation_id=idle_used.id, channel="rest",
            child_name_enc=cipher.encrypt("王小明"), child_key_hash="k" + uuid.uuid4().hex[:20], child_age=8,
            hukou_code="411625", hukou_name="郸城县", residence_code="440306", area_code="440306",
            residence_name="宝安区", residence_detail_enc=cipher.encrypt("西乡街道"), months_at_residence=24,
            guardian_name_enc=cipher.encrypt("李芳"), guardian_relation="妈妈",
            guardian_phone_enc=cipher.encrypt("13800138000"), guardian_phone_hash="p" + uuid.uuid4().hex[:20],
            situations="family_hardship", description_enc=cipher.encrypt("学费"), status=status, urgency=urgency,
            consent_notice_version="v", consent_at=_old(closed_days + 10), created_at=_old(closed_days + 10))
        session.add(row)
        session.flush()
        session.add(StatusChange(request_id=row.id, status=status, note="王小明家", changed_by="s",
                                 changed_at=_old(closed_days)))
        return row.reference

    with rt.db.session() as session:
        gone = request(session, "closed", 150)  # past request_days
        recent = request(session, "not_eligible", 50)  # not yet
        urgent_case = request(session, "closed", 150, urgency="urgent")  # a case file: case_days
        still_open = request(session, "submitted", 500)

    dry = purge(rt.db, cipher, policy, dry_run=True)
    expected = {"transcript_messages": 3, "outbox_messages": 3, "conversation_states": 2, "handoffs": 1,
                "urgent_records": 1, "requests_anonymised": 1, "telegram_updates": 2, "wechat_messages": 2, "login_failures": 1,
                "rate_counters": 1}
    for kind, n in expected.items():
        assert dry.counts[kind] == n, (kind, dry.counts)
    with rt.db.session() as session:  # the dry run changed nothing
        assert session.scalar(select(func.count()).select_from(ConversationMessage)) == 4

    done = purge(rt.db, cipher, policy)
    for kind, n in expected.items():
        assert done.counts[kind] == n, (kind, done.counts)
    assert done.counts["conversations"] == 1  # the idle one nothing refers to, deleted outright

    with rt.db.session() as session:
        assert session.scalar(select(func.count()).select_from(ConversationMessage)) == 1
        assert sorted(session.scalars(select(OutboxMessage.status))) == ["pending", "sent"]
        assert session.get(Conversation, idle.id) is None
        used = session.get(Conversation, idle_used.id)
        assert json.loads(cipher.decrypt(used.state_enc)) == {}
        assert json.loads(cipher.decrypt(session.get(Conversation, active.id).state_enc))["locality"] == "440306"
        assert list(session.scalars(select(HandoffRequest.status))) == ["open"]
        assert list(session.scalars(select(UrgentRecord.status))) == ["new"]
        assert session.scalar(select(func.count()).select_from(StaffCaseNote)) == 0
        assert session.scalar(select(func.count()).select_from(UrgentAlert)) == 0
        assert session.scalar(select(func.count()).select_from(AlertDelivery)) == 0
        assert sorted(session.scalars(select(TelegramUpdate.update_id))) == [1]
        assert list(session.scalars(select(WeChatMessage.key_hash))) == ["m1"]
        assert session.scalar(select(func.count()).select_from(StaffLoginFailure)) == 1
        assert list(session.scalars(select(RateCounter.key_hash))) == ["k0"]
        by_reference = {r.reference: r for r in session.scalars(select(AssistanceRequest))}
        notes = list(session.scalars(select(StatusChange.note).where(
            StatusChange.request_id == by_reference[gone].id)))
    assert by_reference[gone].anonymised_at is not None and cipher.decrypt(by_reference[gone].child_name_enc) == ""
    assert "王小明家" not in notes
    for kept in (recent, urgent_case, still_open):
        assert by_reference[kept].anonymised_at is None
        assert cipher.decrypt(by_reference[kept].child_name_enc) == "王小明"

    again = purge(rt.db, cipher, policy)  # idempotent
    assert all(n == 0 for n in again.counts.values()), again.counts


def test_daily_purge_runs_once_a_day_across_workers(rt):
    first = run_daily(rt.db, rt.cipher, RetentionSettings(), worker="a")
    assert first is not None
    assert run_daily(rt.db, rt.cipher, RetentionSettings(), worker="b") is None  # the day is taken
    tomorrow = dt.datetime.now(UTC) + dt.timedelta(days=1)
    assert run_daily(rt.db, rt.cipher, RetentionSettings(), worker="b", now=tomorrow) is not None
    with rt.db.session() as session:
        runs = session.scalars(select(RetentionRun).order_by(RetentionRun.day)).all()
        assert [r.worker for r in runs] == ["a", "b"] and all(r.finished_at for r in runs)


def test_serve_runtime_starts_and_stops_the_housekeeping_thread(backend, kb, interpreter, monkeypatch):
    import threading
    import time

    from ledger import retention
    from tongban.runtime import Housekeeping, Runtime

    wakeups = []
    woken = threading.Event()
    real_run_daily = retention.run_daily

    def counted(*args, **kwargs):
        result = real_run_daily(*args, **kwargs)
        wakeups.append(result)
        if len(wakeups) >= 3:
            woken.set()
        return result

    monkeypatch.setattr(retention, "run_daily", counted)
    from tongban.settings import Settings

    settings = Settings(env="test", data_dir=backend["data_dir"], database=backend["database"])
    runtime = Runtime.build(settings, knowledge=kb, interpreter=interpreter, housekeeping=False)
    try:
        runtime.housekeeping = Housekeeping(runtime.db, runtime.cipher, settings, first_delay=0.0,
                                            interval=0.05).start()
        deadline = time.monotonic() + 20
        while runtime.housekeeping.runs == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert runtime.housekeeping.runs == 1
        assert woken.wait(20), wakeups  # two more wake-ups the same day…
        assert runtime.housekeeping.runs == 1 and wakeups[1:3] == [None, None]  # …found it done
        thread = runtime.housekeeping._thread
    finally:
        runtime.close(stop_knowledge=False)
    assert not thread.is_alive()


def test_deletion_over_http_rest_channel(chat, runtime):
    """From outside, through the REST webhook: a filed request, then 删除我的信息 + 确认."""
    def say(text):
        return "\n".join(r["text"] for r in chat(text))

    say("我要申请帮扶")
    say("同意")
    for answer in ANSWERS:
        say(answer)
    reference = re.search(r"LD-\d{4}-\d{6}", say("确认提交")).group(0)
    conversation_id = _request(runtime, reference).conversation_id
    _copies_in_outbox(runtime, conversation_id, ["请核对：孩子王小明"])
    assert reference in say("删除我的信息")
    reply = say("确认")
    assert reply.startswith("已删除") and reference in reply
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.conversation_id == conversation_id)) == 0
    left = _transcript(runtime, conversation_id)
    assert not any(secret in t for t in left for secret in PERSONAL)
    assert runtime.cipher.decrypt(_request(runtime, reference).child_name_enc) == ""
    assert reference not in say("查进度")  # no longer tied to this conversation


def test_purge_command_dry_run_prints_counts_per_kind(rt, backend, cli_env, capsys):
    with rt.db.session() as session:
        session.add(TelegramUpdate(bot_id=1, update_id=1, processed_at=_old(30)))
    url = rt.db.engine.url.render_as_string(hide_password=False)
    env = dict(TONGBAN_ENV="test", TONGBAN_DATA_DIR=str(backend["data_dir"]), TONGBAN_DATABASE__URL=url)
    assert cli_env(["ledger", "purge", "--dry-run"], **env) == 0
    out = capsys.readouterr().out
    assert "dry run" in out and "telegram_updates\t1" in out and "transcript_messages\t0" in out
    with rt.db.session() as session:
        assert session.scalar(select(func.count()).select_from(TelegramUpdate)) == 1
    assert cli_env(["ledger", "purge"], **env) == 0
    assert "telegram_updates\t1" in capsys.readouterr().out
    with rt.db.session() as session:
        assert session.scalar(select(func.count()).select_from(TelegramUpdate)) == 0


def test_staff_see_why_a_request_is_kept_and_that_another_was_anonymised(staff_app):
    from ledger.casework import find_request
    from ledger.erasure import erase_conversation
    from tests.test_staff_support import BAOAN, file

    runtime = staff_app.runtime
    kept = file(runtime, channel="telegram", sender="tg-7001")
    cleared = file(runtime, channel="telegram", sender="tg-7002")
    with runtime.db.session() as session:
        row = find_request(session=session, reference=kept)
        change_status(session=session, cipher=runtime.cipher, request=row, status="accepted", note="符合条件",
                      actor="test")
    for reference in (kept, cleared):
        with runtime.db.session() as session:
            conversation_id = find_request(session=session, reference=reference).conversation_id
            erase_conversation(session, runtime.cipher, conversation_id)
    staff_app.user("baoan", "civil_affairs", BAOAN)
    client = staff_app.login("baoan")
    html = client.get(f"/staff/requests/{kept}").text
    assert 'id="deletion-warning"' in html and 'id="kept-notice"' in html and "重点关爱服务对象台账" in html
    assert "王小明" in html  # the case file is intact for the staff who keep it
    html = client.get(f"/staff/requests/{cleared}").text
    assert 'id="anonymised-notice"' in html and "王小明" not in html
